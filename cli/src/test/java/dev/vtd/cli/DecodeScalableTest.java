package dev.vtd.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd decode sm-context}, {@code pasid-entry} and {@code fl-pte}. */
class DecodeScalableTest {
    static DecodeInterruptTest.Run run(String... args) {
        return DecodeInterruptTest.run(args);
    }

    @Test
    void smContextShowsThePasidDirectoryAndRidPasid() {
        // s27's context entry: P, PASIDDIRPTR 0x140000, RID_PASID 0x41.
        var r = run("decode", "sm-context", "0x140001", "0x41", "0", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("PASIDDIRPTR") && r.out().contains("0x140000"), r.out());
        assertTrue(r.out().contains("RID_PASID") && r.out().contains("0x41"), r.out());
        assertTrue(r.out().contains("128 entries"), r.out());
        assertFalse(r.out().contains("reserved"), r.out());
    }

    @Test
    void pasidEntryShowsPgttAndDomain() {
        // s27's PASID entry: P, AW 1, PGTT 010b, SLPTPTR 0x102000; DID 5.
        var r = run("decode", "pasid-entry", "0x102085", "5", "0", "0", "0", "0", "0", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 (second-stage)"), r.out());
        assertTrue(r.out().contains("39-bit, 3-level"), r.out());
        assertTrue(r.out().contains("0x102000"), r.out());
        var bad = run("decode", "pasid-entry", "0x102085", "5", "0", "1", "0", "0", "0", "0");
        assertTrue(bad.out().contains("fault 0x5A"), bad.out());
    }

    @Test
    void firstStagePteShowsPermissionsAndLargePages() {
        var r = run("decode", "fl-pte", "0x8000000040000087", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("FL-PDPE"), r.out());
        assertTrue(r.out().contains("1 GiB page"), r.out());
        assertTrue(r.out().contains("0x40000000"), r.out());
        assertTrue(r.out().contains("XD"), r.out());
        assertTrue(r.out().contains("1 (user)"), r.out());
    }

    @Test
    void wrongInputIsAOneLineErrorWithExitCode2() {
        for (String[] args : new String[][] {{"decode", "sm-context", "0x1"}, {"decode", "pasid-entry", "0x1", "zz", "0", "0",
                "0", "0", "0", "0"}, {"decode", "fl-pte", "0x1", "7"}, {"decode", "fl-pte"}}) {
            var r = run(args);
            assertEquals(2, r.code(), String.join(" ", args));
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("decode " + args[1]), r.err());
        }
    }
}

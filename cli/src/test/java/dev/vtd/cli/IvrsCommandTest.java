package dev.vtd.cli;

import dev.vtd.firmware.acpi.ivrs.IvrsParser;
import dev.vtd.firmware.acpi.ivrs.IvrsTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vtd ivrs dump/build} and {@code vtd decode amd-dte}. */
class IvrsCommandTest {
    static DecodeInterruptTest.Run run(String... args) {
        return DecodeInterruptTest.run(args);
    }

    @Test
    void dumpListsEveryFieldAsIaslDoes(@TempDir Path dir) throws Exception {
        Path f = Files.write(dir.resolve("ivrs.bin"), IvrsTables.zenDesktop().encode());
        var r = run("ivrs", "dump", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("[024h 0036   4]          Virtualization Info : 00203041"), r.out());
        assertTrue(r.out().contains("                   Entry Type : F0"), r.out());
        assertTrue(r.out().contains("                     ACPI HID : \"AMDI0020\""), r.out());
        assertTrue(r.out().contains("                          UID : \"\\_SB.FUR0\""), r.out());
    }

    @Test
    void kernelFormatPrintsLinuxLinesAndTheIoapicCheck(@TempDir Path dir) throws Exception {
        Path f = Files.write(dir.resolve("ivrs.bin"), IvrsTables.zenDesktop().encode());
        var ok = run("ivrs", "dump", f.toString(), "--format", "kernel", "--address", "0x7affb000");
        assertEquals(0, ok.code(), ok.err());
        List<String> lines = ok.out().lines().toList();
        assertEquals(2, lines.size(), ok.out());
        assertTrue(lines.get(0).startsWith("ACPI: IVRS 0x000000007AFFB000 000"), lines.get(0));
        var bad = run("ivrs", "dump", f.toString(), "--format", "kernel", "--ioapic", "0x22,5");
        assertEquals(List.of("AMD-Vi: [Firmware Bug]: : IOAPIC[5] not in IVRS table",
                "AMD-Vi: [Firmware Bug]: : No southbridge IOAPIC found", "AMD-Vi: Disabling interrupt remapping"),
                bad.out().lines().skip(2).toList());
    }

    @Test
    void buildWritesATableThatParsesBack(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("out.bin");
        var r = run("ivrs", "build", "-o", f.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(IvrsTables.zenDesktop(), IvrsParser.parse(Files.readAllBytes(f), "out"));
    }

    @Test
    void brokenTablesAndMissingFilesAreOneLineErrorsNamingTheOffset(@TempDir Path dir) throws Exception {
        byte[] b = IvrsTables.zenDesktop().encode();
        b[9]++;
        Path f = Files.write(dir.resolve("bad.bin"), b);
        var r = run("ivrs", "dump", f.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("ivrs dump " + f + ": offset 0x9: checksum"), r.err());
        var missing = run("ivrs", "dump", dir.resolve("none").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());
    }

    @Test
    void amdDteShowsTranslationAndInterruptRemappingFields() {
        // V, TV, Mode 4, root 0x12345000, IR, IW; DomainID 5, I; IV, IntTabLen 8, table 0x7f000000, IntCtl 10b.
        long q0 = 1 | 2 | 4L << 9 | 0x12345000L | 1L << 61 | 1L << 62;
        long q1 = 5 | 1L << 32;
        long q2 = 1 | 8 << 1 | 0x7f000000L | 2L << 60;
        var r = run("decode", "amd-dte", "0x" + Long.toHexString(q0), "0x" + Long.toHexString(q1),
                "0x" + Long.toHexString(q2), "0");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("4 (4-level page table (48-bit))"), o);
        assertTrue(o.contains("0x12345000"), o);
        assertTrue(o.contains("0x5 (5)"), o);
        assertTrue(o.contains("8 (256 entries)"), o);
        assertTrue(o.contains("0x7f000000"), o);
        assertTrue(o.contains("2 (remap)"), o);
        assertTrue(o.lines().anyMatch(l -> l.trim().startsWith("IW ") && l.trim().endsWith(" 1")), o);
        assertTrue(o.lines().anyMatch(l -> l.trim().startsWith("SE ") && l.trim().endsWith(" 0")), o);
        assertTrue(!o.contains("reserved bits set"), o);
        var res = run("decode", "amd-dte", "0x8000000000000001", "0", "0", "0");
        assertTrue(res.out().contains("reserved bits set: qword0 0x8000000000000000"), res.out());
    }

    @Test
    void amdDteGcr3PointerIsAssembledFromItsThreePieces() {
        long gcr3 = 0x000F_FFFF_FFFF_F000L;
        long q0 = ((gcr3 >>> 12) & 7) << 58;
        long q1 = ((gcr3 >>> 15) & 0xFFFF) << 16 | ((gcr3 >>> 31) & 0x1FFFFF) << 43;
        var r = run("decode", "amd-dte", "0x" + Long.toHexString(q0), "0x" + Long.toHexString(q1), "0", "0");
        assertTrue(r.out().contains("0xffffffffff000"), r.out());
    }

    @Test
    void amdDteWithWrongCountIsAOneLineError() {
        var r = run("decode", "amd-dte", "0x1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("decode amd-dte: needs 4 qwords, got 1"), r.err());
    }
}

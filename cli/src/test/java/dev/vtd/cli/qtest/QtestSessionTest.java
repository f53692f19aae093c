package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The qtest protocol as QEMU's softmmu/qtest.c answers it, over the q35 machine. */
class QtestSessionTest {
    private Machine machine;
    private QtestSession s;

    static Machine q35(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("-machine", "q35", "-m", "512M",
                "-device", "intel-iommu,intremap=on", "-device", "edu,addr=04.0"));
        args.addAll(List.of(extra));
        return QtestMachine.build(QemuCommandLine.parse(args));
    }

    @BeforeEach
    void setUp() {
        machine = q35();
        s = new QtestSession(machine);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    @Test
    void memoryReadsAnswerSixteenHexDigitsWhateverTheWidth() {
        assertEquals("OK", s.execute("writeq 0x1000 0x1122334455667788"));
        assertEquals("OK 0x0000000000000088", s.execute("readb 0x1000"));
        assertEquals("OK 0x0000000000007788", s.execute("readw 0x1000"));
        assertEquals("OK 0x0000000055667788", s.execute("readl 0x1000"));
        assertEquals("OK 0x1122334455667788", s.execute("readq 0x1000"));
    }

    @Test
    void writesTruncateTheValueToTheAccessWidth() {
        assertEquals("OK", s.execute("writeq 0x2000 0xffffffffffffffff"));
        assertEquals("OK", s.execute("writew 0x2000 0x12345"));
        assertEquals("OK 0xffffffffffff2345", s.execute("readq 0x2000"));
    }

    @Test
    void portReadsAnswerAtLeastFourHexDigits() {
        assertEquals("OK", s.execute("outl 0xcf8 0x80002000"));
        assertEquals("OK 0x80002000", s.execute("inl 0xcf8"));
        assertEquals("OK 0x11e81234", s.execute("inl 0xcfc"), "edu 1234:11e8 at 00:04.0");
        assertEquals("OK 0x00ff", s.execute("inb 0x80"), "nothing decodes port 0x80: all ones");
        assertEquals("OK 0xffff", s.execute("inw 0x80"));
    }

    @Test
    void blockReadAnswersBytesInAddressOrderAndShortWriteDataIsZeroFilled() {
        assertEquals("OK", s.execute("memset 0x3000 8 0xaa"));
        assertEquals("OK 0xaaaaaaaaaaaaaaaa", s.execute("read 0x3000 8"));
        assertEquals("OK", s.execute("write 0x3000 4 0x0102"));
        assertEquals("OK 0x01020000aaaaaaaa", s.execute("read 0x3000 8"));
        assertEquals("OK 0x0000000000000201", s.execute("readw 0x3000"), "little-endian view of the same bytes");
    }

    @Test
    void base64BlocksRoundTrip() {
        Random r = new Random(42);
        byte[] data = new byte[37];
        r.nextBytes(data);
        String b64 = java.util.Base64.getEncoder().encodeToString(data);
        assertEquals("OK", s.execute("b64write 0x5000 37 " + b64));
        assertEquals("OK " + b64, s.execute("b64read 0x5000 37"));
        assertEquals("OK 0x" + java.util.HexFormat.of().formatHex(data), s.execute("read 0x5000 37"));
    }

    @Test
    void vtdRegistersAreAtFed90000() {
        assertEquals("OK 0x0000000000000010", s.execute("readl 0xfed90000"));
        assertEquals("OK 0x00d2008c22260206", s.execute("readq 0xfed90008"));
        assertEquals("OK 0x0000000000f00f4a", s.execute("readq 0xfed90010"));
        assertEquals("OK 0x0000000080000000", s.execute("readl 0xfed90038"), "FECTL.IM set at reset");
    }

    @Test
    void clockStepWithoutArgumentRunsToTheNextTimerAndCompletesTheEduDma() {
        s.execute("outl 0xcf8 0x80002010");
        s.execute("outl 0xcfc 0xfe000000");
        s.execute("outl 0xcf8 0x80002004");
        s.execute("outl 0xcfc 0x6");
        s.execute("writel 0x300000 0xcafef00d");
        s.execute("writeq 0xfe000080 0x300000");
        s.execute("writeq 0xfe000088 0x40000");
        s.execute("writeq 0xfe000090 4");
        s.execute("writeq 0xfe000098 1");
        assertEquals("OK 0x0000000000000001", s.execute("readq 0xfe000098"), "DMA running");
        assertEquals("OK 100000000", s.execute("clock_step"), "the edu DMA timer is 100 ms of virtual time");
        assertEquals("OK 0x0000000000000000", s.execute("readq 0xfe000098"), "DMA done");
        assertEquals("OK 100000000", s.execute("clock_step"), "no timer pending: time stays");
        assertEquals("OK 100000005", s.execute("clock_step 5"));
    }

    @Test
    void clockSetMovesForwardOnly() {
        assertEquals("OK 1000", s.execute("clock_set 1000"));
        assertEquals("OK 1000", s.execute("clock_set 10"));
        assertEquals("OK 1000", s.execute("clock_step 0"));
        assertEquals("OK " + Long.MAX_VALUE, s.execute("clock_step 0x7fffffffffffffff"), "saturates, never wraps");
    }

    @Test
    void endiannessIsLittle() {
        assertEquals("OK little", s.execute("endianness"));
    }

    @Test
    void unknownCommandsFailInQemusWordsAndTheSessionGoesOn() {
        assertEquals("FAIL Unknown command 'xyz'", s.execute("xyz 1 2"));
        assertEquals("FAIL Unknown command ''", s.execute(""));
        assertEquals("OK 0x0000000000000010", s.execute("readl 0xfed90000"));
    }

    @Test
    void malformedArgumentsFailInsteadOfAborting() {
        assertTrue(s.execute("readl").startsWith("FAIL "));
        assertTrue(s.execute("readl 0xzz").startsWith("FAIL "));
        assertTrue(s.execute("writel 0x1000").startsWith("FAIL "));
        assertTrue(s.execute("outb 0x10000 1").startsWith("FAIL "), "ports are 16-bit");
        assertTrue(s.execute("read 0x0 0").startsWith("FAIL "), "QEMU asserts len != 0");
        assertTrue(s.execute("read 0x0 0x100000000").startsWith("FAIL "), "bounded block size");
        assertTrue(s.execute("write 0x0 4 zz").startsWith("FAIL "));
        assertTrue(s.execute("write 0x0 2 0x12zz").startsWith("FAIL "));
        assertTrue(s.execute("b64write 0x0 4 !!!!").startsWith("FAIL "));
        assertEquals("OK 0x0000000000000000", s.execute("readq 0x0"), "nothing was written");
    }

    @Test
    void numbersReadAsStrtoullWithBaseZero() {
        assertEquals(0x10, QtestSession.parseNumber("0x10"));
        assertEquals(8, QtestSession.parseNumber("010"));
        assertEquals(10, QtestSession.parseNumber("10"));
        assertEquals(0, QtestSession.parseNumber("0"));
        assertEquals(-1L, QtestSession.parseNumber("0xffffffffffffffff"));
        assertEquals(-1L, QtestSession.parseNumber("-1"));
    }

    @Test
    void randomCommandLinesNeverThrow() {
        Random r = new Random(7);
        String[] verbs = {"readb", "readq", "writel", "writeq", "read", "write", "memset", "inl", "outl", "b64read",
                "b64write", "clock_step", "clock_set", "bogus"};
        String[] args = {"0x0", "0xfed90000", "0xfed90018", "0xfe000098", "0xcf8", "-1", "0x", "zz", "4", "0x1000000",
                "0xffffffffffffffff", "", "AAAA", "0x0102"};
        for (int i = 0; i < 5000; i++) {
            StringBuilder sb = new StringBuilder(verbs[r.nextInt(verbs.length)]);
            for (int a = r.nextInt(4); a > 0; a--) sb.append(' ').append(args[r.nextInt(args.length)]);
            String resp = s.execute(sb.toString());
            assertTrue(resp.startsWith("OK") || resp.startsWith("FAIL"), sb + " -> " + resp);
        }
    }
}

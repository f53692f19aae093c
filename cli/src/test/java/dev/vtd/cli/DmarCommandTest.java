package dev.vtd.cli;

import dev.vtd.firmware.acpi.DmarTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vtd dmar dump}: output of both formats, and one-line errors with exit code 2. */
class DmarCommandTest {
    record Run(int exit, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    private static Run vtd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static Path r630(Path dir) throws IOException {
        return Files.write(dir.resolve("r630.bin"), DmarTables.dellR630().encode());
    }

    @Test
    void kernelFormatPrintsTheLinuxBootLines(@TempDir Path dir) throws IOException {
        Run r = vtd("dmar", "dump", r630(dir).toString(), "--format", "kernel", "--address", "0x7bafe000");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        assertEquals("ACPI: DMAR 0x000000007BAFE000 000108 (v01 DELL   PE_SC3   00000001 DELL 00000001)", r.outLines().get(0));
        assertEquals("DMAR: Host address width 46", r.outLines().get(1));
        assertEquals("DMAR: DRHD base: 0x000000fbffc000 flags: 0x0", r.outLines().get(2));
        assertEquals("DMAR-IR: HPET id 0 under DRHD base 0xc7ffc000", r.outLines().getLast());
    }

    @Test
    void iaslFormatIsTheDefault(@TempDir Path dir) throws IOException {
        Run r = vtd("dmar", "dump", r630(dir).toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.outLines().contains("[024h 0036 001h]           Host Address Width : 2D    [46 bits]"), r.out());
        assertTrue(r.outLines().contains("[038h 0056 008h]        Register Base Address : 00000000FBFFC000"), r.out());
    }

    @Test
    void missingFileIsOneLineExitTwo(@TempDir Path dir) {
        String file = dir.resolve("absent.bin").toString();
        Run r = vtd("dmar", "dump", file);
        assertEquals(2, r.exit());
        assertEquals("vtd: dmar dump " + file + ": no such file" + System.lineSeparator(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void malformedTableIsOneLineNamingTheOffsetExitTwo(@TempDir Path dir) throws IOException {
        byte[] t = DmarTables.dellR630().encode();
        int was = t[0x32];
        t[0x32] = 8;                  // first DRHD's length: 8, below its 16-byte header
        t[9] += (byte) (was - 8);     // keep the checksum valid so the structure rule is what fails
        Path file = Files.write(dir.resolve("bad.bin"), t);
        Run r = vtd("dmar", "dump", file.toString());
        assertEquals(2, r.exit());
        assertEquals("vtd: dmar dump " + file + ": offset 0x30: DRHD length 8 is shorter than its 16-byte header"
                + System.lineSeparator(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void truncatedTableIsRejectedWithExitTwo(@TempDir Path dir) throws IOException {
        byte[] t = Arrays.copyOf(DmarTables.dellR630().encode(), 100);
        Path file = Files.write(dir.resolve("short.bin"), t);
        Run r = vtd("dmar", "dump", file.toString(), "--format", "kernel");
        assertEquals(2, r.exit());
        assertEquals("vtd: dmar dump " + file + ": offset 0x4: header length field 264 is larger than the 100 bytes of data"
                + System.lineSeparator(), r.err());
    }

    @Test
    void unknownFormatIsAUsageErrorExitTwo(@TempDir Path dir) throws IOException {
        Run r = vtd("dmar", "dump", r630(dir).toString(), "--format", "xml");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("vtd: ") && r.err().contains("--format"), r.err());
    }
}

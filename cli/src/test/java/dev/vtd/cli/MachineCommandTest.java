package dev.vtd.cli;

import dev.vtd.firmware.acpi.DmarParser;
import dev.vtd.firmware.acpi.DmarTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd machine list|show} and {@code vtd dmar build}. */
class MachineCommandTest {
    record Run(int exit, String out, String err) {}

    private static Run vtd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void listNamesEveryPresetWithItsDescription() {
        Run r = vtd("machine", "list");
        assertEquals(0, r.exit(), r.err());
        var lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("r630     Dell PowerEdge R630") && lines.get(0).endsWith("(default)"), lines.get(0));
        assertTrue(lines.get(1).startsWith("q35      QEMU q35"), lines.get(1));
        assertTrue(lines.get(2).startsWith("desktop  "), lines.get(2));
    }

    @Test
    void showAnnotatesEachDeviceWithItsUnitAndRequesterId() {
        Run r = vtd("machine", "show", "desktop");
        assertEquals(0, r.exit(), r.err());
        var lines = r.out().lines().toList();
        assertTrue(lines.contains("  dmar0  base 0xfed90000 ver 1:0 cap 0x1c0000c40660462 ecap 0x19e2ff0505e segment 0"), r.out());
        assertTrue(lines.contains("    | `-01:00.0 [10de:1db4] 3D controller gpu -> dmar0 rid 01:00.0"), r.out());
        assertTrue(lines.contains("    |   +-05:01.0 [1234:11f0] System peripheral legacy0 -> dmar1 rid 05:00.0 (alias)"), r.out());
        assertTrue(lines.contains("rmrr: [0x8a9b3000-0x8a9d2fff] for 00:14.0 xhci"), r.out());
    }

    @Test
    void showOfR630PutsSocket1RootPortsUnderDmar0() {
        Run r = vtd("machine", "show", "r630");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("+-80:02.0 [8086:2f04] PCI bridge rp80_2 (root-port, bus 81-81) -> dmar0 rid 80:02.0"), r.out());
        assertTrue(r.out().contains("`-01:00.3 [8086:1521] Ethernet controller i350.3 -> dmar1 rid 01:00.3"), r.out());
    }

    @Test
    void unknownMachineIsOneLineExitTwo() {
        Run r = vtd("machine", "show", "r640");
        assertEquals(2, r.exit());
        assertEquals("vtd: r640:0: not a preset (r630, q35, desktop) nor a .yaml file", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void badYamlFileIsOneLineWithFileLineField(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("bad.yaml"), "name: bad\nmemory:\n  - {base: 0, size: lots}\n");
        Run r = vtd("machine", "show", f.toString());
        assertEquals(2, r.exit());
        assertEquals("vtd: " + f + ":3: field 'memory[0].size': 'lots' is not a number (decimal, 0x hex, or with K/M/G/T)",
                r.err().strip());
    }

    @Test
    void dmarBuildWritesTheR630TableByteForByte(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("dmar.bin");
        Run r = vtd("dmar", "build", "--machine", "r630", "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(DmarTables.dellR630().encode(), Files.readAllBytes(out));
        assertEquals(out + ": DMAR for r630, 264 bytes, 7 remapping structures", r.out().strip());
        Run dump = vtd("dmar", "dump", out.toString(), "--format", "kernel");
        assertEquals("DMAR: Host address width 46", dump.out().lines().toList().get(1));
    }

    @Test
    void dmarBuildOfAFileRoundTripsThroughTheParser(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("q35.bin");
        assertEquals(0, vtd("dmar", "build", "--machine", "q35", "-o", out.toString()).exit());
        assertEquals(dev.vtd.firmware.machine.Machines.load("q35").dmar(), DmarParser.parse(Files.readAllBytes(out), "q35"));
    }

    @Test
    void dmarBuildIntoAMissingDirectoryIsOneLineExitTwoAndWritesNothing(@TempDir Path dir) {
        Path out = dir.resolve("no/such/dir/dmar.bin");
        Run r = vtd("dmar", "build", "--machine", "q35", "-o", out.toString());
        assertEquals(2, r.exit());
        assertEquals("vtd: dmar build -o " + out + ": no such directory", r.err().strip());
        assertFalse(Files.exists(out));
    }
}

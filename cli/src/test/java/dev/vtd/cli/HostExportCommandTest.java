package dev.vtd.cli;

import dev.vtd.cli.args.CommandLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** vtd host export DIR [--machine M] [--script FILE], and host-export inside the shell. */
class HostExportCommandTest {
    static String[] run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {String.valueOf(code), out.toString(), err.toString()};
    }

    @Test
    void exportWritesSysProcAndDmesgAfterRunningTheScript(@TempDir Path dir) throws IOException {
        Path script = dir.resolve("s.sh");
        Files.writeString(script, "echo 2 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs\n");
        Path out = dir.resolve("tree");
        String[] r = run("host", "export", out.toString(), "--machine", "r630", "--script", script.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].startsWith("exported r630 to " + out), r[1]);
        Path pf = out.resolve("sys/bus/pci/devices/0000:01:00.0");
        assertEquals("2\n", Files.readString(pf.resolve("sriov_numvfs")));
        assertTrue(Files.isSymbolicLink(pf.resolve("virtfn0")));
        assertTrue(Files.isSymbolicLink(pf.resolve("virtfn1")));
        assertTrue(Files.isSymbolicLink(out.resolve("sys/bus/pci/devices/" + Files.readSymbolicLink(pf.resolve("virtfn0"))
                .getFileName()).toRealPath().resolve("physfn")));
        assertTrue(Files.size(pf.resolve("config")) == 4096);
        assertTrue(Files.readString(out.resolve("proc/cmdline")).contains("intel_iommu=on"));
        assertTrue(Files.readString(out.resolve("dmesg.txt")).contains("DMAR"));
    }

    @Test
    void exportOfAnUnknownMachineFailsWithAMessageAndWritesNothing(@TempDir Path dir) {
        String[] r = run("host", "export", dir.resolve("t").toString(), "--machine", "nosuch");
        assertFalse(r[0].equals("0"));
        assertTrue(r[2].contains("unknown machine 'nosuch'"), r[2]);
        assertFalse(Files.exists(dir.resolve("t")));
    }

    @Test
    void hostExportInsideTheShellWritesTheSameTree(@TempDir Path dir) throws IOException {
        Path script = dir.resolve("s.sh");
        Path out = dir.resolve("tree");
        Files.writeString(script, "host-export " + out + "\n");
        String[] r = run("run", script.toString());
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("exported to " + out), r[1]);
        try (var groups = Files.list(out.resolve("sys/kernel/iommu_groups"))) {
            Path g = groups.findFirst().orElseThrow();
            try (var devs = Files.list(g.resolve("devices"))) {
                Path link = devs.findFirst().orElseThrow();
                assertTrue(Files.isSymbolicLink(link));
                assertTrue(Files.isRegularFile(link.resolve("config")), "the group's device link resolves in the tree");
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("sys/firmware/acpi/tables/DMAR")));
    }
}

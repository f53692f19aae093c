package dev.vtd.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.vtd.cli.args.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vtd run}, {@code vtd check}, {@code vtd groups} and {@code vtd shell}: output and every switch. */
class HostCommandsTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static String resource(String name) throws IOException {
        try (InputStream in = HostCommandsTest.class.getResourceAsStream("/scripts/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Path script(Path dir, String text) throws IOException {
        Path p = dir.resolve("s.sh");
        Files.writeString(p, text);
        return p;
    }

    @Test
    void theSeedsSequenceRunsAsATranscriptMatchingTheExpectedOutputLineByLine(@TempDir Path dir) throws IOException {
        Run r = run("run", script(dir, resource("seeds.sh")).toString());
        List<String> expected = resource("seeds.expected").lines().toList();
        List<String> actual = r.out.lines().toList();
        for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
            assertEquals(i < expected.size() ? expected.get(i) : null, i < actual.size() ? actual.get(i) : null, "line " + (i + 1));
        }
        assertEquals(1, r.code, "the last command (a missing file) failed");
    }

    @Test
    void runEchoesEachCommandAndSkipsCommentsAndBlankLines(@TempDir Path dir) throws IOException {
        Run r = run("run", script(dir, "# comment\n\ncat /proc/cmdline\n").toString());
        assertEquals(0, r.code, r.err);
        assertEquals("# cat /proc/cmdline\nBOOT_IMAGE=/vmlinuz-3.10.0-514.el7.x86_64 root=/dev/mapper/rhel-root ro intel_iommu=on\n",
                r.out);
    }

    @Test
    void cmdlineAndVtdSwitchesChangeWhatBoots(@TempDir Path dir) throws IOException {
        Path s = script(dir, "cat /proc/cmdline\ndmesg | grep -c DMAR\n");
        Run r = run("run", "--cmdline", "quiet intel_iommu=off", s.toString());
        assertTrue(r.out.startsWith("# cat /proc/cmdline\nquiet intel_iommu=off\n"), r.out);
        Run off = run("run", "--vtd", "off", s.toString());
        assertTrue(off.out.endsWith("# dmesg | grep -c DMAR\n1\n"), off.out);
    }

    @Test
    void rebootAppliesBiosSetupAndTheRegeneratedGrubConfig(@TempDir Path dir) throws IOException {
        Run r = run("run", script(dir, """
                setup vtd off
                sed -i 's/intel_iommu=on/intel_iommu=on iommu=pt/' /etc/default/grub
                grub2-mkconfig -o /boot/grub2/grub.cfg
                reboot
                cat /proc/cmdline
                dmesg | grep -e DMAR -e IOMMU
                setup
                """).toString());
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("# cat /proc/cmdline\nBOOT_IMAGE=/vmlinuz-3.10.0-514.el7.x86_64 root=/dev/mapper/rhel-root ro"
                + " intel_iommu=on iommu=pt\n"), r.out);
        assertTrue(r.out.contains("# dmesg | grep -e DMAR -e IOMMU\n[    0.000111] DMAR: IOMMU enabled\n# setup\n"
                + "Intel VT for Directed I/O (VT-d): Disabled\n"), r.out);
    }

    @Test
    void checkPassesOnTheR630WithTheSeedsCommandLine() {
        Run r = run("check");
        assertEquals(0, r.code, r.out);
        assertEquals("""
                  QEMU: Checking for hardware virtualization                                 : PASS
                  QEMU: Checking for device assignment IOMMU support                         : PASS
                  QEMU: Checking if IOMMU is enabled by kernel                               : PASS
                  QEMU: Checking for interrupt remapping                                     : PASS
                """, r.out);
    }

    @Test
    void checkWarnsWithTheFixWhenTheKernelOrBiosLeavesTheIommuOff() {
        Run k = run("check", "--cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1");
        assertEquals(1, k.code);
        assertTrue(k.out.contains("QEMU: Checking if IOMMU is enabled by kernel                               : WARN "
                + "(IOMMU appears to be disabled in kernel. Add intel_iommu=on to kernel cmdline arguments)"), k.out);
        Run b = run("check", "--vtd", "off");
        assertEquals(1, b.code);
        assertTrue(b.out.contains(": WARN (No ACPI DMAR table found, IOMMU either disabled in BIOS or not supported by this "
                + "hardware platform)"), b.out);
        Run ir = run("check", "--cmdline", "intel_iommu=on intremap=off");
        assertTrue(ir.out.contains("Checking for interrupt remapping                                     : WARN "
                + "(Interrupt remapping is disabled by intremap=off. Remove it from kernel cmdline arguments)"), ir.out);
    }

    @Test
    void groupsListsDevicesDriversAndViability() {
        Run r = run("groups");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("IOMMU group 10: not viable (01:00.3 bound to igb)\n    01:00.3 Ethernet controller [0200]: "
                + "Intel Corporation I350 Gigabit Network Connection [8086:1521] (rev 01) [igb]\n"), r.out);
        assertTrue(r.out.contains("IOMMU group 1: viable\n    00:01.0 PCI bridge [0604]"), r.out);
        Run none = run("groups", "--vtd", "off");
        assertEquals(1, none.code);
        assertEquals("No IOMMU groups: VT-d is disabled in the BIOS (no ACPI DMAR table)\n", none.out);
    }

    @Test
    void theQ35LikeMachineBootsWithOneUnitAndEduDevices(@TempDir Path dir) throws IOException {
        Run r = run("run", "--machine", "q35-like", script(dir, "lspci -nn\ndmesg | grep 'Enabled IRQ'\n").toString());
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("00:03.0 Unclassified device [00ff]: Device [1234:11e8] (rev 10)"), r.out);
        assertTrue(r.out.contains("DMAR-IR: Enabled IRQ remapping in xapic mode"), r.out);
    }

    @Test
    void theDesktopPresetBootsAndGroupsTheLegacyDevicesBehindThePcieToPciBridgeTogether(@TempDir Path dir) throws IOException {
        Run r = run("run", "--machine", "desktop", script(dir, "readlink /sys/bus/pci/devices/0000:05:01.0/iommu_group\n"
                + "readlink /sys/bus/pci/devices/0000:05:05.0/iommu_group\n").toString());
        assertEquals(0, r.code, r.err);
        String[] groups = r.out.lines().filter(l -> l.contains("iommu_groups/")).toArray(String[]::new);
        assertEquals(2, groups.length, r.out);
        assertEquals(groups[0], groups[1], "both conventional devices behind the bridge share one group");
    }

    @Test
    void badInputIsAOneLineErrorWithExitTwo(@TempDir Path dir) throws IOException {
        Run m = run("check", "--machine", "pdp11");
        assertEquals(2, m.code);
        assertTrue(m.err.startsWith("vtd: --machine: unknown machine 'pdp11' (known: r630, q35-like, q35, desktop, or a .yaml file)"), m.err);
        assertEquals(1, m.err.lines().count());
        Run v = run("groups", "--vtd", "maybe");
        assertEquals(2, v.code);
        assertEquals("vtd: --vtd: expected on or off, got 'maybe'\n", v.err);
        Run s = run("run", dir.resolve("missing.sh").toString());
        assertEquals(2, s.code);
        assertTrue(s.err.matches("vtd: .*missing\\.sh: no such file\\n"), s.err);
        Run noScript = run("run");
        assertEquals(2, noScript.code);
    }

    @Test
    void shellReadsCommandsFromStandardInputWhenItIsNotATerminal() {
        InputStream saved = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("lsmod | grep -c ^igb\nexit\nlspci\n".getBytes(StandardCharsets.UTF_8)));
            Run r = run("shell");
            assertEquals(0, r.code, r.err);
            assertEquals("1\n", r.out);
        } finally {
            System.setIn(saved);
        }
    }
}

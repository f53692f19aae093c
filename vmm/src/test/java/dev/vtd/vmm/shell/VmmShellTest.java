package dev.vtd.vmm.shell;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.Shell;
import dev.vtd.vmm.SeedsDemo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VMM's commands in the host shell, run the way {@code vtd run} runs a script. */
class VmmShellTest {
    private Host host;
    private Shell shell;

    @BeforeEach
    void boot() {
        host = Host.boot(bios -> Presets.r630().vtdEnabledInBios(bios.vtd()).build());
        shell = Shell.create(host);
    }

    @AfterEach
    void close() {
        host.close();
    }

    /** vtd run: each non-blank, non-comment line echoed as "# LINE", then run; the end of the script ends input. */
    private String runScript(String script) {
        StringWriter sw = new StringWriter();
        PrintWriter out = new PrintWriter(sw);
        for (String line : script.lines().toList()) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) continue;
            out.println("# " + t);
            shell.execute(t, out, out);
        }
        shell.endOfInput(out, out);
        out.flush();
        return sw.toString();
    }

    /** Prints the demo script's transcript (run the class's main by hand to read it). */
    public static void main(String[] args) {
        VmmShellTest t = new VmmShellTest();
        t.boot();
        System.out.print(t.runScript(SeedsDemo.script()));
        t.close();
    }

    @Test
    void theShellFindsTheVmmCommandsThroughTheExtension() {
        assertTrue(shell.commandNames().containsAll(java.util.List.of("qemu-system-x86_64", "virsh")));
    }

    @Test
    void theDemoScriptRunsThroughTheShellWithEveryStepTakingEffect() {
        String t = runScript(SeedsDemo.script());
        assertTrue(t.contains("DMAR: IOMMU enabled"), t);
        assertTrue(t.contains("Kernel driver in use: vfio-pci"), t);
        assertTrue(t.contains("Domain 'vm1' defined from /dev/stdin"), t);
        assertTrue(t.contains("Domain 'vm1' started"), t);
        assertTrue(t.contains("Device pci_0000_01_00_2 detached"), t);
        assertTrue(t.contains(VmmShell.MONITOR_BANNER), t);
        assertTrue(t.contains("id \"nic0\""), "info pci shows vm2's port before the unplug: " + t);
        assertTrue(t.contains("Error: ") && t.contains("migrat"), "migration refused with the reason: " + t);
        assertTrue(t.contains("id \"hostdev0\""), "vm1's monitor shows the libvirt hostdev: " + t);
        assertTrue(t.contains("Domain 'vm1' destroyed"), t);
        assertTrue(t.contains("Device pci_0000_01_00_2 re-attached"), t);
        assertFalse(t.contains("command not found"), t);
        assertFalse(t.contains("error:"), t);
        // 01:00.2 is back on igb at the end.
        assertTrue(t.substring(t.lastIndexOf("# lspci -s 01:00.2 -k")).contains("Kernel driver in use: igb"), t);
    }

    @Test
    void monitorOnStdioReadsTheFollowingLinesUntilQuitAndTheShellReadsAgain() {
        shell.run("modprobe vfio_pci");
        shell.run("echo 0000:01:00.1 > /sys/bus/pci/drivers/igb/unbind");
        shell.run("echo 0000:01:00.1 > /sys/bus/pci/drivers_probe");
        String started = shell.run("virsh nodedev-detach pci_0000_01_00_1");
        assertEquals("Device pci_0000_01_00_1 detached\n", started);
        String banner = shell.run("qemu-system-x86_64 -enable-kvm -m 512M -device vfio-pci,host=01:00.1,id=n1 -monitor stdio");
        assertTrue(banner.contains(VmmShell.MONITOR_BANNER), banner);
        assertEquals("(qemu) ", shell.inputPrompt());
        String info = shell.run("info pci");
        assertTrue(info.contains("PCI device 8086:1521") && info.contains("id \"n1\""), info);
        assertEquals("", shell.run("device_del n1"));
        assertFalse(shell.run("(qemu) info pci").contains("8086:1521"));
        assertEquals("", shell.run("quit"));
        assertFalse(shell.readingInput());
        assertTrue(shell.run("lspci -s 01:00.1 -k").contains("vfio-pci"), "back at the host shell");
    }

    @Test
    void aPipedMonitorScriptIsReadFromStandardInput() {
        shell.run("modprobe vfio_pci");
        shell.run("echo 0000:01:00.0 > /sys/bus/pci/drivers/igb/unbind");
        shell.run("virsh nodedev-detach pci_0000_01_00_0");
        String out = shell.run("echo 'info status' | qemu-system-x86_64 -m 256M -device vfio-pci,host=01:00.0 -monitor stdio");
        assertTrue(out.contains("VM status: running"), out);
        assertFalse(shell.readingInput(), "the pipe's end ends the monitor");
    }

    @Test
    void qemuErrorsAreQemusOneLineMessagesWithAFailingStatus() {
        String out = shell.run("qemu-system-x86_64 -device vfio-pci,host=01:00.3,foo=1");
        assertEquals("qemu-system-x86_64: -device vfio-pci,host=01:00.3,foo=1: Property 'vfio-pci.foo' not found\n", out);
        assertEquals(1, shell.lastStatus());
    }

    @Test
    void virshDefineReadsAFileOfTheHostsFileTreeAndReportsAMissingOne() {
        String missing = shell.run("virsh define /root/none.xml");
        assertTrue(missing.startsWith("error: Failed to open file '/root/none.xml'"), missing);
        assertEquals(1, shell.lastStatus());
        shell.execute("virsh define /dev/stdin <<END", new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        for (String l : "<domain type='kvm'><name>vm9</name><memory unit='MiB'>256</memory></domain>".lines().toList()) {
            shell.run(l);
        }
        assertEquals("Domain 'vm9' defined from /dev/stdin\n", shell.run("END"));
        assertTrue(shell.run("virsh list --all").contains("vm9         shut off"));
    }
}

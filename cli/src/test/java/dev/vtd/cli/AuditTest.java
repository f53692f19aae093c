package dev.vtd.cli;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.Shell;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.reach.IsolationAudit;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.RootEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.GuestMemory;
import dev.vtd.vmm.SeedsDemo;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.shell.VmmShell;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd audit} and the shell's {@code audit}: the seeds' story is clean; broken isolation is caught and named. */
class AuditTest {
    /** The seeds' story up to vm1 running with 01:00.3 assigned (and before anything is torn down). */
    static String storyWithVm1Running() {
        String s = SeedsDemo.script();
        return s.substring(0, s.indexOf("virsh list"));
    }

    static Path file(Path dir, String text) throws IOException {
        Path p = dir.resolve("s.sh");
        Files.writeString(p, text);
        return p;
    }

    static Host boot() {
        return Host.boot(HostOptions.factory("r630"), Host.BiosSettings.DEFAULTS, Host.DEFAULT_CMDLINE);
    }

    static Shell runStory(Host host, String script) {
        Shell shell = Shell.create(host);
        AuditCommand.Scripts.runQuietly(shell, script.lines().toList(), null);
        return shell;
    }

    record Out(int code, String text) {}

    static Out shellAudit(Shell shell, String line) {
        StringWriter w = new StringWriter();
        PrintWriter p = new PrintWriter(w);
        int code = shell.execute(line, p, p);
        p.flush();
        return new Out(code, w.toString());
    }

    @Test
    void afterTheSeedsStoryTheAuditIsClean(@TempDir Path dir) throws IOException {
        var r = HostCommandsTest.run("audit", "--script", file(dir, SeedsDemo.script()).toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("audit: clean"), r.out());
    }

    @Test
    void whileVm1RunsItsDeviceReachesOnlyVm1sRamAndTheAuditIsClean(@TempDir Path dir) throws IOException {
        var r = HostCommandsTest.run("audit", "--script", file(dir, storyWithVm1Running()).toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("01:00.3 0000:01:00.3 (driver vfio-pci, vm vm1)"), r.out());
        assertTrue(r.out().contains("vm vm1 RAM"), r.out());
        var j = HostCommandsTest.run("audit", "--json", "--script", file(dir, storyWithVm1Running()).toString());
        assertEquals(0, j.code(), j.err());
        assertTrue(j.out().startsWith("{\"clean\":true,"), j.out());
        assertTrue(j.out().contains("\"vm\":\"vm1\""), j.out());
    }

    /** The legacy context entry of a function, in memory (where the kernel wrote it). */
    static long contextEntryAddress(Machine m, PciFunction f) {
        RemappingUnit u = m.unitFor(f).hardware();
        assertEquals(RemappingUnit.TTM_LEGACY, u.translationTableMode());
        int sid = f.dma().requesterId();
        PhysicalMemory mem = m.memory();
        long re = u.rootTableAddress() + (long) (sid >>> 8) * RootEntry.SIZE;
        RootEntry r = RootEntry.decode(mem.read64(re), mem.read64(re + 8));
        assertTrue(r.present());
        return r.contextTablePointer() + (long) (sid & 0xFF) * ContextEntry.SIZE;
    }

    @Test
    void anAssignedDeviceGivenAnIdentityDomainIsCaught() {
        try (Host host = boot()) {
            Shell shell = runStory(host, storyWithVm1Running());
            Machine m = host.machine();
            long ce = contextEntryAddress(m, m.function("01:00.3"));
            ContextEntry old = ContextEntry.decode(m.memory().read64(ce), m.memory().read64(ce + 8));
            ContextEntry pt = ContextEntry.passThrough(old.domainId(), old.addressWidth());
            m.memory().write64(ce + 8, pt.hi());
            m.memory().write64(ce, pt.lo());
            Out o = shellAudit(shell, "audit");
            assertEquals(1, o.code(), o.text());
            assertTrue(o.text().contains("audit: policy broken"), o.text());
            assertTrue(o.text().contains("01:00.3 reaches 0x0-0x"), o.text());
            assertTrue(o.text().contains("(" + IsolationAudit.HOST + ")"), o.text());
        }
    }

    @Test
    void aTableMappingAnotherVmsPageIsCaughtAndTheRangeNamed() {
        try (Host host = boot()) {
            String s = SeedsDemo.script();
            Shell shell = runStory(host, s.substring(0, s.indexOf("(qemu) info pci")));
            Vmm vmm = VmmShell.existingVmm(shell);
            assertNotNull(vmm);
            GuestMemory.Slot victim = vmm.vm("vm2").memory().slots().getFirst();
            Machine m = host.machine();
            long ce = contextEntryAddress(m, m.function("01:00.3"));
            ContextEntry c = ContextEntry.decode(m.memory().read64(ce), m.memory().read64(ce + 8));
            // Walk GPA 0 of vm1's domain down to its leaf and point it at a page of vm2.
            long table = c.slptptr();
            int level = c.addressWidth() + 2;
            PhysicalMemory mem = m.memory();
            while (true) {
                long pte = mem.read64(table & SlPte.ADDR_MASK);
                assertNotEquals(0, pte & (SlPte.R | SlPte.W), "GPA 0 is mapped for vm1");
                if (level == 1 || (pte & SlPte.PS) != 0) {
                    long size = 1L << SlPte.shiftOfLevel(level);
                    long target = (victim.hpa() + size - 1) & -size;
                    assertTrue(target + size <= victim.hpa() + victim.size(), "vm2 has an aligned page of that size");
                    mem.write64(table & SlPte.ADDR_MASK, (pte & ~SlPte.ADDR_MASK) | target);
                    Out o = shellAudit(shell, "audit");
                    assertEquals(1, o.code(), o.text());
                    assertTrue(o.text().contains(String.format("01:00.3 reaches 0x%x-0x%x", target, target + size - 1)), o.text());
                    assertTrue(o.text().contains("(vm vm2 RAM)"), o.text());
                    return;
                }
                table = pte;
                level--;
            }
        }
    }

    @Test
    void theShellAuditRejectsUnknownOptionsInOneLine() {
        try (Host host = boot()) {
            Out o = shellAudit(Shell.create(host), "audit --frobnicate");
            assertEquals(2, o.code());
            assertEquals(1, o.text().lines().count(), o.text());
        }
    }
}

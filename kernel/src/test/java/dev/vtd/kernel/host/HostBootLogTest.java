package dev.vtd.kernel.host;

import dev.vtd.platform.iommu.regs.Reg;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The R630's boot log, line by line, for the command lines and BIOS settings the seeds use. */
class HostBootLogTest {
    static final String PREFIX = Host.GRUB_PREFIX;
    static final List<String> TABLE = List.of(
            "ACPI: DMAR 0x000000007BAFE000 000108 (v01 DELL   PE_SC3   00000001 DELL 00000001)",
            "DMAR: Host address width 46",
            "DMAR: DRHD base: 0x000000fbffc000 flags: 0x0",
            "DMAR: dmar0: reg_base_addr fbffc000 ver 1:0 cap 8d2078c106f0466 ecap f020df",
            "DMAR: DRHD base: 0x000000c7ffc000 flags: 0x1",
            "DMAR: dmar1: reg_base_addr c7ffc000 ver 1:0 cap 8d2078c106f0466 ecap f020df",
            "DMAR: RMRR base: 0x0000007b71f000 end: 0x0000007b73efff",
            "DMAR: ATSR flags: 0x0",
            "DMAR: ATSR flags: 0x0",
            "DMAR: RHSA base: 0x000000c7ffc000 proximity domain: 0x0",
            "DMAR: RHSA base: 0x000000fbffc000 proximity domain: 0x1",
            "DMAR-IR: IOAPIC id 10 under DRHD base  0xfbffc000 IOMMU 0",
            "DMAR-IR: IOAPIC id 8 under DRHD base  0xc7ffc000 IOMMU 1",
            "DMAR-IR: IOAPIC id 9 under DRHD base  0xc7ffc000 IOMMU 1",
            "DMAR-IR: HPET id 0 under DRHD base 0xc7ffc000");
    static final List<String> IR_XAPIC = List.of(
            "DMAR-IR: x2apic is disabled because BIOS sets x2apic opt out bit.",
            "DMAR-IR: Use 'intremap=no_x2apic_optout' to override the BIOS setting.",
            "DMAR-IR: Enabled IRQ remapping in xapic mode",
            "x2apic: IRQ remapping doesn't support X2APIC mode");
    static final List<String> GROUPS = List.of(
            "pci 0000:00:00.0: Adding to iommu group 0", "pci 0000:00:01.0: Adding to iommu group 1",
            "pci 0000:00:02.0: Adding to iommu group 2", "pci 0000:00:03.0: Adding to iommu group 3",
            "pci 0000:00:05.0: Adding to iommu group 4", "pci 0000:00:05.4: Adding to iommu group 4",
            "pci 0000:00:1a.0: Adding to iommu group 5", "pci 0000:00:1d.0: Adding to iommu group 6",
            "pci 0000:01:00.0: Adding to iommu group 7", "pci 0000:01:00.1: Adding to iommu group 8",
            "pci 0000:01:00.2: Adding to iommu group 9", "pci 0000:01:00.3: Adding to iommu group 10",
            "pci 0000:80:00.0: Adding to iommu group 11", "pci 0000:80:02.0: Adding to iommu group 12",
            "pci 0000:80:03.0: Adding to iommu group 13", "pci 0000:80:05.0: Adding to iommu group 14",
            "pci 0000:80:05.4: Adding to iommu group 14");

    /** The log up to the first driver line (igb's banner), which every case shares. */
    static List<String> kernelLines(Host h) {
        List<String> out = new ArrayList<>();
        for (String m : h.log().messages()) {
            if (m.startsWith("igb")) break;
            out.add(m);
        }
        return out;
    }

    @SafeVarargs
    static List<String> lines(List<String>... parts) {
        List<String> out = new ArrayList<>();
        for (List<String> p : parts) out.addAll(p);
        return out;
    }

    static List<String> banner(String cmdline) {
        return List.of("Linux version 3.10.0-514.el7.x86_64 (mockbuild@x86-039.build.eng.bos.redhat.com) (gcc version "
                        + "4.8.5 20150623 (Red Hat 4.8.5-11) (GCC) ) #1 SMP Wed Oct 19 11:24:13 EDT 2016",
                "Command line: " + cmdline, "Kernel command line: " + cmdline);
    }

    static void assertLines(List<String> expected, List<String> actual) {
        for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
            assertEquals(i < expected.size() ? expected.get(i) : null, i < actual.size() ? actual.get(i) : null,
                    "line " + (i + 1));
        }
    }

    @Test
    void intelIommuOnBringsUpInterruptRemappingQueuedInvalidationGroupsAndTranslation() {
        try (Host h = Hosts.r630()) {
            assertLines(lines(banner(Host.DEFAULT_CMDLINE), List.of("DMAR: IOMMU enabled"), TABLE, IR_XAPIC,
                    List.of("iommu: Default domain type: Translated", "iommu: DMA domain TLB invalidation policy: lazy mode",
                            "DMAR: No SATC found", "DMAR: dmar0: Using Queued invalidation",
                            "DMAR: dmar1: Using Queued invalidation"),
                    GROUPS, List.of("DMAR: Intel(R) Virtualization Technology for Directed I/O")), kernelLines(h));
            for (var u : h.machine().units()) {
                long gsts = u.hardware().read(Reg.GSTS, 4);
                assertTrue((gsts & Reg.GSTS_TES) != 0 && (gsts & Reg.GSTS_QIES) != 0 && (gsts & Reg.GSTS_IRES) != 0,
                        "TES, QIES and IRES on " + u.hardware().config().name());
            }
        }
    }

    @Test
    void intelIommuOffKeepsInterruptRemappingButNoTranslationOrGroups() {
        String cmdline = PREFIX + " intel_iommu=off";
        try (Host h = Hosts.r630(cmdline)) {
            assertLines(lines(banner(cmdline), List.of("DMAR: IOMMU disabled"), TABLE, IR_XAPIC,
                    List.of("iommu: Default domain type: Translated", "iommu: DMA domain TLB invalidation policy: lazy mode")),
                    kernelLines(h));
            assertFalse(h.iommu().enabled());
            assertTrue(h.kernel().groups().numbers().isEmpty());
            assertEquals("", Hosts.sh(h, "ls /sys/kernel/iommu_groups/"));
        }
    }

    @Test
    void vtdDisabledInBiosLeavesNoDmarTableNoUnitsAndOnlyTheOptionLine() {
        try (Host h = Hosts.r630VtdOff()) {
            assertLines(lines(banner(Host.DEFAULT_CMDLINE), List.of("DMAR: IOMMU enabled")), kernelLines(h));
            assertNull(h.iommu());
            assertEquals(List.of(), h.machine().units());
            assertEquals("[    0.000111] DMAR: IOMMU enabled\n", Hosts.sh(h, "dmesg | grep -e DMAR -e IOMMU"));
            assertEquals("cat: /sys/firmware/acpi/tables/DMAR: No such file or directory\n",
                    Hosts.sh(h, "cat /sys/firmware/acpi/tables/DMAR"));
        }
    }

    @Test
    void iommuPtMakesIdentityDefaultDomains() {
        String cmdline = Host.DEFAULT_CMDLINE + " iommu=pt";
        try (Host h = Hosts.r630(cmdline)) {
            assertLines(lines(banner(cmdline), List.of("DMAR: IOMMU enabled"), TABLE, IR_XAPIC,
                    List.of("iommu: Default domain type: Passthrough (set via kernel command line)", "DMAR: No SATC found",
                            "DMAR: dmar0: Using Queued invalidation", "DMAR: dmar1: Using Queued invalidation"),
                    GROUPS, List.of("DMAR: Intel(R) Virtualization Technology for Directed I/O")), kernelLines(h));
            var dev = h.kernel().pci().device("01:00.3").iommuDev();
            assertEquals(dev.name(), "0000:01:00.3");
            assertEquals("identity\n", Hosts.sh(h, "cat /sys/kernel/iommu_groups/10/type"));
        }
    }

    @Test
    void intremapOffParsesTheTableLateAndLeavesRemappingOff() {
        String cmdline = Host.DEFAULT_CMDLINE + " intremap=off";
        try (Host h = Hosts.r630(cmdline)) {
            assertLines(lines(banner(cmdline), List.of("DMAR: IOMMU enabled",
                            "iommu: Default domain type: Translated", "iommu: DMA domain TLB invalidation policy: lazy mode"),
                    TABLE, List.of("DMAR: No SATC found", "DMAR: dmar0: Using Queued invalidation",
                            "DMAR: dmar1: Using Queued invalidation"),
                    GROUPS, List.of("DMAR: Intel(R) Virtualization Technology for Directed I/O")), kernelLines(h));
            assertNull(h.iommu().irqRemapping());
            for (var u : h.machine().units()) assertEquals(0, u.hardware().read(Reg.GSTS, 4) & Reg.GSTS_IRES);
        }
    }

    @Test
    void noX2apicOptoutOverridesTheBiosAndRemapsInX2apicMode() {
        try (Host h = Hosts.r630(Host.DEFAULT_CMDLINE + " intremap=no_x2apic_optout")) {
            List<String> ir = h.log().grepMessages("DMAR-IR: ").stream().filter(l -> !l.contains(" under ")).toList();
            assertEquals(List.of("DMAR-IR: Queued invalidation will be enabled to support x2apic and Intr-remapping.",
                    "DMAR-IR: Enabled IRQ remapping in x2apic mode"), ir);
            assertTrue(h.iommu().irqRemapping().x2apicMode());
            for (var u : h.machine().units()) {
                assertTrue((u.hardware().read(Reg.IRTA, 8) & dev.vtd.platform.iommu.ir.InterruptRemappingUnit.IRTA_EIME) != 0);
            }
        }
    }

    @Test
    void dmesgLinesCarryIncreasingPrintkTimestamps() {
        try (Host h = Hosts.r630()) {
            String[] lines = Hosts.sh(h, "dmesg | head -2").split("\n");
            assertEquals(2, lines.length);
            assertTrue(lines[0].matches("\\[    0\\.\\d{6}] Linux version .*"), lines[0]);
            assertTrue(lines[1].compareTo(lines[0]) > 0);
        }
    }
}

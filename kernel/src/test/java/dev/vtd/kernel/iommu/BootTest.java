package dev.vtd.kernel.iommu;

import dev.vtd.kernel.R630;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.iommu.regs.Reg;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootTest {
    static final List<String> R630_TABLE_LINES = List.of(
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

    static List<String> concat(List<String> a, List<String> b, List<String> c) {
        var out = new java.util.ArrayList<String>(a);
        out.addAll(b);
        out.addAll(c);
        return out;
    }

    @Test
    void r630BootWithIntelIommuOnLogsWhatLinuxLogsLineByLine() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on");
            List<String> expected = concat(List.of("DMAR: IOMMU enabled"), R630_TABLE_LINES, List.of(
                    "iommu: Default domain type: Translated",
                    "iommu: DMA domain TLB invalidation policy: lazy mode",
                    "DMAR: No SATC found",
                    "DMAR: dmar0: Using Register based invalidation",
                    "DMAR: dmar1: Using Register based invalidation",
                    "DMAR: Intel(R) Virtualization Technology for Directed I/O"));
            List<String> actual = m.log.messages();
            for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
                assertEquals(i < expected.size() ? expected.get(i) : null, i < actual.size() ? actual.get(i) : null,
                        "line " + (i + 1));
            }
            assertTrue(s.enabled());
            assertEquals(List.of("dmar0", "dmar1"), s.units().stream().map(IntelIommu::name).toList());
        }
    }

    @Test
    void bootProgramsRootTableTranslationAndUnmaskedFaultEventThroughRegisters() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            for (IntelIommu u : s.units()) {
                var unit = u.seqId() == 0 ? m.dmar0 : m.dmar1;
                int gsts = (int) unit.read(Reg.GSTS, 4);
                assertTrue((gsts & Reg.GSTS_TES) != 0, "TES");
                assertTrue((gsts & Reg.GSTS_RTPS) != 0, "RTPS");
                assertEquals(u.rootTable(), unit.rootTableAddress());
                assertTrue(m.pages.isAllocated(u.rootTable()));
                assertEquals(0, unit.read(Reg.FECTL, 4) & Reg.ECTL_IM, "fault event unmasked");
                assertEquals(u.faultVector(), unit.read(Reg.FEDATA, 4));
                assertEquals(KernelIrq.MSI_ADDRESS_BASE, unit.read(Reg.FEADDR, 4));
                // SRTP was followed by global context-cache and IOTLB invalidation (CAP.ESRTPS = 0).
                assertEquals(1, u.stats().contextFlushes());
                assertEquals(1, u.stats().iotlbGlobalFlushes());
                assertEquals(0, unit.read(Reg.PMEN, 4) & Reg.PMEN_EPM);
            }
            assertNotEquals(s.units().get(0).faultVector(), s.units().get(1).faultVector());
        }
    }

    @Test
    void intelIommuOffLeavesTranslationOffAndPrintsNoEnableLines() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=off");
            assertFalse(s.enabled());
            assertEquals("DMAR: IOMMU disabled", m.log.messages().getFirst());
            assertTrue(m.log.grep("Intel(R) Virtualization Technology").isEmpty());
            assertTrue(m.log.grep("invalidation").stream().noneMatch(e -> e.text().contains("Using")));
            assertFalse(m.dmar0.translationEnabled());
            assertFalse(m.dmar1.translationEnabled());
            // The table is still parsed (for interrupt remapping), as on Linux.
            assertEquals(2, m.log.grep("reg_base_addr").size());
        }
    }

    @Test
    void kernelWithoutDefaultOnStaysOffWithoutIntelIommuOn() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.builder("quiet").defaultOn(false).boot();
            assertFalse(s.enabled());
            assertTrue(m.log.grep("IOMMU enabled").isEmpty());
        }
    }

    @Test
    void passThroughAndStrictFromTheCommandLineAreReportedAsSetThere() {
        try (R630 m = new R630()) {
            m.boot("intel_iommu=on iommu=pt");
            assertEquals(List.of("iommu: Default domain type: Passthrough (set via kernel command line)"),
                    m.log.grepMessages("iommu: "));
        }
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on iommu.strict=1");
            assertEquals(List.of("iommu: Default domain type: Translated",
                    "iommu: DMA domain TLB invalidation policy: strict mode (set via kernel command line)"),
                    m.log.grepMessages("iommu: "));
            assertEquals(Domain.Type.DMA, s.defaultDomainType());
        }
    }

    @Test
    void intremapOffMovesTableParsingAfterTheCoreInit() {
        try (R630 m = new R630()) {
            m.boot("intel_iommu=on intremap=off");
            List<String> msgs = m.log.messages();
            assertTrue(msgs.indexOf("iommu: Default domain type: Translated") < msgs.indexOf("DMAR: Host address width 46"));
        }
    }

    @Test
    void aDrhdWithNoUnitBehindItFailsTheParseAsLinuxDoes() {
        try (R630 m = new R630()) {
            IommuSubsystem s = IommuSubsystem.builder(m.table, java.util.Map.of(R630.DMAR1, m.dmar1), m.mem)
                    .cmdline(KernelCmdline.parse("intel_iommu=on")).log(m.log).clock(m.clock).irq(m.irq)
                    .pages(m.pages).boot();
            assertFalse(s.enabled());
            assertEquals(List.of("DMAR: [Firmware Bug]: Your BIOS is broken; DMAR reported at address fbffc000 returns all ones!"),
                    m.log.grepMessages("Firmware Bug"));
        }
    }

    @Test
    void autoInvalidationUsesTheQueueOnlyWhenTheUnitBringsQiesUp() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.builder("intel_iommu=on").invalidation(IntelIommu.InvalidationMode.AUTO).boot();
            for (IntelIommu u : s.units()) {
                var unit = u.seqId() == 0 ? m.dmar0 : m.dmar1;
                boolean qies = (unit.read(Reg.GSTS, 4) & Reg.GSTS_QIES) != 0;
                assertEquals(qies ? "Queued" : "Register based", u.invalidator().kind());
                assertEquals(1, m.log.grep(u.name() + ": Using " + u.invalidator().kind() + " invalidation").size());
            }
        }
    }

    @Test
    void bootTimestampsAreMonotonicAndFormattedAsPrintk() {
        try (R630 m = new R630()) {
            m.boot("intel_iommu=on");
            List<KernelLog.Entry> es = m.log.entries();
            for (int i = 1; i < es.size(); i++) assertTrue(es.get(i).timestampNs() > es.get(i - 1).timestampNs());
            assertTrue(es.getFirst().format().matches("\\[ {4}0\\.\\d{6}] DMAR: IOMMU enabled"), es.getFirst().format());
        }
    }
}

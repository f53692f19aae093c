package dev.vtd.kernel.iommu;

import dev.vtd.kernel.R630;
import dev.vtd.kernel.dma.DmaDirection;
import dev.vtd.kernel.dma.DmaOps;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DomainTypesTest {
    static final PciDev DEV = PciDev.of(0x05, 0x00, 0);
    static final PciDev USB = PciDev.of(0x00, 0x1D, 0);   // in the R630's RMRR scope

    @Test
    void passThroughDefaultUsesTranslationTypePassThroughWithTheReservedDomainId() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on iommu=pt");
            Domain d = s.probeDevice(DEV);
            assertEquals(Domain.Type.IDENTITY, d.type());
            assertTrue(d.hwPassThrough());
            ContextEntry ce = s.unitFor(DEV).readContext(DEV.requesterId());
            assertEquals(ContextEntry.TT_PASS_THROUGH, ce.translationType());
            assertEquals(IntelIommu.FLPT_DEFAULT_DID, ce.domainId());
            assertTrue(m.dmar1.writeInt(DEV.requesterId(), 0x0300_0000L, 0xCAFE));
            assertEquals(0xCAFE, m.mem.read32(0x0300_0000L));
            DmaOps ops = DmaOps.of(s, DEV);
            assertEquals(0x0300_0010L, ops.mapSingle(0x0300_0010L, 64, DmaDirection.TO_DEVICE));
            assertFalse(ops.translated());
        }
    }

    @Test
    void withoutEcapPtTheIdentityDomainMapsAllRamOneToOne() {
        try (R630 m = new R630(R630.CAP, R630.ECAP.with(Ecap.PT, 0))) {
            IommuSubsystem s = m.boot("intel_iommu=on iommu=pt");
            Domain d = s.probeDevice(DEV);
            assertFalse(d.hwPassThrough());
            assertEquals(ContextEntry.TT_UNTRANSLATED, s.unitFor(DEV).readContext(DEV.requesterId()).translationType());
            RemappingUnit.Translation t = m.dmar1.translate(DEV.requesterId(), 0x1234_5000L, RemappingUnit.Access.WRITE);
            assertTrue(t.ok());
            assertEquals(0x1234_5000L, t.hpa());
            assertFalse(m.dmar1.translate(DEV.requesterId(), R630.RAM, RemappingUnit.Access.READ).ok(),
                    "only RAM is identity-mapped");
            assertTrue(d.pageTable().leaves(2) > 0, "2 MiB leaves keep the table small");
        }
    }

    @Test
    void rmrrRangesAreIdentityMappedAndReservedForTheirDevices() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            assertEquals(1, s.rmrrsFor(USB).size());
            assertTrue(s.rmrrsFor(DEV).isEmpty());
            Domain d = s.probeDevice(USB);
            for (long a = 0x7B71F000L; a <= 0x7B73EFFFL; a += 0x1000) assertEquals(a, d.iovaToPhys(a));
            assertTrue(d.iovad().isAllocated(0x7B720L));
            assertTrue(m.dmar1.translate(USB.requesterId(), 0x7B73E800L, RemappingUnit.Access.WRITE).ok());
            assertFalse(m.dmar1.translate(USB.requesterId(), 0x7B73F000L, RemappingUnit.Access.WRITE).ok());
            Domain other = s.probeDevice(DEV);
            assertEquals(-1, other.iovaToPhys(0x7B720000L));
        }
    }

    @Test
    void blockedDomainFaultsEveryRequest() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            s.probeDevice(DEV);
            s.attach(DEV, s.allocDomain(Domain.Type.BLOCKED, DEV));
            assertFalse(s.unitFor(DEV).readContext(DEV.requesterId()).present());
            assertFalse(m.dmar1.writeInt(DEV.requesterId(), 0x1000, 1));
            s.attachDefault(DEV);
            assertTrue(s.unitFor(DEV).readContext(DEV.requesterId()).present());
        }
    }

    @Test
    void devicesUnderASpecificUnitsScopeGoToThatUnit() {
        try (R630 m = new R630()) {
            IommuSubsystem.PciTopology topo = new IommuSubsystem.PciTopology() {
                @Override public int secondaryBus(int seg, int bus, int devfn) { return bus == 0x80 && devfn == 0x10 ? 0x81 : -1; }
                @Override public int subordinateBus(int seg, int bus, int devfn) { return bus == 0x80 && devfn == 0x10 ? 0x81 : -1; }
            };
            IommuSubsystem s = m.builder("intel_iommu=on").topology(topo).boot();
            assertEquals("dmar0", s.unitFor(PciDev.of(0x81, 0, 0)).name());
            assertEquals("dmar1", s.unitFor(PciDev.of(0x82, 0, 0)).name());
            assertEquals("dmar0", s.unitFor(PciDev.of(0x80, 2, 0)).name(), "the root port itself");
        }
    }

    @Test
    void releasingADeviceFreesItsDefaultDomain() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            int before = m.pages.pagesInUse();
            s.probeDevice(DEV);
            s.releaseDevice(DEV);
            assertNull(s.domainOf(DEV));
            assertEquals(before + 1, m.pages.pagesInUse(), "only the bus's context table stays");
        }
    }
}

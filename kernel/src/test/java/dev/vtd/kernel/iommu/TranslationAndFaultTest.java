package dev.vtd.kernel.iommu;

import dev.vtd.kernel.R630;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TranslationAndFaultTest {
    static final PciDev NIC = PciDev.of(0x01, 0x00, 3);   // 01:00.3, under the INCLUDE_PCI_ALL unit dmar1
    static final int RW = PageTable.PROT_READ | PageTable.PROT_WRITE;

    @Test
    void attachedDeviceDmaThroughTheUnitLandsInTheMappedPage() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, NIC);
            s.attach(NIC, d);
            d.map(0x7f00_0000L, 0x0123_4000L, 4096, RW);
            byte[] data = "hello through dmar1".getBytes();
            assertTrue(m.dmar1.writeFully(NIC.requesterId(), 0x7f00_0010L, data));
            assertArrayEquals(data, m.mem.readBytes(0x0123_4010L, data.length));
            // The context entry the driver wrote: translated, AW 48-bit (R630 SAGAW = 4-level), the domain's DID.
            ContextEntry ce = s.unitFor(NIC).readContext(NIC.requesterId());
            assertTrue(ce.present());
            assertEquals(ContextEntry.TT_UNTRANSLATED, ce.translationType());
            assertEquals(ContextEntry.AW_48, ce.addressWidth());
            assertEquals(IntelIommu.FIRST_DID, ce.domainId());
            assertEquals(d.pageTable().root(), ce.slptptr());
        }
    }

    @Test
    void unmappedReadFaultsAndTheHandlerLogsTheExactLinuxLine() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, NIC);
            s.attach(NIC, d);
            d.map(0x7f00_0000L, 0x0123_4000L, 4096, PageTable.PROT_WRITE);
            assertFalse(m.dmar1.readFully(NIC.requesterId(), 0x7f00_0000L, new byte[8]));
            assertEquals(1, m.irq.pendingCount(), "the fault event reached the kernel's vector");
            m.clock.step(1);
            assertEquals(List.of("DMAR: [DMA Read NO_PASID] Request device [01:00.3] fault addr 0x7f000000 "
                    + "[fault reason 0x06] PTE Read access is not set"), m.log.grepMessages("Request device"));
            assertEquals(1, m.log.grep("DMAR: DRHD: handling fault status reg").size());
            // Serviced: F bits and PPF clear, so the next fault raises a new event.
            assertEquals(0, m.dmar1.read(Reg.FSTS, 4) & (Reg.FSTS_PPF | Reg.FSTS_PFO));
            assertFalse(m.dmar1.writeFully(NIC.requesterId(), 0x6000_0000L, new byte[4]));
            m.irq.dispatchPending();
            assertEquals("DMAR: [DMA Write NO_PASID] Request device [01:00.3] fault addr 0x60000000 "
                    + "[fault reason 0x05] PTE Write access is not set", m.log.grepMessages("Request device").getLast());
            assertEquals(2, s.units().get(1).stats().faultsHandled());
        }
    }

    @Test
    void faultLinesAreRateLimitedTenPerFiveSecondsAndSuppressionsCounted() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            s.attach(NIC, s.allocDomain(Domain.Type.UNMANAGED, NIC));
            for (int i = 0; i < 30; i++) {
                m.dmar1.readFully(NIC.requesterId(), 0x1000L * (i + 1), new byte[4]);
                m.irq.dispatchPending();
            }
            // 30 faults: 30 "handling" checks + 30 record checks share the burst of 10.
            assertEquals(30, s.units().get(1).stats().faultsHandled());
            assertTrue(s.faultRatelimit().totalSuppressed() > 0);
            assertTrue(m.log.grep("Request device").size() + m.log.grep("handling fault status").size() <= 10);
            m.clock.step(6_000_000_000L);
            m.dmar1.readFully(NIC.requesterId(), 0x9_9000L, new byte[4]);
            m.irq.dispatchPending();
            assertEquals(1, m.log.grep("dmar_fault: ").size());
            assertTrue(m.log.grepMessages("dmar_fault: ").getFirst().matches("dmar_fault: \\d+ callbacks suppressed"));
        }
    }

    @Test
    void dmaAliasesGetContextEntriesToo() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            PciDev behindBridge = PciDev.of(0x03, 0x00, 0).withAliases(List.of(0x0208));   // alias 02:01.0
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, behindBridge);
            s.attach(behindBridge, d);
            d.map(0x10_0000L, 0x20_0000L, 4096, RW);
            assertTrue(m.dmar1.writeFully(0x0208, 0x10_0000L, new byte[] {7}));
            assertEquals(7, m.mem.read8(0x20_0000L));
            s.block(behindBridge);
            assertFalse(s.unitFor(behindBridge).readContext(0x0208).present());
            assertFalse(m.dmar1.writeFully(0x0208, 0x10_0000L, new byte[] {8}));
            assertEquals(7, m.mem.read8(0x20_0000L));
        }
    }

    @Test
    void detachClearsTheContextAndInvalidatesSoCachedTranslationsStopWorking() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, NIC);
            s.attach(NIC, d);
            d.map(0x5000, 0x30_0000L, 4096, RW);
            assertTrue(m.dmar1.writeFully(NIC.requesterId(), 0x5000, new byte[] {1}));   // now cached
            s.block(NIC);
            assertFalse(m.dmar1.writeFully(NIC.requesterId(), 0x5000, new byte[] {2}));
            m.irq.dispatchPending();
            assertTrue(m.log.grepMessages("Request device").getLast().endsWith(
                    "[fault reason 0x02] Present bit in context entry is clear"));
            assertEquals(1, m.mem.read8(0x30_0000L));
            // The domain ID went back to the unit.
            assertEquals(2, s.unitFor(NIC).didsInUse());
        }
    }

    @Test
    void domainIdsStartAfterTheReservedOnes() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            PciDev a = PciDev.of(1, 0, 0), b = PciDev.of(1, 0, 1);
            Domain da = s.allocDomain(Domain.Type.UNMANAGED, a), db = s.allocDomain(Domain.Type.UNMANAGED, b);
            s.attach(a, da);
            s.attach(b, db);
            IntelIommu u = s.unitFor(a);
            assertEquals(2, da.domainId(u));
            assertEquals(3, db.domainId(u));
        }
    }

    @Test
    void mappingBeyondTheDomainWidthIsRefused() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, NIC);
            assertEquals(48, d.gawBits());
            IommuException e = assertThrows(IommuException.class, () -> d.map(1L << 48, 0, 4096, RW));
            assertEquals("EFAULT", e.errno());
        }
    }

    @Test
    void agawIsTheLargestSupportedAtOrBelowTheRequestedWidth() {
        var qemu = new dev.vtd.platform.iommu.regs.Cap(0x00d2008c22260206L);   // SAGAW 39-bit only
        assertEquals(1, IntelIommu.calculateAgaw(qemu, 57));
        assertEquals(2, IntelIommu.calculateAgaw(R630.CAP, 57));
        assertEquals(-1, IntelIommu.calculateAgaw(R630.CAP, 39));
        assertEquals(2, IntelIommu.widthToAgaw(48));
        assertEquals(3, IntelIommu.widthToAgaw(57));
    }
}

package dev.vtd.kernel.dma;

import dev.vtd.kernel.R630;
import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.iommu.FlushQueue;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.PciDev;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StrictAndLazyTest {
    static final PciDev NIC = PciDev.of(0x01, 0x00, 0);
    static final long BUF = 0x0400_0000L;

    @Test
    void inStrictModeNoDeviceAccessSucceedsOnceUnmapReturns() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on iommu.strict=1");
            DmaOps ops = DmaOps.of(s, NIC);
            assertEquals(Domain.Type.DMA, s.domainOf(NIC).type());
            long dma = ops.mapSingle(BUF, 4096, DmaDirection.FROM_DEVICE);
            assertTrue(m.dmar1.writeFully(NIC.requesterId(), dma, new byte[] {1}));   // cached in the IOTLB now
            ops.unmapSingle(dma, 4096, DmaDirection.FROM_DEVICE);
            assertFalse(m.dmar1.writeFully(NIC.requesterId(), dma, new byte[] {2}));
            assertEquals(1, m.mem.read8(BUF));
            assertTrue(s.units().get(1).stats().iotlbPageFlushes() >= 1, "page-selective invalidation was used");
        }
    }

    @Test
    void inLazyModeTheStaleTranslationWorksUntilTheTimedFlushAndItsIovaIsNotReusedBefore() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, NIC);
            Domain d = s.domainOf(NIC);
            assertEquals(Domain.Type.DMA_FQ, d.type());
            long dma = ops.mapSingle(BUF, 4096, DmaDirection.FROM_DEVICE);
            assertTrue(m.dmar1.writeFully(NIC.requesterId(), dma, new byte[] {1}));
            ops.unmapSingle(dma, 4096, DmaDirection.FROM_DEVICE);
            assertEquals(1, d.flushQueue().pending());
            // Stale IOTLB entry: the device can still reach the old buffer (not reused yet).
            assertTrue(m.dmar1.writeFully(NIC.requesterId(), dma, new byte[] {2}));
            long other = ops.mapSingle(BUF + 0x10000, 4096, DmaDirection.FROM_DEVICE);
            assertNotEquals(dma, other, "a queued IOVA is not handed out again before the flush");
            m.clock.step(FlushQueue.DEFAULT_TIMEOUT_NS);
            assertEquals(0, d.flushQueue().pending());
            assertEquals(1, d.flushQueue().timerFlushes());
            assertFalse(m.dmar1.writeFully(NIC.requesterId(), dma, new byte[] {3}));
            assertEquals(2, m.mem.read8(BUF));
            long again = ops.mapSingle(BUF + 0x20000, 4096, DmaDirection.FROM_DEVICE);
            assertEquals(dma, again, "after the flush the range is reused (from the IOVA cache)");
        }
    }

    @Test
    void theFlushQueueAlsoFlushesWhenFull() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.builder("intel_iommu=on").flushQueue(4, FlushQueue.DEFAULT_TIMEOUT_NS).boot();
            DmaOps ops = DmaOps.of(s, NIC);
            Domain d = s.domainOf(NIC);
            for (int i = 0; i < 5; i++) {
                long dma = ops.mapSingle(BUF + i * 4096L, 4096, DmaDirection.TO_DEVICE);
                ops.unmapSingle(dma, 4096, DmaDirection.TO_DEVICE);
            }
            assertEquals(1, d.flushQueue().fullFlushes());
            assertEquals(1, d.flushQueue().pending());
        }
    }

    @Test
    void cachingModeHardwareForcesStrictMode() {
        try (R630 m = new R630(R630.CAP.with(dev.vtd.platform.iommu.regs.Cap.CM, 1), R630.ECAP)) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            assertTrue(s.strict());
            assertEquals(1, m.log.grep("DMAR: IOMMU batching disallowed due to virtualization").size());
            DmaOps ops = DmaOps.of(s, NIC);
            long flushesBefore = s.units().get(1).stats().iotlbPageFlushes();
            ops.mapSingle(BUF, 4096, DmaDirection.TO_DEVICE);
            assertEquals(flushesBefore + 1, s.units().get(1).stats().iotlbPageFlushes(),
                    "with CM a new mapping is invalidated too");
        }
    }
}

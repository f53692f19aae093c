package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.inval.DeviceTlb;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.ContextCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.DeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IecInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidIotlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationQueue;
import dev.vtd.platform.iommu.inval.QueueErrorInfo;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.vtd.platform.iommu.IommuFixture.STATUS;
import static org.junit.jupiter.api.Assertions.*;

/** Queued invalidation (VT-d spec 6.5.2, 11.4.7), one test per rule. */
class QueuedInvalidationTest {
    IommuFixture f = IommuFixture.qemu();

    @AfterEach
    void close() {
        f.close();
    }

    private int iqei() {
        return (int) (f.reg64(Reg.IQERCD) & 0xF);
    }

    @Test
    void qemuS18SequenceQieWaitStatusAndCompletionInterrupt() {
        assertEquals(0x04000000, f.queue.enable());
        f.queue.submit(ContextCacheInvalidate.global(), IotlbInvalidate.global(), InvalidationWait.status(STATUS, 0x1234abcd));
        assertEquals(0x30, f.reg64(Reg.IQH));
        assertEquals(0x30, f.reg64(Reg.IQT));
        assertEquals(0x1234abcd, f.mem.read32(STATUS));
        assertEquals(0, f.reg32(Reg.ICS));
        f.queue.submit(new InvalidationWait(true, false, false, false, 0xCAFEF00D, STATUS + 8));
        assertEquals(1, f.reg32(Reg.ICS));
        assertEquals(0xc0000000, f.reg32(Reg.IECTL));                 // IM still set, IP set
        assertEquals(0, f.mem.read32(STATUS + 8));                      // SW = 0: no status write
        f.unit.write(Reg.ICS, 4, 1);
        assertEquals(0, f.reg32(Reg.ICS));
        assertEquals(0x80000000, f.reg32(Reg.IECTL));                 // W1C of IWC clears IP
        assertEquals(0, f.fsts());
        assertEquals(0, f.queue.disable() & Reg.GSTS_QIES);
        assertEquals(0, f.reg64(Reg.IQH));                              // disabling QIE resets IQH
    }

    @Test
    void resetValueOfIectlHasInterruptMaskSet() {
        assertEquals(Reg.ECTL_IM, f.reg32(Reg.IECTL));
        f.unit.reset();
        assertEquals(Reg.ECTL_IM, f.reg32(Reg.IECTL));
    }

    @Test
    void unmaskedWaitInterruptSendsIedataToIeaddr() {
        f.unit.write(Reg.IEDATA, 4, 0x41);
        f.unit.write(Reg.IEADDR, 4, 0xFEE01000L);
        f.unit.write(Reg.IECTL, 4, 0);
        f.queue.enable();
        f.queue.submit(InvalidationWait.interrupt());
        assertEquals(1, f.recorder.count());
        assertEquals(0x41, f.recorder.delivered().getFirst().vector());
        assertEquals(1, f.recorder.delivered().getFirst().destination());
        assertEquals(0, f.reg32(Reg.IECTL) & Reg.ECTL_IP);
    }

    @Test
    void maskedEventIsSentWhenSoftwareUnmasksIt() {
        f.unit.write(Reg.IEDATA, 4, 0x42);
        f.unit.write(Reg.IEADDR, 4, 0xFEE00000L);
        f.queue.enable();
        f.queue.submit(InvalidationWait.interrupt());
        assertEquals(0, f.recorder.count());
        f.unit.write(Reg.IECTL, 4, 0);
        assertEquals(1, f.recorder.count());
        assertEquals(0, f.reg32(Reg.IECTL));
    }

    @Test
    void waitWithIwcAlreadySetIsNotANewEvent() {
        f.unit.write(Reg.IECTL, 4, 0);
        f.unit.write(Reg.IEADDR, 4, 0xFEE00000L);
        f.queue.enable();
        f.queue.submit(InvalidationWait.interrupt());
        f.queue.submit(InvalidationWait.interrupt());
        assertEquals(1, f.recorder.count());
    }

    @Test
    void queueIsNotProcessedWhileDisabledAndStartsOnEnable() {
        f.unit.write(Reg.IQA, 8, IommuFixture.IQ_BASE);
        long[] d = InvalidationWait.status(STATUS, 7).encode();
        f.mem.write64(IommuFixture.IQ_BASE, d[0]);
        f.mem.write64(IommuFixture.IQ_BASE + 8, d[1]);
        f.unit.write(Reg.IQT, 8, 0x10);
        assertEquals(0, f.mem.read32(STATUS));
        GlobalCommand.set(f.unit, Reg.GCMD_QIE, true);
        assertEquals(7, f.mem.read32(STATUS));
        assertEquals(0x10, f.reg64(Reg.IQH));
    }

    @Test
    void iqhWrapsAroundTheEndOfTheQueue() {
        f.queue.enable();
        for (int i = 0; i < 256 + 3; i++) f.queue.submit(InvalidationWait.status(STATUS, i));
        assertEquals(3 * 16, f.reg64(Reg.IQH));
        assertEquals(258, f.mem.read32(STATUS));
        assertEquals(259, f.iommu.queue().stats().waitsCompleted());
    }

    @Test
    void statusWriteOutsideRamIsDroppedAndTheQueueGoesOn() {
        f.queue.enable();
        f.queue.submit(InvalidationWait.status(0x3000_0000L, 1), InvalidationWait.status(STATUS, 2));
        assertEquals(2, f.mem.read32(STATUS));
        assertEquals(0, f.fsts());
    }

    // ---- caches --------------------------------------------------------------------------------

    private long mapOnePage(int sid, int did, long iova, long pa) {
        long pt = f.context(sid, did);
        f.tables.map(pt, f.levels(), iova, pa, 12, true, true);
        return pt;
    }

    @Test
    void iotlbEntryStaysStaleUntilADomainInvalidationThroughTheQueue() {
        long pt = mapOnePage(IommuFixture.SID, 3, 0x1000, 0x80_0000);
        f.enableTranslation();
        f.queue.enable();
        assertEquals(0x80_0000, f.unit.translateAddress(IommuFixture.SID, 0x1000, false));
        f.tables.map(pt, f.levels(), 0x1000, 0x90_0000, 12, true, true);
        assertEquals(0x80_0000, f.unit.translateAddress(IommuFixture.SID, 0x1000, false));
        f.queue.submit(IotlbInvalidate.domain(4), InvalidationWait.status(STATUS, 1));
        assertEquals(0x80_0000, f.unit.translateAddress(IommuFixture.SID, 0x1000, false));   // other domain
        f.queue.submit(IotlbInvalidate.domain(3), InvalidationWait.status(STATUS, 2));
        assertEquals(0x90_0000, f.unit.translateAddress(IommuFixture.SID, 0x1000, false));
    }

    @Test
    void pageSelectiveIotlbInvalidationRemovesOnlyTheMaskedRange() {
        long pt = f.context(IommuFixture.SID, 1);
        for (int i = 0; i < 4; i++) f.tables.map(pt, f.levels(), 0x10000 + i * 0x1000L, 0x80_0000 + i * 0x1000L, 12, true, true);
        f.enableTranslation();
        f.queue.enable();
        for (int i = 0; i < 4; i++) f.unit.translateAddress(IommuFixture.SID, 0x10000 + i * 0x1000L, false);
        assertEquals(4, f.unit.iotlb().size());
        f.queue.submit(IotlbInvalidate.page(1, 0x10000, 1, false));     // AM = 1: two pages
        assertEquals(2, f.unit.iotlb().size());
    }

    @Test
    void contextCacheDeviceInvalidationHonoursTheFunctionMask() {
        for (int fn = 0; fn < 4; fn++) mapOnePage(0x0100 | fn, 1, 0x1000, 0x80_0000);
        f.enableTranslation();
        f.queue.enable();
        for (int fn = 0; fn < 4; fn++) f.unit.translateAddress(0x0100 | fn, 0x1000, false);
        assertEquals(4, f.unit.contextCache().size());
        f.queue.submit(ContextCacheInvalidate.device(1, 0x0100, 0));     // FM 0: exactly 01:00.0
        assertEquals(3, f.unit.contextCache().size());
        f.queue.submit(ContextCacheInvalidate.device(1, 0x0100, 3));     // FM 3: all eight functions
        assertEquals(0, f.unit.contextCache().size());
    }

    @Test
    void contextCacheDomainInvalidationSparesOtherDomains() {
        mapOnePage(0x0100, 1, 0x1000, 0x80_0000);
        mapOnePage(0x0200, 2, 0x1000, 0x80_0000);
        f.enableTranslation();
        f.queue.enable();
        f.unit.translateAddress(0x0100, 0x1000, false);
        f.unit.translateAddress(0x0200, 0x1000, false);
        f.queue.submit(ContextCacheInvalidate.domain(2));
        assertEquals(1, f.unit.contextCache().size());
        assertEquals(1, f.unit.contextCache().snapshot().getFirst().domainId());
    }

    @Test
    void registerBasedInvalidationIsIgnoredWhileQueuedInvalidationIsEnabled() {
        long pt = mapOnePage(IommuFixture.SID, 1, 0x1000, 0x80_0000);
        f.enableTranslation();
        f.queue.enable();
        f.unit.translateAddress(IommuFixture.SID, 0x1000, false);
        int iro = f.unit.ecap().iroBytes();
        f.unit.write(iro + 8, 8, Reg.IOTLB_IVT | (1L << Reg.IOTLB_IIRG_SHIFT));
        assertEquals(1, f.unit.iotlb().size());
    }

    // ---- invalid descriptors (IQE) -----------------------------------------------------------

    private void assertQueueErrorAt(long head, QueueErrorInfo why) {
        assertNotEquals(0, f.fsts() & Reg.FSTS_IQE, "FSTS.IQE");
        assertEquals(head, f.reg64(Reg.IQH), "IQH stays at the bad descriptor");
        assertEquals(why.code, iqei(), "IQERCD.IQEI");
    }

    @Test
    void reservedGranularityStopsTheQueueWithIqhAtTheBadDescriptor() {
        f.queue.enable();
        f.queue.submit(InvalidationWait.status(STATUS, 1));
        f.queue.submitRaw(InvalidationDescriptor.TYPE_CONTEXT_CACHE, 0);         // G = 00 reserved
        f.queue.submit(InvalidationWait.status(STATUS, 2));
        assertQueueErrorAt(0x10, QueueErrorInfo.RESERVED_FIELD);
        assertEquals(1, f.mem.read32(STATUS));                                    // the wait behind it did not run
    }

    @Test
    void unknownDescriptorTypeIsAnInvalidType() {
        f.queue.enable();
        f.queue.submitRaw(0xF, 0);
        assertQueueErrorAt(0, QueueErrorInfo.INVALID_TYPE);
        f.unit.write(Reg.FSTS, 4, Reg.FSTS_IQE);
    }

    @Test
    void typeHighBitsMakeAnUnknownType() {
        f.queue.enable();
        f.queue.submitRaw(InvalidationDescriptor.TYPE_WAIT | (1L << 9) | (1L << 5), STATUS);
        assertQueueErrorAt(0, QueueErrorInfo.INVALID_TYPE);
    }

    @Test
    void scalableModeDescriptorsAreInvalidWithoutSmts() {
        for (long q0 : new long[]{new PasidIotlbInvalidate(2, 1, 5, 0, 0, false).encode()[0],
                new PasidCacheInvalidate(3, 0, 0).encode()[0], 0x8, 0x9, 0xA}) {
            try (IommuFixture g = IommuFixture.qemu()) {
                g.queue.enable();
                g.queue.submitRaw(q0, 0);
                assertNotEquals(0, g.fsts() & Reg.FSTS_IQE, String.format("type 0x%x", q0 & 0xF));
                assertEquals(QueueErrorInfo.INVALID_TYPE.code, (int) (g.reg64(Reg.IQERCD) & 0xF));
            }
        }
    }

    @Test
    void withSmtsPasidCacheAndPasidIotlbDescriptorsAreAcceptedAndSpareDomainTaggedEntries() {
        try (IommuFixture g = new IommuFixture(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP.with(Ecap.SMTS, 1))) {
            long pt = g.context(IommuFixture.SID, 1);
            g.tables.map(pt, g.levels(), 0x1000, 0x80_0000, 12, true, true);
            g.enableTranslation();
            g.queue.enable();
            g.unit.translateAddress(IommuFixture.SID, 0x1000, false);
            g.queue.submit(new PasidCacheInvalidate(PasidCacheInvalidate.G_GLOBAL, 0, 0),
                    new PasidIotlbInvalidate(PasidIotlbInvalidate.G_PAGE, 1, 0, 0x1000, 0, false),
                    InvalidationWait.status(STATUS, 9));
            assertEquals(0, g.fsts());
            assertEquals(9, g.mem.read32(STATUS));
            // 6.5.2.4: P_IOTLB scopes first-stage and nested (PASID-tagged) mappings only.
            assertEquals(1, g.unit.iotlb().size());
        }
    }

    @Test
    void reservedBitsInEveryDescriptorTypeAreInvalid() {
        // One reserved bit per type, in qword 0 and in qword 1.
        long[][] bad = {
                {ContextCacheInvalidate.global().encode()[0] | (1L << 8), 0},
                {ContextCacheInvalidate.global().encode()[0] | (1L << 60), 0},
                {ContextCacheInvalidate.global().encode()[0], 1},
                {IotlbInvalidate.global().encode()[0] | (1L << 40), 0},
                {IotlbInvalidate.global().encode()[0] | (1L << 8), 0},
                {IotlbInvalidate.page(1, 0, 0, false).encode()[0], 1L << 8},
                {IecInvalidate.global().encode()[0] | (1L << 20), 0},
                {IecInvalidate.global().encode()[0] | (1L << 50), 0},
                {IecInvalidate.global().encode()[0], 1L << 63},
                {InvalidationWait.status(STATUS, 0).encode()[0] | (1L << 12), STATUS},
                {InvalidationWait.status(STATUS, 0).encode()[0], STATUS | 1},
                {InvalidationWait.status(STATUS, 0).encode()[0] | (1L << 7), STATUS},     // PD without ECAP.PDS
                {InvalidationWait.status(STATUS, 0).encode()[0], 1L << 60},              // status address above HAW
        };
        for (long[] d : bad) {
            try (IommuFixture g = IommuFixture.qemu()) {
                g.queue.enable();
                g.queue.submitRaw(d[0], d[1]);
                String what = String.format("descriptor 0x%x 0x%x", d[0], d[1]);
                assertNotEquals(0, g.fsts() & Reg.FSTS_IQE, what);
                assertEquals(QueueErrorInfo.RESERVED_FIELD.code, (int) (g.reg64(Reg.IQERCD) & 0xF), what);
                assertEquals(0, g.reg64(Reg.IQH), what);
            }
        }
    }

    @Test
    void pageSelectiveIotlbWithAddressMaskAboveMamvIsInvalid() {
        f.queue.enable();
        f.queue.submit(IotlbInvalidate.page(1, 0, f.unit.cap().mamv() + 1, false));
        assertQueueErrorAt(0, QueueErrorInfo.RESERVED_FIELD);
    }

    @Test
    void deviceTlbDescriptorWithoutEcapDtIsAnInvalidType() {
        f.queue.enable();
        f.queue.submit(new DeviceTlbInvalidate(0x20, 0x20, 0, 0x1000, false));
        assertQueueErrorAt(0, QueueErrorInfo.INVALID_TYPE);
    }

    @Test
    void iecDescriptorWithoutEcapIrIsAnInvalidType() {
        try (IommuFixture g = new IommuFixture(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP.with(Ecap.IR, 0))) {
            g.queue.enable();
            g.queue.submit(IecInvalidate.global());
            assertNotEquals(0, g.fsts() & Reg.FSTS_IQE);
            assertEquals(QueueErrorInfo.INVALID_TYPE.code, (int) (g.reg64(Reg.IQERCD) & 0xF));
        }
    }

    @Test
    void clearingIqeResumesProcessingAtIqhOnceSoftwareRepairedTheDescriptor() {
        f.queue.enable();
        f.queue.submit(InvalidationWait.status(STATUS, 1));
        f.queue.submitRaw(0xF, 0);
        f.queue.submit(InvalidationWait.status(STATUS, 3));
        assertQueueErrorAt(0x10, QueueErrorInfo.INVALID_TYPE);
        // IQE is pending: a new tail write does not restart the queue.
        f.queue.submit(InvalidationWait.status(STATUS, 4));
        assertEquals(1, f.mem.read32(STATUS));
        long[] fix = InvalidationWait.status(STATUS, 2).encode();
        f.queue.rewrite(0x10, fix[0], fix[1]);
        f.unit.write(Reg.FSTS, 4, Reg.FSTS_IQE);
        assertEquals(0, f.fsts() & Reg.FSTS_IQE);
        assertEquals(0x40, f.reg64(Reg.IQH));
        assertEquals(4, f.mem.read32(STATUS));
    }

    @Test
    void queueErrorRaisesTheFaultEventWhenUnmasked() {
        f.unit.write(Reg.FEDATA, 4, 0x51);
        f.unit.write(Reg.FEADDR, 4, 0xFEE00000L);
        f.unit.write(Reg.FECTL, 4, 0);
        f.queue.enable();
        f.queue.submitRaw(0xF, 0);
        assertEquals(1, f.recorder.count());
        assertEquals(0x51, f.recorder.delivered().getFirst().vector());
    }

    @Test
    void queueInMemoryThatIsNotRamIsAFetchError() {
        f.unit.write(Reg.IQA, 8, 0x3000_0000L);
        GlobalCommand.set(f.unit, Reg.GCMD_QIE, true);
        f.unit.write(Reg.IQT, 8, 0x10);
        assertQueueErrorAt(0, QueueErrorInfo.FETCH_ERROR);
    }

    @Test
    void tailBeyondTheQueueSizeIsAnInvalidTail() {
        f.queue.enable();
        f.unit.write(Reg.IQT, 8, 0x1000);                 // QS = 0: 4 KiB, 256 entries
        assertQueueErrorAt(0, QueueErrorInfo.INVALID_TAIL);
    }

    @Test
    void descriptorWidthBitIsReservedWithoutSmts() {
        f.unit.write(Reg.IQA, 8, IommuFixture.IQ_BASE | InvalidationQueue.IQA_DW | 1);
        assertEquals(IommuFixture.IQ_BASE | 1, f.reg64(Reg.IQA));
    }

    @Test
    void wideQueueProcesses256BitDescriptorsAndRejectsTailBit4() {
        try (IommuFixture g = new IommuFixture(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP.with(Ecap.SMTS, 1), true, 7)) {
            g.queue.enable();
            g.queue.submit(IotlbInvalidate.global(), InvalidationWait.status(STATUS, 5));
            assertEquals(0x40, g.reg64(Reg.IQH));
            assertEquals(5, g.mem.read32(STATUS));
            long[] w = InvalidationWait.status(STATUS, 6).encode();
            g.queue.submitRaw(w[0], w[1], 1, 0);                                // upper 128 bits reserved
            assertEquals(QueueErrorInfo.RESERVED_FIELD.code, (int) (g.reg64(Reg.IQERCD) & 0xF));
            g.queue.rewrite(0x40, w[0], w[1]);
            g.unit.write(Reg.FSTS, 4, Reg.FSTS_IQE);                             // resumes at IQH = 0x40
            assertEquals(0x60, g.reg64(Reg.IQH));
            assertEquals(6, g.mem.read32(STATUS));
            g.unit.write(Reg.IQT, 8, 0x70);                                      // bit 4 set with DW = 1
            assertNotEquals(0, g.fsts() & Reg.FSTS_IQE);
            assertEquals(QueueErrorInfo.INVALID_TAIL.code, (int) (g.reg64(Reg.IQERCD) & 0xF));
        }
    }

    @Test
    void narrowQueueWithScalableModeRootTableIsAnInvalidWidth() {
        try (IommuFixture g = new IommuFixture(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP.with(Ecap.SMTS, 1))) {
            g.unit.write(Reg.RTADDR, 8, g.tables.rootTable() | (1L << Reg.RTADDR_TTM_SHIFT));
            GlobalCommand.oneShot(g.unit, Reg.GCMD_SRTP);
            g.queue.enable();
            g.queue.submit(InvalidationWait.status(STATUS, 1));
            assertNotEquals(0, g.fsts() & Reg.FSTS_IQE);
            assertEquals(QueueErrorInfo.INVALID_WIDTH.code, (int) (g.reg64(Reg.IQERCD) & 0xF));
        }
    }

    // ---- device-TLB invalidation -------------------------------------------------------------

    @Test
    void deviceTlbInvalidationReachesTheRegisteredDeviceTlbWithItsRange() {
        try (IommuFixture g = IommuFixture.r630()) {
            List<DeviceTlb.DeviceTlbInvalidationRequest> seen = new ArrayList<>();
            g.iommu.deviceTlbs().register(0x0300, r -> {
                seen.add(r);
                return DeviceTlb.Completion.DONE;
            });
            g.queue.enable();
            // S = 1 with ADDR bits 12 and 13 set (bit 14 clear): a 32 KiB range at 0x40000.
            g.queue.submit(new DeviceTlbInvalidate(0x0300, 0x0300, 0, 0x43000, true),
                    new DeviceTlbInvalidate(0x0400, 0x0400, 0, 0x1000, false), InvalidationWait.status(STATUS, 1));
            assertEquals(1, seen.size());
            assertEquals(0x40000, seen.getFirst().address());
            assertEquals(0x8000, seen.getFirst().size());
            assertEquals(1, g.mem.read32(STATUS));
            assertEquals(0, g.fsts());
        }
    }

    @Test
    void deviceTlbTimeoutSetsIteWithItsSourceIdAndAbortsTheWait() {
        try (IommuFixture g = IommuFixture.r630()) {
            g.iommu.deviceTlbs().register(0x0300, r -> DeviceTlb.Completion.TIMEOUT);
            g.queue.enable();
            g.queue.submit(new DeviceTlbInvalidate(0x0300, 0x0300, 0, 0x1000, false), InvalidationWait.status(STATUS, 1));
            assertNotEquals(0, g.fsts() & Reg.FSTS_ITE);
            assertEquals(0x0300, (g.reg64(Reg.IQERCD) >>> InvalidationQueue.IQERCD_ITESID_SHIFT) & 0xFFFF);
            assertEquals(0, g.mem.read32(STATUS));                       // aborted wait: no status write
            assertEquals(0x20, g.reg64(Reg.IQH));
            g.unit.write(Reg.FSTS, 4, Reg.FSTS_ITE);
            g.queue.submit(InvalidationWait.status(STATUS, 2));
            assertEquals(2, g.mem.read32(STATUS));
        }
    }

    @Test
    void deviceTlbBadCompletionSetsIceWithItsSourceIdAndTheQueueGoesOn() {
        try (IommuFixture g = IommuFixture.r630()) {
            g.iommu.deviceTlbs().register(0x0508, r -> DeviceTlb.Completion.ERROR);
            g.queue.enable();
            g.queue.submit(new DeviceTlbInvalidate(0x0508, 0x0508, 0, 0x1000, false), InvalidationWait.status(STATUS, 1));
            assertNotEquals(0, g.fsts() & Reg.FSTS_ICE);
            assertEquals(0x0508, (g.reg64(Reg.IQERCD) >>> InvalidationQueue.IQERCD_ICESID_SHIFT) & 0xFFFF);
            assertEquals(1, g.mem.read32(STATUS));
        }
    }
}

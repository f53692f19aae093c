package dev.vtd.platform.iommu;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.DeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PageGroupResponse;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidDeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidIotlbInvalidate;
import dev.vtd.platform.iommu.prq.PageRequestDescriptor;
import dev.vtd.platform.iommu.prq.PageRequestQueue;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.pci.AtsEndpoint;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/** ATS (VT-d spec chapter 4) and page requests (7.5): device-TLBs, translated requests, fault and resume. */
class AtsPageRequestTest {
    static final int SID = SmFixture.SID;
    static final int PASID = 0x21;
    static final int DID = 4;
    static final long VA = 0x5555_0000_0000L;
    static final long PA = 0x0280_0000L;
    static final long PE_ADDR = 0xFEE0_0000L, PE_DATA = 0x4071;

    private static AtsEndpoint svaSetup(SmFixture s, long[] flOut) {
        s.context(SID, 0);
        long fl = s.flRoot();
        flOut[0] = fl;
        s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
        s.enable();
        s.enableQueue();
        s.unit.write(Reg.PQA, 8, SmFixture.PRQ_BASE);
        s.unit.write(Reg.PEADDR, 4, PE_ADDR);
        s.unit.write(Reg.PEDATA, 4, PE_DATA);
        s.unit.write(Reg.PECTL, 4, 0);
        AtsEndpoint dev = new AtsEndpoint(SID, s.unit, 64);
        s.iommu.deviceTlbs().register(SID, dev);
        dev.enablePageRequests(true);
        return dev;
    }

    @Test
    void aDeviceFaultsOnAnAbsentPageTheOsMapsItAndRespondsAndTheRetrySucceeds() {
        try (SmFixture s = new SmFixture()) {
            long[] fl = new long[1];
            AtsEndpoint dev = svaSetup(s, fl);
            byte[] data = {9, 8, 7, 6, 5, 4, 3, 2};
            MemorySegment buf = MemorySegment.ofArray(data);

            // 1. The device's translation finds no page: it sends a page request instead of faulting.
            assertEquals(0, dev.dma(PASID, false, VA + 0x40, buf, 0, data.length, true));
            assertEquals(0, s.unit.faults().history().size(), "a not-present translation is not a fault");
            assertEquals(PageRequestQueue.PRS_PPR, s.unit.read(Reg.PRS, 4));
            assertEquals(0x20, s.unit.read(Reg.PQT, 8));
            assertEquals(1, s.irq.count(), "page request event");
            assertEquals(PE_ADDR, s.irq.delivered().getFirst().address());

            // 2. The OS reads the request from the queue ...
            long a = SmFixture.PRQ_BASE;
            PageRequestDescriptor d = PageRequestDescriptor.decode(s.mem.read64(a), s.mem.read64(a + 8),
                    s.mem.read64(a + 16), s.mem.read64(a + 24));
            assertEquals(SID, d.requesterId());
            assertTrue(d.pasidPresent());
            assertEquals(PASID, d.pasid());
            assertEquals(VA, d.address());
            assertTrue(d.write());
            assertTrue(d.lastInGroup());
            // ... maps the page, consumes the request, and answers the group.
            s.tables.mapFirstStage(fl[0], 4, VA, PA, 12, true, true, false);
            s.unit.write(Reg.PQH, 8, s.unit.read(Reg.PQT, 8));
            s.unit.write(Reg.PRS, 4, PageRequestQueue.PRS_PPR);
            s.queue.submit(PageGroupResponse.of(SID, PASID, PageGroupResponse.SUCCESS, d.groupIndex()),
                    InvalidationWait.status(SmFixture.STATUS, 1));
            assertEquals(0, s.fsts());
            assertEquals(1, dev.responses().size());
            assertEquals(PageGroupResponse.SUCCESS, dev.responses().getFirst().responseCode());
            assertTrue(dev.outstandingPageRequests().isEmpty());

            // 3. The device retries and its DMA lands in the page the OS mapped.
            assertEquals(data.length, dev.dma(PASID, false, VA + 0x40, buf, 0, data.length, true));
            assertEquals(0x0203040506070809L, s.mem.read64(PA + 0x40));
            assertEquals(FlPte.A | FlPte.D, s.mem.read64(s.tables.firstStageEntryAddress(fl[0], 4, VA, 1))
                    & (FlPte.A | FlPte.D), "a translation request for a write sets D");
        }
    }

    @Test
    void pasidDeviceTlbInvalidationThroughTheQueueRemovesTheEndpointsTranslation() {
        try (SmFixture s = new SmFixture()) {
            long[] fl = new long[1];
            AtsEndpoint dev = svaSetup(s, fl);
            long leaf = s.tables.mapFirstStage(fl[0], 4, VA, PA, 12, true, true, false);
            byte[] b = new byte[8];
            assertEquals(8, dev.dma(PASID, false, VA, MemorySegment.ofArray(b), 0, 8, false));
            assertEquals(1, dev.entries().size());
            // Retarget the page; invalidate IOTLB and device-TLB for the PASID.
            s.mem.write64(leaf, FlPte.leaf(PA + 0x1000, true, true, false, false));
            s.mem.write64(PA + 0x1000, 0x1122334455667788L);
            s.queue.submit(new PasidIotlbInvalidate(PasidIotlbInvalidate.G_PASID, DID, PASID, 0, 0, false),
                    new PasidDeviceTlbInvalidate(SID, 0, 0, PASID, VA, false, false),
                    InvalidationWait.status(SmFixture.STATUS, 2));
            assertEquals(0, s.fsts());
            assertEquals(2, s.mem.read32(SmFixture.STATUS));
            assertTrue(dev.entries().isEmpty());
            assertEquals(8, dev.dma(PASID, false, VA, MemorySegment.ofArray(b), 0, 8, false));
            assertEquals(0x88, b[0] & 0xFF);
        }
    }

    @Test
    void translationRequestsNeedDteAndTranslatedRequestsAreCheckedAgainstTheContext() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, dev.vtd.platform.iommu.tables.SmContextEntry.of(s.pasidDir, 0, 0).withPasidEnable(true));
            s.pasid(PASID, PasidEntry.firstStage(DID, s.flRoot(), false));
            s.enable();
            assertFalse(s.unit.translate(SID, PASID, VA, false, false, false).ok());
            assertEquals(FaultReason.SM_DTE_CLEAR.code, s.reason(0));
            assertEquals(1, (s.frcdHi(0) >>> Reg.FRCD_HI_AT_SHIFT) & 3, "AT = 01b, translation request");
            assertEquals(0, s.unit.writeTranslated(SID, PA, MemorySegment.ofArray(new byte[4]), 0, 4));
            assertEquals(FaultReason.SM_DTE_CLEAR.code, s.lastReason());
        }
        try (UnitFixture f = new UnitFixture()) {
            f.tables.setContext(0x0100, ContextEntry.translated(1, f.tables.allocPage(), 2));
            f.tables.setContext(0x0108, ContextEntry.translated(1, f.tables.allocPage(), 2)
                    .withTranslationType(ContextEntry.TT_DEVICE_TLB));
            f.enable();
            MemorySegment four = MemorySegment.ofArray(new byte[] {1, 2, 3, 4});
            assertEquals(0, f.unit.writeTranslated(0x0100, PA, four, 0, 4));
            assertEquals(FaultReason.TRANSLATION_BLOCKED.code, f.faultReason(0));
            assertEquals(4, f.unit.writeTranslated(0x0108, PA, four, 0, 4));
            assertEquals(0x04030201, f.mem.read32(PA));
        }
    }

    @Test
    void aTranslationRequestForAnAbsentPageCompletesWithNoAccessAndNoFault() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            s.pasid(PASID, PasidEntry.firstStage(DID, s.flRoot(), false).withPwsnp(true));
            s.enable();
            AtsPort.Completion c = s.unit.translate(SID, PASID, VA, true, false, false);
            assertTrue(c.ok());
            assertFalse(c.read());
            assertFalse(c.write());
            assertEquals(0, s.faultCount());
        }
    }

    @Test
    void aFullPageRequestQueueSetsProAndTheUnitAnswersTheGroupItself() {
        try (SmFixture s = new SmFixture()) {
            AtsEndpoint dev = svaSetup(s, new long[1]);
            s.unit.write(Reg.PECTL, 4, Reg.ECTL_IM);
            // 4 KiB queue: 128 slots, of which 127 can be filled (full when tail + 1 == head).
            for (int i = 0; i < 127; i++) s.unit.pageRequest(SID, PASID, VA + i * 4096L, true, false, false, false, true, i);
            assertEquals(PageRequestQueue.PRS_PPR, s.unit.read(Reg.PRS, 4));
            s.unit.pageRequest(SID, PASID, VA, true, false, false, false, true, 200);
            assertEquals(PageRequestQueue.PRS_PPR | PageRequestQueue.PRS_PRO, s.unit.read(Reg.PRS, 4));
            assertEquals(1, dev.responses().size());
            assertEquals(200, dev.responses().getFirst().groupIndex());
            assertEquals(PageGroupResponse.SUCCESS, dev.responses().getFirst().responseCode());
            assertEquals(Reg.ECTL_IM | Reg.ECTL_IP, (int) s.unit.read(Reg.PECTL, 4));
        }
    }

    @Test
    void legacyDeviceTlbInvalidationReachesTheEndpoint() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x7000, PA, 12, true, true);
            s.pasid(0, PasidEntry.secondStage(DID, sl, 2));
            s.enable();
            s.enableQueue();
            AtsEndpoint dev = new AtsEndpoint(SID, s.unit, 8);
            s.iommu.deviceTlbs().register(SID, dev);
            byte[] b = new byte[4];
            assertEquals(4, dev.dma(AtsPort.NO_PASID, false, 0x7000, MemorySegment.ofArray(b), 0, 4, false));
            assertEquals(1, dev.entries().size());
            s.queue.submit(new DeviceTlbInvalidate(SID, 0, 0, 0x7000, false), InvalidationWait.status(SmFixture.STATUS, 3));
            assertTrue(dev.entries().isEmpty());
            assertEquals(1, dev.stats().invalidations());
        }
    }
}

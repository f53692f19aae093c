package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidIotlbInvalidate;
import dev.vtd.platform.iommu.inval.QueueErrorInfo;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The PASID cache and PASID-tagged IOTLB with their 256-bit invalidation descriptors (VT-d spec 6.2.2, 6.5.2.2, 6.5.2.4). */
class ScalableCacheInvalidationTest {
    static final int SID = SmFixture.SID;
    static final int DID = 5;
    static final long VA = 0x10_0000_0000L;
    static final long PA = 0x0200_0000L;

    @Test
    void pasidEntriesAreCachedUntilAPasidCacheInvalidationOfTheirDomainAndPasid() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, PA, 12, true, true, false);
            s.pasid(1, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.pasid(2, PasidEntry.firstStage(DID + 1, fl, false).withPwsnp(true));
            s.enable();
            s.enableQueue();
            s.tr(1, VA, false, false);
            s.tr(2, VA, false, false);
            assertEquals(2, s.unit.pasidCache().size());
            s.queue.submit(new PasidCacheInvalidate(PasidCacheInvalidate.G_PASID, DID, 2));
            assertEquals(2, s.unit.pasidCache().size(), "PASID 2 is in domain 6, not 5");
            s.queue.submit(new PasidCacheInvalidate(PasidCacheInvalidate.G_PASID, DID, 1));
            assertEquals(1, s.unit.pasidCache().size());
            s.queue.submit(new PasidCacheInvalidate(PasidCacheInvalidate.G_DOMAIN, DID + 1, 0));
            assertEquals(0, s.unit.pasidCache().size());
            s.tr(1, VA, false, false);
            s.queue.submit(new PasidCacheInvalidate(PasidCacheInvalidate.G_GLOBAL, 0, 0));
            assertEquals(0, s.unit.pasidCache().size());
            assertEquals(0, s.fsts());
        }
    }

    @Test
    void pasidBasedIotlbInvalidationScopesFirstStageMappingsOfOnePasid() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, PA, 12, true, true, false);
            long global = s.tables.mapFirstStage(fl, 4, VA + 0x1000, PA + 0x1000, 12, true, true, false);
            s.mem.write64(global, s.mem.read64(global) | FlPte.G);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, PA, 12, true, true);
            s.pasid(0, PasidEntry.secondStage(DID, sl, 2));
            s.pasid(1, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.pasid(2, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.enable();
            s.enableQueue();
            s.tr(1, VA, false, false);
            s.tr(1, VA + 0x1000, false, false);
            s.tr(2, VA, false, false);
            s.unit.translateAddress(SID, 0x1000, false);                            // second-stage, RID_PASID 0
            assertEquals(4, s.unit.iotlb().size());
            s.queue.submit(new PasidIotlbInvalidate(PasidIotlbInvalidate.G_PASID, DID, 1, 0, 0, false));
            assertEquals(3, s.unit.iotlb().size(), "PASID 1's non-global entry only");
            s.queue.submit(new PasidIotlbInvalidate(PasidIotlbInvalidate.G_PAGE, DID, 1, VA + 0x1000, 0, false));
            assertEquals(2, s.unit.iotlb().size(), "page-selective removes the global entry too");
            s.queue.submit(new PasidIotlbInvalidate(PasidIotlbInvalidate.G_PASID, DID, 0, 0, 0, false));
            assertEquals(2, s.unit.iotlb().size(), "second-stage-only entries are not P_IOTLB's scope");
            s.queue.submit(IotlbInvalidate.domain(DID));
            assertEquals(0, s.unit.iotlb().size());
        }
    }

    /** Conformance scenario s31 (QEMU 7.2, x-scalable-mode=on) on the same programming. */
    @Test
    void s31SecondStageStaysAfterPIotlbAndPasidCacheInvalidationUntilAnIotlbInvalidation() {
        try (SmFixture s = SmFixture.qemu()) {
            long a = 0x47_1000L, b = 0x47_2000L, c = 0x47_3000L, x = 0x0900_0000L;
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0));
            long pt = s.slRoot();
            long leaf = s.tables.secondStage().map(pt, 3, x, a, 12, true, true);
            long pt2 = s.slRoot();
            s.tables.secondStage().map(pt2, 3, x, c, 12, true, true);
            s.pasid(0, PasidEntry.secondStage(DID, pt, 1));
            s.enable();
            s.enableQueue();
            s.queue.submit(new PasidCacheInvalidate(3, 0, 0), new PasidCacheInvalidate(1, DID, 0),
                    new PasidCacheInvalidate(0, DID, 0), InvalidationWait.status(SmFixture.STATUS, 0xA1));
            assertEquals(0x80, s.unit.read(Reg.IQH, 8));
            assertEquals(a, s.unit.translateAddress(SID, x, true));
            s.mem.write64(leaf, b | 3);
            s.queue.submit(new PasidIotlbInvalidate(3, DID, 0, x, 0, false), new PasidIotlbInvalidate(2, DID, 0, 0, 0, false));
            assertEquals(a, s.unit.translateAddress(SID, x, true), "stale: P_IOTLB does not scope second-stage mappings");
            s.queue.submit(IotlbInvalidate.page(DID, x, 0, false));
            assertEquals(b, s.unit.translateAddress(SID, x, true));
            s.pasid(0, PasidEntry.secondStage(DID, pt2, 1));
            s.queue.submit(new PasidCacheInvalidate(1, DID, 0));
            assertEquals(b, s.unit.translateAddress(SID, x, true), "stale IOTLB entry after a PASID-cache invalidation");
            s.queue.submit(IotlbInvalidate.domain(DID));
            assertEquals(c, s.unit.translateAddress(SID, x, true));
            long head = s.unit.read(Reg.IQH, 8);
            // IQT with bit 4 set while DW = 1: invalid tail (spec 6.5.2.10; QEMU ignores it).
            s.unit.write(Reg.IQT, 8, head | 0x10);
            assertEquals(Reg.FSTS_IQE, s.fsts());
            assertEquals(QueueErrorInfo.INVALID_TAIL.code, s.unit.read(Reg.IQERCD, 8) & 0xF);
            assertEquals(head, s.unit.read(Reg.IQH, 8));
            assertEquals(0, s.faultCount());
        }
    }

    /** Conformance scenario s27: the IOTLB is tagged with the PASID entry's DID. */
    @Test
    void s27DomainSelectiveInvalidationMustNameThePasidEntrysDomain() {
        try (SmFixture s = SmFixture.qemu()) {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0x41));
            long pt = s.slRoot();
            long leaf = s.tables.secondStage().map(pt, 3, 0x0500_2000L, 0x43_1000L, 12, true, true);
            s.pasid(0x41, PasidEntry.secondStage(5, pt, 1));
            s.enable();
            s.enableQueue();
            assertEquals(0x43_1000L, s.unit.translateAddress(SID, 0x0500_2000L, true));
            s.mem.write64(leaf, 0x43_2000L | 3);
            s.queue.submit(IotlbInvalidate.domain(1), InvalidationWait.status(SmFixture.STATUS, 0x11));
            assertEquals(0x43_1000L, s.unit.translateAddress(SID, 0x0500_2000L, true));
            s.queue.submit(IotlbInvalidate.domain(5), InvalidationWait.status(SmFixture.STATUS + 4, 0x55));
            assertEquals(0x43_2000L, s.unit.translateAddress(SID, 0x0500_2000L, true));
            assertEquals(0x80, s.unit.read(Reg.IQH, 8));
            assertEquals(0, s.fsts());
        }
    }

    @Test
    void aMruTranslationIsNotUsedAcrossAModeSwitch() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, PA, 12, true, true);
            s.pasid(0, PasidEntry.secondStage(DID, sl, 2));
            s.enable();
            assertEquals(PA, s.unit.translateAddress(SID, 0x1000, false));
            s.unit.write(Reg.RTADDR, 8, s.tables.rootTable());                     // TTM 00b: legacy tables
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            assertFalse(s.unit.scalableMode());
            assertTrue(s.unit.translateAddress(SID, 0x1000, false) < 0, "the legacy walk sees no valid context");
        }
    }
}

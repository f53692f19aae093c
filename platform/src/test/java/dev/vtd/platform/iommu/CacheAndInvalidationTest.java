package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.RemappingUnit.Access;
import dev.vtd.platform.iommu.cache.IotlbEntry;
import dev.vtd.platform.iommu.cache.SetAssociativeCache;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Context cache, IOTLB and register-based invalidation (VT-d spec 6.1, 6.5.1, 11.4.7, 11.4.8). */
class CacheAndInvalidationTest {
    UnitFixture f = new UnitFixture();
    static final int SID = UnitFixture.SID;

    @AfterEach
    void close() {
        f.close();
    }

    private long pt;
    private long leaf;

    private void mapOnePage(int did) {
        pt = f.context(SID, did, ContextEntry.AW_48);
        leaf = f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.enable();
    }

    private void iotlbInvalidate(int iirg, int did, long addr, int am) {
        int iro = f.unit.ecap().iroBytes();
        f.unit.write(iro, 8, addr | am);
        f.unit.write(iro + 8, 8, Reg.IOTLB_IVT | ((long) iirg << Reg.IOTLB_IIRG_SHIFT) | ((long) did << Reg.IOTLB_DID_SHIFT));
    }

    private int iaig() {
        return (int) ((f.unit.read(f.unit.ecap().iroBytes() + 8, 8) >>> Reg.IOTLB_IAIG_SHIFT) & 3);
    }

    private void contextInvalidate(int cirg, int did, int sid, int fm) {
        f.unit.write(Reg.CCMD, 8, Reg.CCMD_ICC | ((long) cirg << Reg.CCMD_CIRG_SHIFT) | ((long) fm << Reg.CCMD_FM_SHIFT)
                | ((long) sid << Reg.CCMD_SID_SHIFT) | did);
    }

    @Test
    void secondAccessHitsTheIotlb() {
        mapOnePage(3);
        f.unit.translate(SID, 0x1000, Access.READ);
        f.unit.translate(SID, 0x1008, Access.READ);
        var s = f.unit.iotlb().stats();
        assertEquals(1, s.misses());
        assertEquals(1, s.hits());
    }

    @Test
    void changedPteIsNotSeenUntilPageSelectiveInvalidation() {
        mapOnePage(3);
        assertEquals(0x90_0000L, f.unit.translateAddress(SID, 0x1000, false));
        f.mem.write64(leaf, f.mem.read64(leaf) & ~0xFFFF_F000L | 0xA0_0000);
        assertEquals(0x90_0000L, f.unit.translateAddress(SID, 0x1000, false), "cached translation (allowed by 6.1)");
        iotlbInvalidate(3, 3, 0x1000, 0);
        assertEquals(3, iaig(), "page-selective performed");
        assertEquals(0, f.unit.read(f.unit.ecap().iroBytes() + 8, 8) & Reg.IOTLB_IVT, "IVT cleared on completion");
        assertEquals(0xA0_0000L, f.unit.translateAddress(SID, 0x1000, false));
    }

    @Test
    void pageSelectiveInvalidationHonoursAddressMask() {
        pt = f.context(SID, 3, ContextEntry.AW_48);
        for (int i = 0; i < 4; i++) f.tables.map(pt, 4, 0x4000 + 0x1000L * i, 0x90_0000 + 0x1000L * i, 12, true, true);
        f.enable();
        for (int i = 0; i < 4; i++) f.unit.translate(SID, 0x4000 + 0x1000L * i, Access.READ);
        assertEquals(4, f.unit.iotlb().size());
        iotlbInvalidate(3, 3, 0x4000, 1);   // AM = 1: two pages 0x4000-0x5fff
        assertEquals(2, f.unit.iotlb().size());
    }

    @Test
    void domainSelectiveInvalidationSparesOtherDomains() {
        mapOnePage(3);
        long pt2 = f.context(SID + 1, 4, ContextEntry.AW_48);
        f.tables.map(pt2, 4, 0x1000, 0x91_0000, 12, true, true);
        f.unit.translate(SID, 0x1000, Access.READ);
        f.unit.translate(SID + 1, 0x1000, Access.READ);
        iotlbInvalidate(2, 3, 0, 0);
        assertEquals(2, iaig());
        assertEquals(1, f.unit.iotlb().size());
        assertEquals(4, f.unit.iotlb().snapshot().getFirst().domainId());
    }

    @Test
    void globalIotlbInvalidationEmptiesTheIotlb() {
        mapOnePage(3);
        f.unit.translate(SID, 0x1000, Access.READ);
        iotlbInvalidate(1, 0, 0, 0);
        assertEquals(1, iaig());
        assertEquals(0, f.unit.iotlb().size());
    }

    /** One 4 KiB, one 2 MiB and one 1 GiB translation of domain 3 cached, plus one 4 KiB of domain 4. */
    private void cacheEveryPageSize() {
        pt = f.context(SID, 3, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.tables.map(pt, 4, 0x40_0000L, 0x20_0000, 21, true, true);
        f.tables.map(pt, 4, 0x4000_0000L, 0, 30, true, true);
        long pt2 = f.context(SID + 1, 4, ContextEntry.AW_48);
        f.tables.map(pt2, 4, 0x1000, 0x91_0000, 12, true, true);
        f.enable();
        for (long a : new long[]{0x1000, 0x40_0000L, 0x4000_0000L}) assertTrue(f.unit.translate(SID, a, Access.READ).ok());
        assertTrue(f.unit.translate(SID + 1, 0x1000, Access.READ).ok());
        var shifts = f.unit.iotlb().snapshot().stream().filter(e -> e.domainId() == 3).map(e -> e.pageSize()).sorted().toList();
        assertEquals(java.util.List.of(1L << 12, 1L << 21, 1L << 30), shifts, "every page size is cached");
    }

    @Test
    void domainSelectiveIotlbInvalidationRemovesEveryPageSizeOfTheDomain() {
        cacheEveryPageSize();
        iotlbInvalidate(2, 3, 0, 0);
        assertEquals(2, iaig());
        assertTrue(f.unit.iotlb().snapshot().stream().noneMatch(e -> e.domainId() == 3),
                "a 4K, 2M or 1G entry of domain 3 survived: " + f.unit.iotlb().snapshot());
        assertEquals(1, f.unit.iotlb().size(), "domain 4 keeps its entry");
    }

    @Test
    void globalIotlbInvalidationRemovesEveryPageSizeOfEveryDomain() {
        cacheEveryPageSize();
        iotlbInvalidate(1, 0, 0, 0);
        assertEquals(1, iaig());
        assertEquals(0, f.unit.iotlb().size(), "survivors: " + f.unit.iotlb().snapshot());
    }

    @Test
    void srtpInvalidatesNothingItDoesNotHaveToButTranslationsFollowTheNewRootAfterGlobalInvalidation() {
        cacheEveryPageSize();
        f.unit.write(Reg.GCMD, 4, Reg.GCMD_TE | Reg.GCMD_SRTP);
        contextInvalidate(1, 0, 0, 0);
        iotlbInvalidate(1, 0, 0, 0);
        assertEquals(0, f.unit.iotlb().size(), "after SRTP and global invalidation every page size is gone");
    }

    @Test
    void addressMaskAboveMamvIsRejectedWithIaigZero() {
        mapOnePage(3);
        f.unit.translate(SID, 0x1000, Access.READ);
        iotlbInvalidate(3, 3, 0, f.unit.cap().mamv() + 1);
        assertEquals(0, iaig());
        assertEquals(1, f.unit.iotlb().size());
    }

    @Test
    void pageSelectiveWithoutPsiIsPerformedDomainWide() {
        Cap cap = UnitFixture.R630_CAP.with(Cap.PSI, 0);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(cap, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            f.close();
            f = q;
            mapOnePage(3);
            f.unit.translate(SID, 0x1000, Access.READ);
            iotlbInvalidate(3, 3, 0x1000, 0);
            assertEquals(2, iaig());
            f = new UnitFixture();
        }
    }

    @Test
    void contextChangeIsNotSeenUntilContextCacheInvalidation() {
        mapOnePage(3);
        f.unit.translate(SID, 0x1000, Access.READ);
        f.tables.setContext(SID, ContextEntry.translated(3, pt, ContextEntry.AW_48).withFpd(true).withTranslationType(2));
        assertEquals(0x90_0000L, f.unit.translateAddress(SID, 0x1000, false));
        contextInvalidate(3, 3, SID, 0);
        assertEquals(3, (f.unit.read(Reg.CCMD, 8) >>> Reg.CCMD_CAIG_SHIFT) & 3, "device-selective performed");
        assertEquals(0, f.unit.read(Reg.CCMD, 8) & Reg.CCMD_ICC);
        assertEquals(0x1000L, f.unit.translateAddress(SID, 0x1000, false), "now pass-through");
    }

    @Test
    void deviceSelectiveFunctionMaskCoversSiblingFunctions() {
        for (int fn = 0; fn < 8; fn++) {
            long p = f.context(SID + fn, 3, ContextEntry.AW_48);
            f.tables.map(p, 4, 0x1000, 0x90_0000, 12, true, true);
        }
        f.enable();
        for (int fn = 0; fn < 8; fn++) f.unit.translate(SID + fn, 0x1000, Access.READ);
        assertEquals(8, f.unit.contextCache().size());
        contextInvalidate(3, 3, SID, 2); // FM = 10b: ignore function bits 2:1 -> functions 0, 2, 4, 6
        assertEquals(4, f.unit.contextCache().size());
        for (var e : f.unit.contextCache().snapshot()) assertEquals(1, e.sourceId() & 1);
        contextInvalidate(3, 3, SID, 3); // FM = 11b: every function of the device
        assertEquals(0, f.unit.contextCache().size());
    }

    @Test
    void reservedInvalidationGranularityIsNotPerformed() {
        mapOnePage(3);
        f.unit.translate(SID, 0x1000, Access.READ);
        contextInvalidate(0, 3, SID, 0);
        assertEquals(0, (f.unit.read(Reg.CCMD, 8) >>> Reg.CCMD_CAIG_SHIFT) & 3);
        assertEquals(1, f.unit.contextCache().size());
    }

    @Test
    void cachingModeCachesNotPresentEntriesUntilInvalidated() {
        Cap cm = UnitFixture.R630_CAP.with(Cap.CM, 1);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(cm, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            long p = q.context(SID, 3, ContextEntry.AW_48);
            q.enable();
            assertEquals(FaultReason.PTE_READ, q.unit.translate(SID, 0x1000, Access.READ).fault());
            q.tables.map(p, 4, 0x1000, 0x90_0000, 12, true, true);
            assertEquals(FaultReason.PTE_READ, q.unit.translate(SID, 0x1000, Access.READ).fault(),
                    "CM = 1: the not-present result was cached, software must invalidate after mapping");
            int iro = q.unit.ecap().iroBytes();
            q.unit.write(iro, 8, 0x1000);
            q.unit.write(iro + 8, 8, Reg.IOTLB_IVT | (3L << Reg.IOTLB_IIRG_SHIFT) | (3L << Reg.IOTLB_DID_SHIFT));
            assertEquals(0x90_0000L, q.unit.translateAddress(SID, 0x1000, false));
        }
    }

    @Test
    void withoutCachingModeNotPresentEntriesAreNotCached() {
        pt = f.context(SID, 3, ContextEntry.AW_48);
        f.enable();
        f.unit.translate(SID, 0x1000, Access.READ);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        assertEquals(0x90_0000L, f.unit.translateAddress(SID, 0x1000, false));
    }

    @Test
    void fullSetEvictsItsLeastRecentlyUsedWay() {
        SetAssociativeCache<IotlbEntry> c = new SetAssociativeCache<>("t", 4, 4);
        for (int i = 0; i < 4; i++) assertTrue(c.put(IotlbEntry.of(1, i * 0x1000L, 0, 12, true, true), c.epoch()));
        c.get(IotlbEntry.key(1, 0, 12));          // touch page 0: page 1 is now the LRU
        c.get(IotlbEntry.key(1, 0x2000, 12));
        c.get(IotlbEntry.key(1, 0x3000, 12));
        c.put(IotlbEntry.of(1, 0x9000, 0, 12, true, true), c.epoch());
        assertNull(c.peek(IotlbEntry.key(1, 0x1000, 12)));
        assertNotNull(c.peek(IotlbEntry.key(1, 0, 12)));
        assertEquals(4, c.size());
        assertEquals(1, c.stats().evictions());
    }

    @Test
    void insertFromAWalkThatStartedBeforeAnInvalidationIsRefused() {
        SetAssociativeCache<IotlbEntry> c = new SetAssociativeCache<>("t", 16, 4);
        long epoch = c.epoch();
        c.invalidateAll();
        assertFalse(c.put(IotlbEntry.of(1, 0, 0, 12, true, true), epoch));
        assertEquals(0, c.size());
    }

    @Test
    void iotlbCapacityIsBoundedUnderManyPages() {
        pt = f.context(SID, 3, ContextEntry.AW_48);
        for (int i = 0; i < 2000; i++) f.tables.map(pt, 4, 0x10_0000L + i * 0x1000L, 0x90_0000, 12, true, true);
        f.enable();
        for (int i = 0; i < 2000; i++) f.unit.translate(SID, 0x10_0000L + i * 0x1000L, Access.READ);
        assertTrue(f.unit.iotlb().size() <= f.unit.iotlb().capacity());
        assertTrue(f.unit.iotlb().stats().evictions() > 0);
    }
}

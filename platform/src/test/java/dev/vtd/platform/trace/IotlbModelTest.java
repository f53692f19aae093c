package dev.vtd.platform.trace;

import dev.vtd.platform.trace.IotlbModel.Geometry;
import dev.vtd.platform.trace.IotlbModel.Policy;
import dev.vtd.platform.trace.TraceRecord.Invalidation;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/** The replayed IOTLB: tags, replacement, and what each invalidation granularity removes (VT-d 6.5.2.4, 6.5.2.6). */
class IotlbModelTest {
    private static IotlbModel model(int entries, int ways, Policy p) {
        return new IotlbModel(new Geometry(entries, ways, p));
    }

    @Test
    void entriesAreTaggedByDomainSoTwoTenantsWithTheSameIovaDoNotHitEachOther() {
        IotlbModel m = model(64, 8, Policy.LRU);
        assertFalse(m.translate(0, 1, false, 0, 0x1000, 12));
        assertFalse(m.translate(0, 2, false, 0, 0x1000, 12), "same IOVA, other domain: a miss");
        assertTrue(m.translate(0, 1, false, 0, 0x1fff, 12), "same 4 KiB page: a hit");
        assertFalse(m.translate(0, 1, true, 7, 0x1000, 12), "a request with PASID is tagged apart");
        assertFalse(m.translate(1, 1, false, 0, 0x1000, 12), "another unit's IOTLB");
    }

    @Test
    void aLargePageEntryServesEveryAddressInsideIt() {
        IotlbModel m = model(64, 8, Policy.LRU);
        assertFalse(m.translate(0, 1, false, 0, 0x20_0000, 21));
        assertTrue(m.translate(0, 1, false, 0, 0x3f_f000, 12));
        assertFalse(m.translate(0, 1, false, 0, 0x40_0000, 21), "the next 2 MiB page");
    }

    @Test
    void lruKeepsTheRecentlyUsedWayAndFifoEvictsTheOldestInsertion() {
        // one set of two ways: pages 0 and 1 filled, page 0 reused, page 2 evicts the victim.
        for (Policy p : new Policy[]{Policy.LRU, Policy.FIFO}) {
            IotlbModel m = model(2, 2, p);
            m.translate(0, 1, false, 0, 0x0000, 12);
            m.translate(0, 1, false, 0, 0x1000, 12);
            m.translate(0, 1, false, 0, 0x0000, 12);
            m.translate(0, 1, false, 0, 0x2000, 12);
            boolean page0 = m.translate(0, 1, false, 0, 0x0000, 12);
            assertEquals(p == Policy.LRU, page0, p + ": page 0 " + (p == Policy.LRU ? "kept (used last)" : "evicted (inserted first)"));
        }
    }

    @Test
    void domainSelectiveInvalidationRemovesEveryPageSizeAndEveryPasidOfThatDomainOnly() {
        IotlbModel m = model(64, 8, Policy.LRU);
        m.translate(0, 1, false, 0, 0x1000, 12);
        m.translate(0, 1, false, 0, 0x4000_0000L, 30);
        m.translate(0, 1, true, 5, 0x20_0000, 21);
        m.translate(0, 2, false, 0, 0x1000, 12);
        m.invalidate(0, Invalidation.IOTLB_DOMAIN, 1, false, 0, 0, 0);
        assertFalse(m.translate(0, 1, false, 0, 0x1000, 12), "4 KiB entry removed");
        assertFalse(m.translate(0, 1, false, 0, 0x4000_0000L, 30), "1 GiB entry removed");
        assertFalse(m.translate(0, 1, true, 5, 0x20_0000, 21), "PASID-tagged 2 MiB entry removed");
        assertTrue(m.translate(0, 2, false, 0, 0x1000, 12), "domain 2 kept");
    }

    @Test
    void pageSelectiveInvalidationRemovesEntriesOverlappingTheMaskedRange() {
        IotlbModel m = model(64, 8, Policy.LRU);
        for (long a = 0; a < 8; a++) m.translate(0, 1, false, 0, a << 12, 12);
        m.translate(0, 1, false, 0, 0x20_0000, 21);
        // AM = 2: 16 KiB at 0x4000 (the address's low bits below the mask are ignored).
        m.invalidate(0, Invalidation.IOTLB_PAGE, 1, false, 0, 0x5000, 2);
        for (long a = 0; a < 8; a++) {
            assertEquals(a < 4 || a > 7, m.translate(0, 1, false, 0, a << 12, 12), "page " + a);
        }
        m.invalidate(0, Invalidation.IOTLB_PAGE, 1, false, 0, 0x30_0000, 0);
        assertFalse(m.translate(0, 1, false, 0, 0x20_0000, 21), "a 4 KiB invalidation inside a 2 MiB entry removes it");
    }

    @Test
    void pasidBasedInvalidationLeavesRequestsWithoutPasidAndOtherPasids() {
        IotlbModel m = model(64, 8, Policy.LRU);
        m.translate(0, 1, true, 5, 0x1000, 12);
        m.translate(0, 1, true, 6, 0x1000, 12);
        m.translate(0, 1, false, 0, 0x1000, 12);
        m.invalidate(0, Invalidation.PASID_IOTLB_PASID, 1, true, 5, 0, 0);
        assertFalse(m.translate(0, 1, true, 5, 0x1000, 12));
        assertTrue(m.translate(0, 1, true, 6, 0x1000, 12));
        assertTrue(m.translate(0, 1, false, 0, 0x1000, 12));
    }

    @Test
    void contextAndDeviceTlbInvalidationsLeaveTheIotlbAlone() {
        IotlbModel m = model(64, 8, Policy.LRU);
        m.translate(0, 1, false, 0, 0x1000, 12);
        m.invalidate(0, Invalidation.CONTEXT_GLOBAL, 0, false, 0, 0, 0);
        m.invalidate(0, Invalidation.DEVICE_TLB, 1, false, 0, 0, 0);
        assertTrue(m.translate(0, 1, false, 0, 0x1000, 12));
        m.invalidate(0, Invalidation.IOTLB_GLOBAL, 0, false, 0, 0, 0);
        assertFalse(m.translate(0, 1, false, 0, 0x1000, 12));
    }

    @Test
    void replayCountsFaultsWithoutCachingThemAndMatchesDirectCalls() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(4L * TraceFormat.RECORD_BYTES);
            TraceRecord.translation(0, 0x100, 1, 0, false, 0x1000, false, false, 0, 0x9000, 12, 4, 1).encode(seg, 0);
            TraceRecord.translation(0, 0x100, 1, 0, false, 0x1000, false, false, 0, 0x9000, 12, 4, 2).encode(seg, 48);
            TraceRecord.translation(0, 0x100, 1, 0, false, 0x5000, true, false, 0x05, 0, 0, 4, 3).encode(seg, 96);
            TraceRecord.invalidation(0, Invalidation.IOTLB_DOMAIN, 1, 0, false, 0, 0, false, 0, 4).encode(seg, 144);
            IotlbModel.Result r = model(64, 8, Policy.LRU).replay(seg, 4, null);
            assertEquals(3, r.translations());
            assertEquals(1, r.hits());
            assertEquals(1, r.misses());
            assertEquals(1, r.faults());
            assertEquals(1, r.entriesInvalidated());
        }
    }

    @Test
    void geometriesThatNoHardwareBuildsAreRefusedWithTheReason() {
        assertEquals("entries 60 is not a multiple of ways 8",
                assertThrows(IllegalArgumentException.class, () -> Geometry.parse("entries=60,ways=8")).getMessage());
        assertEquals("entries/ways = 3 sets is not a power of two",
                assertThrows(IllegalArgumentException.class, () -> Geometry.parse("entries=24,ways=8")).getMessage());
        assertEquals("policy \"mru\" is not lru, fifo or random",
                assertThrows(IllegalArgumentException.class, () -> Geometry.parse("policy=mru")).getMessage());
        assertEquals(new Geometry(64, 8, Policy.LRU), Geometry.parse(""));
    }

    @Test
    void moreTenantsThanTheIotlbHoldsLowerTheHitRate() {
        try (Arena a = Arena.ofConfined()) {
            double one = hitRate(a, 1), many = hitRate(a, 32);
            assertTrue(one > 0.99, "one tenant's working set (17 pages) fits in 64 entries: " + one);
            assertTrue(many < 0.85, "32 tenants' working sets (544 pages) thrash 64 entries: " + many);
        }
    }

    private static double hitRate(Arena a, int tenants) {
        SyntheticTrace.Params p = new SyntheticTrace.Params(tenants, 32, 8, 50_000, false, 1);
        MemorySegment seg = a.allocate(p.records() * TraceFormat.RECORD_BYTES, 8);
        long n = new SyntheticTrace(p).fill(seg);
        assertEquals(p.records() * TraceFormat.RECORD_BYTES, n);
        return model(64, 8, Policy.LRU).replay(seg, p.records(), null).hitRate();
    }
}

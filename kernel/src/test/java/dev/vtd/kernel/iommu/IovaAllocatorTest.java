package dev.vtd.kernel.iommu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IovaAllocatorTest {
    @Test
    void allocationsAreSizeAlignedBelowTheLimitTopDownAndNeverOverlap() {
        Random rnd = new Random(42);
        IovaAllocator a = new IovaAllocator(1);
        a.reserve(0xFEE00, 0xFEEFF);
        long limit = 0xFFFFF;
        TreeMap<Long, Long> live = new TreeMap<>();
        for (int i = 0; i < 3000; i++) {
            if (live.isEmpty() || rnd.nextInt(3) > 0) {
                long pages = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 100);
                long pfn = a.allocFast(pages, limit);
                assertTrue(pfn > 0);
                long size = pages < 32 ? Long.highestOneBit(pages) == pages ? pages : Long.highestOneBit(pages) << 1 : pages;
                long align = Long.highestOneBit(size) == size ? size : Long.highestOneBit(size) << 1;
                assertEquals(0, pfn % align, "size-aligned");
                assertTrue(pfn + size - 1 <= limit, "below the limit");
                assertFalse(pfn <= 0xFEEFF && 0xFEE00 <= pfn + size - 1, "not in the reserved MSI window");
                var below = live.floorEntry(pfn + size - 1);
                assertTrue(below == null || below.getKey() + below.getValue() - 1 < pfn, "no overlap");
                live.put(pfn, size);
            } else {
                var keys = new ArrayList<>(live.keySet());
                long pfn = keys.get(rnd.nextInt(keys.size()));
                a.freeFast(pfn, live.remove(pfn));
            }
        }
        for (var e : live.entrySet()) a.freeFast(e.getKey(), e.getValue());
        assertEquals(0, a.liveRanges());
        a.flushCaches();
        assertEquals(0, a.allocatedPages());
    }

    @Test
    void theFirstAllocationIsTheHighestAlignedRangeBelowTheLimit() {
        IovaAllocator a = new IovaAllocator(1);
        assertEquals(0xFFFF8, a.alloc(8, 0xFFFFF, true));
        assertEquals(0xFFFF0, a.alloc(5, 0xFFFFF, true));
        assertEquals(0xFFFF7, a.alloc(1, 0xFFFFF, true), "the gap left above the 5-page range");
    }

    @Test
    void freedRangesComeBackFromTheCacheBeforeTheTreeIsSearched() {
        IovaAllocator a = new IovaAllocator(1);
        long p = a.allocFast(4, 0xFFFFF);
        a.freeFast(p, 4);
        long hits = a.cacheHits();
        assertEquals(p, a.allocFast(3, 0xFFFFF), "3 pages round up to the cached 4-page range");
        assertEquals(hits + 1, a.cacheHits());
    }

    @Test
    void exhaustionFailsAfterFlushingTheCachesOnce() {
        IovaAllocator a = new IovaAllocator(1);
        List<Long> got = new ArrayList<>();
        for (long pfn; (pfn = a.allocFast(1, 15)) > 0; ) got.add(pfn);
        assertEquals(15, got.size(), "pfns 1..15");
        a.freeFast(got.getFirst(), 1);
        long failuresBefore = a.failures();
        assertEquals(-1, a.allocFast(2, 15), "one free page cannot hold two");
        assertEquals(failuresBefore + 1, a.failures());
        assertTrue(a.allocFast(1, 15) > 0, "the flushed range is in the tree again");
    }

    @Test
    void cachedRangesAboveAClampedLimitAreNotHandedOut() {
        IovaAllocator a = new IovaAllocator(1);
        long high = a.allocFast(1, 0xFFFFF);
        a.freeFast(high, 1);
        long low = a.allocFast(1, 0xFFF);
        assertTrue(low <= 0xFFF);
    }
}

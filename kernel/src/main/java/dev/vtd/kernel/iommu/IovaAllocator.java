package dev.vtd.kernel.iommu;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * An IOVA space allocator in page frames (the model of Linux's drivers/iommu/iova.c): allocated and reserved
 * ranges kept sorted; a new range is placed top-down, the highest free gap below the caller's limit, aligned to
 * its size rounded up to a power of two. Page frame {@code startPfn - 1} and below are never handed out.
 *
 * <p>In front sits the range cache (the "rcache"): per power-of-two size up to 32 pages (128 KiB), freed
 * ranges go into magazines of {@value #MAG_SIZE} entries (a loaded and a previous magazine, then a depot of up
 * to {@value #MAX_DEPOT} full ones) and are handed out again without searching. Cached ranges stay allocated in
 * the tree; when the tree search fails, the caches are flushed back and the search retried once.
 */
public final class IovaAllocator {
    /** Sizes cached: 2^0 .. 2^(RANGE_CACHE_MAX_SIZE - 1) pages (IOVA_RANGE_CACHE_MAX_SIZE). */
    public static final int RANGE_CACHE_MAX_SIZE = 6;
    /** Entries per magazine (IOVA_MAG_SIZE). */
    public static final int MAG_SIZE = 127;
    /** Full magazines kept in the depot (MAX_GLOBAL_MAGS). */
    public static final int MAX_DEPOT = 32;

    private record Range(long lo, long hi, boolean reserved) {
        long pages() { return hi - lo + 1; }
    }

    /** Keyed by first page frame. */
    private final TreeMap<Long, Range> ranges = new TreeMap<>();
    private final long startPfn;
    private final Cache[] caches = new Cache[RANGE_CACHE_MAX_SIZE];
    private long allocatedPages;   // in non-reserved ranges, cached included
    private long cachedRanges;
    private long cacheHits, cacheMisses, treeAllocs, failures;

    /** @param startPfn lowest page frame that may be handed out (at least 1: IOVA 0 is never used) */
    public IovaAllocator(long startPfn) {
        this.startPfn = Math.max(1, startPfn);
        for (int i = 0; i < caches.length; i++) caches[i] = new Cache();
    }

    // ---- tree -------------------------------------------------------------------------------------------

    /**
     * Allocates {@code pages} frames at or below {@code limitPfn} (inclusive), size-aligned when asked.
     *
     * @return the first page frame, or -1 when no gap fits
     */
    public synchronized long alloc(long pages, long limitPfn, boolean sizeAligned) {
        if (pages <= 0) throw new IommuException("EINVAL", "IOVA allocation of " + pages + " pages");
        long align = sizeAligned ? Long.highestOneBit(pages) == pages ? pages : Long.highestOneBit(pages) << 1 : 1;
        long hi = limitPfn;
        for (Map.Entry<Long, Range> e : ranges.headMap(limitPfn, true).descendingMap().entrySet()) {
            Range r = e.getValue();
            if (r.hi() < hi) {
                long cand = (hi - pages + 1) & -align;
                if (hi - pages + 1 >= 0 && cand > r.hi() && cand >= startPfn) return insert(cand, pages);
            }
            hi = Math.min(hi, r.lo() - 1);
            if (hi < startPfn) break;
        }
        if (hi >= startPfn && hi - pages + 1 >= 0) {
            long cand = (hi - pages + 1) & -align;
            if (cand >= startPfn) return insert(cand, pages);
        }
        return -1;
    }

    private long insert(long lo, long pages) {
        ranges.put(lo, new Range(lo, lo + pages - 1, false));
        allocatedPages += pages;
        treeAllocs++;
        return lo;
    }

    /** Frees the allocated range starting at {@code pfn} back to the tree. */
    public synchronized void free(long pfn) {
        Range r = ranges.get(pfn);
        if (r == null || r.reserved()) {
            throw new IommuException("EINVAL", String.format("free of IOVA pfn 0x%x that is not allocated", pfn));
        }
        ranges.remove(pfn);
        allocatedPages -= r.pages();
    }

    /** Marks [loPfn, hiPfn] as never to be handed out (merging with ranges it overlaps, as reserve_iova). */
    public synchronized void reserve(long loPfn, long hiPfn) {
        if (hiPfn < loPfn) return;
        long lo = loPfn, hi = hiPfn;
        Map.Entry<Long, Range> before = ranges.floorEntry(hiPfn);
        while (before != null && before.getValue().hi() >= loPfn) {
            Range r = before.getValue();
            if (!r.reserved()) {
                throw new IommuException("EBUSY", String.format("reserving 0x%x-0x%x over an allocated range",
                        loPfn, hiPfn));
            }
            lo = Math.min(lo, r.lo());
            hi = Math.max(hi, r.hi());
            ranges.remove(r.lo());
            before = ranges.floorEntry(hiPfn);
        }
        ranges.put(lo, new Range(lo, hi, true));
    }

    /** True if pfn lies in an allocated (or cached) or reserved range. */
    public synchronized boolean isAllocated(long pfn) {
        Map.Entry<Long, Range> e = ranges.floorEntry(pfn);
        return e != null && e.getValue().hi() >= pfn;
    }

    /** The size in pages of the allocated range starting at pfn, or 0. */
    public synchronized long rangePages(long pfn) {
        Range r = ranges.get(pfn);
        return r == null || r.reserved() ? 0 : r.pages();
    }

    // ---- range cache ------------------------------------------------------------------------------------

    private static final class Magazine {
        final long[] pfns = new long[MAG_SIZE];
        int size;

        boolean full() { return size == MAG_SIZE; }
        boolean empty() { return size == 0; }

        /** Pops an entry at or below limit (the topmost such one), or -1. */
        long pop(long limitPfn) {
            for (int i = size - 1; i >= 0; i--) {
                if (pfns[i] <= limitPfn) {
                    long p = pfns[i];
                    pfns[i] = pfns[size - 1];
                    size--;
                    return p;
                }
            }
            return -1;
        }
    }

    private static final class Cache {
        Magazine loaded = new Magazine();
        Magazine prev = new Magazine();
        final ArrayDeque<Magazine> depot = new ArrayDeque<>();
    }

    private static int orderBase2(long pages) {
        return 64 - Long.numberOfLeadingZeros(pages - 1);
    }

    /**
     * alloc_iova_fast: sizes below 32 pages are rounded up to a power of two (so the cache never holds odd
     * sizes), the cache is tried first, then the tree; on failure the caches are flushed and the tree tried
     * once more.
     *
     * @return the first page frame, or -1 when the space below the limit is exhausted
     */
    public synchronized long allocFast(long pages, long limitPfn) {
        if (pages <= 0) throw new IommuException("EINVAL", "IOVA allocation of " + pages + " pages");
        if (pages < (1L << (RANGE_CACHE_MAX_SIZE - 1))) pages = Long.highestOneBit(pages) == pages ? pages
                : Long.highestOneBit(pages) << 1;
        long pfn = cacheGet(pages, limitPfn);
        if (pfn >= 0) {
            cacheHits++;
            return pfn;
        }
        cacheMisses++;
        pfn = alloc(pages, limitPfn, true);
        if (pfn < 0) {
            flushCaches();
            pfn = alloc(pages, limitPfn, true);
        }
        if (pfn < 0) failures++;
        return pfn;
    }

    /** free_iova_fast: into the size's cache when it has room, else back to the tree. */
    public synchronized void freeFast(long pfn, long pages) {
        Range r = ranges.get(pfn);
        if (r == null || r.reserved()) {
            throw new IommuException("EINVAL", String.format("free of IOVA pfn 0x%x that is not allocated", pfn));
        }
        int order = orderBase2(r.pages());
        if (order >= RANGE_CACHE_MAX_SIZE || !cachePut(order, pfn)) free(pfn);
    }

    private long cacheGet(long pages, long limitPfn) {
        int order = orderBase2(pages);
        if (order >= RANGE_CACHE_MAX_SIZE) return -1;
        Cache c = caches[order];
        long p = c.loaded.pop(limitPfn);
        if (p < 0 && !c.prev.empty()) {
            Magazine t = c.loaded;
            c.loaded = c.prev;
            c.prev = t;
            p = c.loaded.pop(limitPfn);
        }
        if (p < 0 && !c.depot.isEmpty() && c.loaded.empty()) {
            c.loaded = c.depot.pop();
            p = c.loaded.pop(limitPfn);
        }
        if (p >= 0) cachedRanges--;
        return p;
    }

    private boolean cachePut(int order, long pfn) {
        Cache c = caches[order];
        if (c.loaded.full()) {
            if (!c.prev.full()) {
                Magazine t = c.loaded;
                c.loaded = c.prev;
                c.prev = t;
            } else if (c.depot.size() < MAX_DEPOT) {
                c.depot.push(c.loaded);
                c.loaded = new Magazine();
            } else {
                // Depot full: give the loaded magazine's ranges back to the tree.
                Magazine m = c.loaded;
                for (int i = 0; i < m.size; i++) freeCached(m.pfns[i]);
                m.size = 0;
            }
        }
        c.loaded.pfns[c.loaded.size++] = pfn;
        cachedRanges++;
        return true;
    }

    private void freeCached(long pfn) {
        cachedRanges--;
        free(pfn);
    }

    /** Returns every cached range to the tree (free_cpu_cached_iovas + free_global_cached_iovas). */
    public synchronized void flushCaches() {
        for (Cache c : caches) {
            for (Magazine m : new Magazine[] {c.loaded, c.prev}) {
                for (int i = 0; i < m.size; i++) freeCached(m.pfns[i]);
                m.size = 0;
            }
            for (Magazine m : c.depot) {
                for (int i = 0; i < m.size; i++) freeCached(m.pfns[i]);
            }
            c.depot.clear();
        }
    }

    // ---- counters ---------------------------------------------------------------------------------------

    /** Pages in allocated ranges, cached ones included (reserved ranges excluded). */
    public synchronized long allocatedPages() { return allocatedPages; }
    /** Ranges sitting in the caches (allocated in the tree, free for reuse). */
    public synchronized long cachedRanges() { return cachedRanges; }
    /** Ranges handed out and not freed: allocated minus reserved minus cached. */
    public synchronized long liveRanges() {
        long n = 0;
        for (Range r : ranges.values()) if (!r.reserved()) n++;
        return n - cachedRanges;
    }
    public synchronized long cacheHits() { return cacheHits; }
    public synchronized long cacheMisses() { return cacheMisses; }
    public synchronized long treeAllocations() { return treeAllocs; }
    public synchronized long failures() { return failures; }
    public long startPfn() { return startPfn; }
}

package dev.vtd.platform.iommu.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * A set-associative cache of immutable entries with least-recently-used replacement inside each
 * set, as hardware translation caches are built. Capacity = sets x ways; a full set evicts its
 * least recently used way (never "drop everything when full").
 *
 * <p>Concurrency: lookups are lock-free (acquire reads of immutable entries). Inserts and
 * invalidations are serialized. An invalidation bumps the epoch; an insert whose walk began
 * before the last invalidation is refused, so a translation walked from stale tables can never
 * enter the cache after the invalidation that should have removed it has completed.
 */
public final class SetAssociativeCache<E extends Keyed> {
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Keyed[].class);

    private final String name;
    private final int sets;
    private final int ways;
    private final int setShift;
    private final Keyed[] slots;
    private final long[] lastUse;
    private long tick;
    private final Epoch epoch;

    /**
     * An invalidation counter. Caches that hold parts of one translation (context cache, PASID cache,
     * IOTLB) can share one, so a single read tells whether any of them was invalidated since.
     */
    public static final class Epoch {
        private static final java.lang.invoke.VarHandle VALUE;

        static {
            try {
                VALUE = MethodHandles.lookup().findVarHandle(Epoch.class, "value", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private volatile long value;

        public long get() {
            return value;
        }

        /** Moves the epoch on (atomic: caches sharing it bump it under their own locks). */
        public void bump() {
            VALUE.getAndAdd(this, 1L);
        }
    }

    // Hits and misses are counted on the translation hot path: plain fields, exact when one thread
    // translates, approximate (never over-counted) under concurrent DMA.
    private long hits;
    private long misses;
    private final LongAdder evictions = new LongAdder();
    private final LongAdder inserts = new LongAdder();
    private final LongAdder invalidated = new LongAdder();
    private final LongAdder refusedStale = new LongAdder();

    /**
     * @param capacity total entries (rounded up to a power-of-two number of sets); 0 disables caching
     * @param ways     associativity (entries per set)
     */
    public SetAssociativeCache(String name, int capacity, int ways) {
        this(name, capacity, ways, new Epoch());
    }

    /** A cache whose invalidations move {@code epoch}, which other caches may share. */
    public SetAssociativeCache(String name, int capacity, int ways, Epoch epoch) {
        this.epoch = epoch;
        if (capacity < 0 || ways <= 0) throw new IllegalArgumentException(name + ": capacity " + capacity + ", ways " + ways);
        this.name = name;
        int w = capacity == 0 ? 0 : Math.min(ways, capacity);
        int s = w == 0 ? 0 : Integer.highestOneBit(Math.max(1, (capacity + w - 1) / w));
        if (s > 0 && s * w < capacity) s <<= 1;
        this.sets = s;
        this.ways = w;
        this.setShift = s <= 1 ? 64 : 64 - Integer.numberOfTrailingZeros(s);
        this.slots = new Keyed[s * w];
        this.lastUse = new long[s * w];
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return slots.length;
    }

    private int setBase(long key) {
        if (sets <= 1) return 0;
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> setShift) * ways;
    }

    /** Lock-free lookup; null on a miss. Counts a hit or a miss. */
    @SuppressWarnings("unchecked")
    public E get(long key) {
        E e = peek(key);
        if (e != null) hits++;
        else misses++;
        return e;
    }

    /** Lookup without counting (used for secondary probes, e.g. other page sizes). */
    @SuppressWarnings("unchecked")
    public E peek(long key) {
        if (ways == 0) return null;
        int base = setBase(key);
        for (int i = base, end = base + ways; i < end; i++) {
            Keyed k = (Keyed) SLOT.getAcquire(slots, i);
            if (k != null && k.cacheKey() == key) {
                long t = tick;
                if (lastUse[i] != t) lastUse[i] = t; // LRU age: the insert epoch of its last use (racy hint)
                return (E) k;
            }
        }
        return null;
    }

    /** Lookup of an entry with both this key and this {@link Keyed#cacheTag() tag}, without counting. */
    @SuppressWarnings("unchecked")
    public E peek(long key, long tag) {
        if (ways == 0) return null;
        int base = setBase(key);
        for (int i = base, end = base + ways; i < end; i++) {
            Keyed k = (Keyed) SLOT.getAcquire(slots, i);
            if (k != null && k.cacheKey() == key && k.cacheTag() == tag) {
                long t = tick;
                if (lastUse[i] != t) lastUse[i] = t;
                return (E) k;
            }
        }
        return null;
    }

    public void countHit() {
        hits++;
    }

    public void countMiss() {
        misses++;
    }

    /** The epoch to pass to {@link #put} for a walk starting now. */
    public long epoch() {
        return epoch.get();
    }

    /**
     * Inserts (or replaces) an entry unless an invalidation happened since {@code walkEpoch}.
     *
     * @return true if the entry is now cached
     */
    public synchronized boolean put(E entry, long walkEpoch) {
        if (ways == 0) return false;
        if (walkEpoch != epoch.get()) {
            refusedStale.increment();
            return false;
        }
        long key = entry.cacheKey();
        long tag = entry.cacheTag();
        int base = setBase(key);
        int victim = -1;
        int empty = -1;
        int lru = base;
        for (int i = base, end = base + ways; i < end; i++) {
            Keyed k = slots[i];
            if (k == null) {
                if (empty < 0) empty = i;
            } else if (k.cacheKey() == key && k.cacheTag() == tag) {
                victim = i;
                break;
            } else if (lastUse[i] < lastUse[lru] || slots[lru] == null) {
                lru = i;
            }
        }
        if (victim < 0) victim = empty >= 0 ? empty : lru;
        if (slots[victim] != null && (slots[victim].cacheKey() != key || slots[victim].cacheTag() != tag)) {
            evictions.increment();
        }
        lastUse[victim] = ++tick;
        SLOT.setRelease(slots, victim, entry);
        inserts.increment();
        return true;
    }

    /** Removes every entry matching the predicate; returns how many were removed. */
    @SuppressWarnings("unchecked")
    public synchronized int invalidateIf(Predicate<? super E> which) {
        int n = 0;
        for (int i = 0; i < slots.length; i++) {
            Keyed k = slots[i];
            if (k != null && which.test((E) k)) {
                SLOT.setRelease(slots, i, null);
                n++;
            }
        }
        // The epoch moves only after the entries are gone: a lookup that still found one of them
        // carries the old epoch, so nothing it derived (a cached MRU translation, an insert) can
        // outlive this invalidation.
        epoch.bump();
        invalidated.add(n);
        return n;
    }

    public synchronized int invalidateAll() {
        return invalidateIf(e -> true);
    }

    /** Number of valid entries now. */
    public synchronized int size() {
        int n = 0;
        for (Keyed k : slots) if (k != null) n++;
        return n;
    }

    @SuppressWarnings("unchecked")
    public synchronized java.util.List<E> snapshot() {
        java.util.List<E> l = new java.util.ArrayList<>();
        for (Keyed k : slots) if (k != null) l.add((E) k);
        return l;
    }

    public CacheStats stats() {
        return new CacheStats(name, slots.length, size(), hits, misses, evictions.sum(), inserts.sum(),
                invalidated.sum(), refusedStale.sum());
    }

    /** Counters of one cache. */
    public record CacheStats(String name, int capacity, int size, long hits, long misses, long evictions, long inserts,
                             long invalidated, long refusedStale) {
        /** The same counters with {@code n} hits counted elsewhere (a fast path in front of the cache). */
        public CacheStats withMoreHits(long n) {
            return new CacheStats(name, capacity, size, hits + n, misses, evictions, inserts, invalidated, refusedStale);
        }

        public double hitRate() {
            long t = hits + misses;
            return t == 0 ? 0 : (double) hits / t;
        }

        @Override
        public String toString() {
            return String.format("%s: %d/%d entries, %d hits, %d misses (%.1f%% hit), %d evictions, %d invalidated",
                    name, size, capacity, hits, misses, 100 * hitRate(), evictions, invalidated);
        }
    }
}

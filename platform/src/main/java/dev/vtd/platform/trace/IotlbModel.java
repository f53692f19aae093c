package dev.vtd.platform.trace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.function.LongConsumer;

/**
 * A set-associative IOTLB of any geometry, driven by a trace's translations and invalidations, to ask
 * "what hit rate would this cache have had?" (trace-driven cache study in the manner of HyperSIO,
 * ISCA 2020, whose default is a 64-entry 8-way LRU IOTLB).
 *
 * <p>An entry is tagged as the hardware tags it (6.2.3): unit, domain ID, PASID (or none) and the page
 * number at the translation's page size (4 KiB, 2 MiB, 1 GiB). A lookup probes each page size the cache
 * currently holds; the set index is the page number's low bits XOR the domain ID's (so tenants with the
 * same IOVA layout spread over the sets). A faulted translation is not cached. Invalidations remove what
 * the specification says they remove (6.5.2.4, 6.5.2.6): global everything; domain-selective every entry
 * of the domain, PASID-tagged or not; page-selective the entries of the domain that overlap the
 * 2^(12+AM)-byte range; PASID-based by domain and PASID (and range). Context-cache, PASID-cache, IEC and
 * device-TLB invalidations leave the IOTLB alone.
 *
 * <p>The replay loop reads the binary records in place and allocates nothing.
 */
public final class IotlbModel {
    /** Replacement inside a set. */
    public enum Policy { LRU, FIFO, RANDOM }

    /** Geometry and policy of the modelled IOTLB. */
    public record Geometry(int entries, int ways, Policy policy) {
        public Geometry {
            if (entries <= 0 || ways <= 0) throw new IllegalArgumentException("entries and ways must be positive");
            if (entries > 1 << 20) throw new IllegalArgumentException("entries " + entries + " above 1048576");
            if (ways > entries || entries % ways != 0) {
                throw new IllegalArgumentException("entries " + entries + " is not a multiple of ways " + ways);
            }
            int sets = entries / ways;
            if (Integer.bitCount(sets) != 1) {
                throw new IllegalArgumentException("entries/ways = " + sets + " sets is not a power of two");
            }
        }

        /** Parses {@code entries=64,ways=8,policy=lru} (any subset; defaults 64, 8, lru). */
        public static Geometry parse(String spec) {
            int entries = 64, ways = 8;
            Policy policy = Policy.LRU;
            if (!spec.isBlank()) {
                for (String part : spec.split(",", -1)) {
                    int eq = part.indexOf('=');
                    if (eq < 0) throw new IllegalArgumentException("\"" + part + "\" is not KEY=VALUE (entries, ways, policy)");
                    String k = part.substring(0, eq).strip(), v = part.substring(eq + 1).strip();
                    switch (k) {
                        case "entries" -> entries = positive(k, v);
                        case "ways" -> ways = positive(k, v);
                        case "policy" -> {
                            try {
                                policy = Policy.valueOf(v.toUpperCase(Locale.ROOT));
                            } catch (IllegalArgumentException e) {
                                throw new IllegalArgumentException("policy \"" + v + "\" is not lru, fifo or random");
                            }
                        }
                        default -> throw new IllegalArgumentException("unknown key \"" + k + "\" (entries, ways, policy)");
                    }
                }
            }
            return new Geometry(entries, ways, policy);
        }

        private static int positive(String k, String v) {
            try {
                int x = Integer.parseInt(v);
                if (x <= 0) throw new NumberFormatException();
                return x;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(k + " \"" + v + "\" is not a positive whole number");
            }
        }

        @Override
        public String toString() {
            return entries + " entries, " + ways + "-way, " + policy.name().toLowerCase(Locale.ROOT);
        }
    }

    /** Counts of one replay. */
    public record Result(Geometry geometry, long translations, long hits, long misses, long faults,
                         long invalidations, long entriesInvalidated, long evictions, long[] hitsBySize) {
        public double hitRate() {
            return hits + misses == 0 ? 0 : (double) hits / (hits + misses);
        }
    }

    private static final TraceRecord.Invalidation[] INVALIDATIONS = TraceRecord.Invalidation.values();
    private static final int SIZES = 3;
    private static final int[] SHIFTS = {12, 21, 30};

    private final Geometry geometry;
    private final int ways;
    private final int setMask;
    private final long[] tagLo;   // page number << 2 | size code (1..3); 0 = empty
    private final long[] tagHi;   // unit << 48 | did << 32 | pasid-valid << 31 | pasid
    private final long[] stamp;   // last use (LRU) or insertion (FIFO)
    private final int[] perSize = new int[SIZES];
    private long tick;
    private long random = 0x9E37_79B9_7F4A_7C15L;
    private long hits, misses, faults, invalidations, entriesInvalidated, evictions;
    private final long[] hitsBySize = new long[SIZES];

    public IotlbModel(Geometry geometry) {
        this.geometry = geometry;
        this.ways = geometry.ways();
        this.setMask = geometry.entries() / geometry.ways() - 1;
        this.tagLo = new long[geometry.entries()];
        this.tagHi = new long[geometry.entries()];
        this.stamp = new long[geometry.entries()];
    }

    private static int sizeIndex(int shift) {
        return shift == 30 ? 2 : shift == 21 ? 1 : 0;
    }

    private static long hiTag(int unit, int did, boolean pv, int pasid) {
        return (long) unit << 48 | (long) did << 32 | (pv ? 1L << 31 : 0) | (pasid & 0xF_FFFFL);
    }

    private int setBase(long page, int did) {
        return (int) ((page ^ did) & setMask) * ways;
    }

    /** One translation: a hit or a miss (then the entry is filled at {@code shift}). */
    public boolean translate(int unit, int did, boolean pv, int pasid, long addr, int shift) {
        long hi = hiTag(unit, did, pv, pasid);
        for (int s = 0; s < SIZES; s++) {
            if (perSize[s] == 0) continue;
            long page = addr >>> SHIFTS[s];
            long lo = page << 2 | (s + 1);
            int base = setBase(page, did);
            for (int w = base, end = base + ways; w < end; w++) {
                if (tagLo[w] == lo && tagHi[w] == hi) {
                    hits++;
                    hitsBySize[s]++;
                    if (geometry.policy() == Policy.LRU) stamp[w] = ++tick;
                    return true;
                }
            }
        }
        misses++;
        fill(hi, addr, shift, did);
        return false;
    }

    private void fill(long hi, long addr, int shift, int did) {
        int s = sizeIndex(shift);
        long page = addr >>> SHIFTS[s];
        int base = setBase(page, did);
        int victim = -1;
        for (int w = base, end = base + ways; w < end; w++) {
            if (tagLo[w] == 0) {
                victim = w;
                break;
            }
        }
        if (victim < 0) {
            evictions++;
            if (geometry.policy() == Policy.RANDOM) {
                random ^= random << 13;
                random ^= random >>> 7;
                random ^= random << 17;
                victim = base + (int) Long.remainderUnsigned(random, ways);
            } else {
                victim = base;
                for (int w = base + 1, end = base + ways; w < end; w++) {
                    if (stamp[w] < stamp[victim]) victim = w;
                }
            }
            perSize[(int) (tagLo[victim] & 3) - 1]--;
        }
        tagLo[victim] = page << 2 | (s + 1);
        tagHi[victim] = hi;
        stamp[victim] = ++tick;
        perSize[s]++;
    }

    /** One invalidation record. */
    public void invalidate(int unit, TraceRecord.Invalidation what, int did, boolean pv, int pasid, long addr, int am) {
        invalidations++;
        boolean ranged = what == TraceRecord.Invalidation.IOTLB_PAGE || what == TraceRecord.Invalidation.PASID_IOTLB_PAGE;
        boolean byPasid = what == TraceRecord.Invalidation.PASID_IOTLB_PASID || what == TraceRecord.Invalidation.PASID_IOTLB_PAGE;
        switch (what) {
            case IOTLB_GLOBAL, IOTLB_DOMAIN, IOTLB_PAGE, PASID_IOTLB_PASID, PASID_IOTLB_PAGE -> { }
            default -> {
                return;
            }
        }
        long size = am >= 52 ? -1L : 1L << (12 + am);
        long first = ranged ? addr & -size : 0;
        for (int i = 0; i < tagLo.length; i++) {
            long lo = tagLo[i];
            if (lo == 0) continue;
            long hi = tagHi[i];
            if ((int) (hi >>> 48) != unit) continue;
            if (what != TraceRecord.Invalidation.IOTLB_GLOBAL && (int) (hi >>> 32 & 0xFFFF) != did) continue;
            if (byPasid && ((hi & 1L << 31) == 0 || (int) (hi & 0xF_FFFF) != pasid)) continue;
            if (ranged) {
                int s = (int) (lo & 3) - 1;
                long base = (lo >>> 2) << SHIFTS[s];
                long end = base + (1L << SHIFTS[s]);
                if (size != -1 && (Long.compareUnsigned(end, first) <= 0 || Long.compareUnsigned(base, first + size) >= 0)) {
                    continue;
                }
            }
            tagLo[i] = 0;
            perSize[(int) (lo & 3) - 1]--;
            entriesInvalidated++;
        }
    }

    /**
     * Replays the binary records of a trace.
     *
     * @param progress called with the number of records done every 2^20 records (may be null)
     */
    public Result replay(MemorySegment records, long count, LongConsumer progress) {
        long translations = 0;
        for (long i = 0; i < count; i++) {
            long o = i * TraceFormat.RECORD_BYTES;
            int kind = records.get(ValueLayout.JAVA_BYTE, o);
            if (kind == TraceRecord.KIND_TRANSLATION) {
                translations++;
                int flags = records.get(ValueLayout.JAVA_BYTE, o + 1);
                if ((flags & (TraceRecord.F_FAULT | TraceRecord.F_TRANSLATED)) != 0) {
                    if ((flags & TraceRecord.F_FAULT) != 0) faults++;
                } else {
                    translate(records.get(ValueLayout.JAVA_BYTE, o + 2) & 0xFF,
                            records.get(TraceRecord.U16, o + 6) & 0xFFFF, (flags & TraceRecord.F_PASID) != 0,
                            records.get(TraceRecord.U32, o + 8), records.get(TraceRecord.U64, o + 16),
                            records.get(ValueLayout.JAVA_BYTE, o + 12));
                }
            } else if (kind == TraceRecord.KIND_INVALIDATION) {
                int flags = records.get(ValueLayout.JAVA_BYTE, o + 1);
                invalidate(records.get(ValueLayout.JAVA_BYTE, o + 2) & 0xFF,
                        INVALIDATIONS[records.get(ValueLayout.JAVA_BYTE, o + 3) & 0xFF],
                        records.get(TraceRecord.U16, o + 6) & 0xFFFF, (flags & TraceRecord.F_PASID) != 0,
                        records.get(TraceRecord.U32, o + 8), records.get(TraceRecord.U64, o + 16),
                        records.get(ValueLayout.JAVA_BYTE, o + 12));
            }
            if (progress != null && (i & 0xF_FFFF) == 0xF_FFFF) progress.accept(i + 1);
        }
        return new Result(geometry, translations, hits, misses, faults, invalidations, entriesInvalidated, evictions,
                hitsBySize.clone());
    }
}

package dev.vtd.platform.iommu.cache;

import dev.vtd.platform.iommu.fault.FaultReason;

/**
 * A cached translation (IOTLB entry, VT-d spec 6.2.?): tagged by domain ID and the input page of
 * its size; holds the output page and the effective permissions (the AND of R/W over every
 * level of the walk). With caching mode (CAP.CM=1) a not-present result may be cached too:
 * read = write = false. Pass-through identities are made per request and never cached.
 */
public record IotlbEntry(long cacheKey, int domainId, long iovaBase, long hpaBase, int pageShift,
                         boolean read, boolean write, boolean passThrough) implements Keyed {
    public static final int SHIFT_4K = 12, SHIFT_2M = 21, SHIFT_1G = 30;

    /** Page size code in the key: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB (5-level PS). */
    public static long key(int domainId, long iova, int pageShift) {
        int code = (pageShift - 12) / 9;
        return ((long) (domainId & 0xFFFF) << 48) | ((long) code << 46) | ((iova >>> pageShift) & ((1L << 46) - 1));
    }

    public static IotlbEntry of(int domainId, long iova, long hpa, int pageShift, boolean read, boolean write) {
        long mask = (1L << pageShift) - 1;
        return new IotlbEntry(key(domainId, iova, pageShift), domainId, iova & ~mask, hpa & ~mask, pageShift, read, write,
                false);
    }

    /** The identity translation of a pass-through context (TT = 10b) for the 4 KiB page of iova. */
    public static IotlbEntry passThrough(int domainId, long iova) {
        long base = iova & ~0xFFFL;
        return new IotlbEntry(key(domainId, iova, SHIFT_4K), domainId, base, base, SHIFT_4K, true, true, true);
    }

    public long pageSize() {
        return 1L << pageShift;
    }

    public long translate(long iova) {
        return hpaBase | (iova & ((1L << pageShift) - 1));
    }

    /** True if [first, last] (inclusive input addresses) overlaps this entry's page. */
    public boolean overlaps(long first, long last) {
        return iovaBase <= last && first <= iovaBase + pageSize() - 1;
    }

    public FaultReason denial(boolean isWrite) {
        if (isWrite) return write ? null : FaultReason.PTE_WRITE;
        return read ? null : FaultReason.PTE_READ;
    }
}

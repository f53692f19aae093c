package dev.vtd.platform.iommu.cache;

import dev.vtd.platform.iommu.fault.FaultReason;

/**
 * A cached translation (IOTLB entry, VT-d spec 6.2.3): tagged by domain ID and the input page of
 * its size; holds the output page and the effective permissions (the AND of R/W over every
 * level of the walk). With caching mode (CAP.CM=1) a not-present result may be cached too:
 * read = write = false. Pass-through identities are made per request and never cached.
 *
 * <p>Scalable mode (6.2.3.1): entries of second-stage-only translations keep the domain-only tag;
 * entries of first-stage and nested translations are tagged by domain AND PASID ({@link #pasid}
 * >= 0, marked in the key by {@link #PASID_TAGGED}) and carry the first-stage attributes in
 * {@link #attrs}, from which each request's access is decided.
 */
public record IotlbEntry(long cacheKey, int domainId, long iovaBase, long hpaBase, int pageShift,
                         boolean read, boolean write, boolean passThrough, int pasid, int attrs) implements Keyed {
    public static final int SHIFT_4K = 12, SHIFT_2M = 21, SHIFT_1G = 30;
    /** Key bit of PASID-tagged entries (input page numbers of 57-bit addresses leave it clear). */
    public static final long PASID_TAGGED = 1L << 45;
    /** Input addresses of first-stage translations as keyed: 57 bits. */
    public static final long INPUT_MASK = (1L << 57) - 1;

    // attrs
    /** A first-stage or nested translation: {@link #read}/{@link #write} are the second stage's. */
    public static final int ATTR_FIRST_STAGE = 1;
    /** First-stage R/W set at every level. */
    public static final int ATTR_FS_WRITE = 1 << 1;
    /** First-stage U/S set at every level. */
    public static final int ATTR_FS_USER = 1 << 2;
    /** First-stage XD set at some level (with NXE). */
    public static final int ATTR_FS_XD = 1 << 3;
    /** First-stage leaf G (global): spared by PASID-selective P_IOTLB invalidation. */
    public static final int ATTR_GLOBAL = 1 << 4;
    /** A write needs no A/D update any more (every D that tracks it is set). */
    public static final int ATTR_DIRTY_DONE = 1 << 5;
    /** The PASID entry's WPE when the entry was filled. */
    public static final int ATTR_WPE = 1 << 6;

    /** Page size code in the key: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB (5-level PS). */
    public static long key(int domainId, long iova, int pageShift) {
        int code = (pageShift - 12) / 9;
        return ((long) (domainId & 0xFFFF) << 48) | ((long) code << 46) | ((iova >>> pageShift) & ((1L << 46) - 1));
    }

    /** Key of a PASID-tagged entry (the PASID itself is the entry's {@link #cacheTag()}). */
    public static long taggedKey(int domainId, long iova, int pageShift) {
        return key(domainId, iova & INPUT_MASK, pageShift) | PASID_TAGGED;
    }

    public static IotlbEntry of(int domainId, long iova, long hpa, int pageShift, boolean read, boolean write) {
        long mask = (1L << pageShift) - 1;
        return new IotlbEntry(key(domainId, iova, pageShift), domainId, iova & ~mask, hpa & ~mask, pageShift, read, write,
                false, -1, ATTR_DIRTY_DONE);
    }

    /** A second-stage-only entry of scalable mode whose D may still need setting (SLADE). */
    public static IotlbEntry secondStage(int domainId, long iova, long hpa, int pageShift, boolean read, boolean write,
                                         boolean dirtyDone) {
        long mask = (1L << pageShift) - 1;
        return new IotlbEntry(key(domainId, iova, pageShift), domainId, iova & ~mask, hpa & ~mask, pageShift, read, write,
                false, -1, dirtyDone ? ATTR_DIRTY_DONE : 0);
    }

    /** A first-stage or nested entry tagged by domain and PASID. */
    public static IotlbEntry firstStage(int domainId, int pasid, long va, long hpa, int pageShift, boolean read,
                                        boolean write, int attrs) {
        long mask = (1L << pageShift) - 1;
        return new IotlbEntry(taggedKey(domainId, va, pageShift), domainId, va & ~mask, hpa & ~mask, pageShift, read,
                write, false, pasid, attrs | ATTR_FIRST_STAGE);
    }

    /** The identity translation of a pass-through context (TT = 10b) for the 4 KiB page of iova. */
    public static IotlbEntry passThrough(int domainId, long iova) {
        long base = iova & ~0xFFFL;
        return new IotlbEntry(key(domainId, iova, SHIFT_4K), domainId, base, base, SHIFT_4K, true, true, true, -1,
                ATTR_DIRTY_DONE);
    }

    /** The same translation with other effective permissions (a per-request view; never cached). */
    public IotlbEntry withPermissions(boolean r, boolean w) {
        return new IotlbEntry(cacheKey, domainId, iovaBase, hpaBase, pageShift, r, w, passThrough, pasid, attrs);
    }

    @Override
    public long cacheTag() {
        return pasid;
    }

    public boolean pasidTagged() {
        return pasid >= 0;
    }

    public boolean has(int attr) {
        return (attrs & attr) != 0;
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

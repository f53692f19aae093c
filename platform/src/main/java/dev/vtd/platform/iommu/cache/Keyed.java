package dev.vtd.platform.iommu.cache;

/** An immutable cache entry that carries its own lookup key. */
public interface Keyed {
    long cacheKey();

    /** A second tag some entries carry besides their key (e.g. a PASID); -1 when none. */
    default long cacheTag() {
        return -1;
    }
}

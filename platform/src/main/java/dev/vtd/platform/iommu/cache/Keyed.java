package dev.vtd.platform.iommu.cache;

/** An immutable cache entry that carries its own lookup key. */
public interface Keyed {
    long cacheKey();
}

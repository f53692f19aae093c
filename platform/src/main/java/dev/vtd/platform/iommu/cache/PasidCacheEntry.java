package dev.vtd.platform.iommu.cache;

import dev.vtd.platform.iommu.tables.PasidEntry;

/**
 * A PASID-cache entry (VT-d spec 6.2.2): the PASID-table entry a requester's PASID resolved to,
 * with the fault-processing-disable state of the structures above it. Looked up by requester and
 * PASID; invalidated by domain ID (the entry's DID) and PASID (6.5.2.2).
 */
public record PasidCacheEntry(long cacheKey, int sourceId, int pasid, int domainId, PasidEntry entry,
                              boolean faultProcessingDisable) implements Keyed {
    public static long key(int sourceId, int pasid) {
        return ((long) (sourceId & 0xFFFF) << 20) | (pasid & 0xFFFFF);
    }

    public static PasidCacheEntry of(int sourceId, int pasid, PasidEntry entry, boolean fpdAbove) {
        return new PasidCacheEntry(key(sourceId, pasid), sourceId, pasid, entry.domainId(), entry,
                fpdAbove || entry.faultProcessingDisable());
    }
}

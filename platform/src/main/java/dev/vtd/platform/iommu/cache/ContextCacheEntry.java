package dev.vtd.platform.iommu.cache;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.tables.ContextEntry;

/**
 * A context-cache entry (VT-d spec 6.2.1), tagged by source ID and domain ID. A present, valid
 * entry has {@code fault == null}. With caching mode (CAP.CM = 1) a not-present or erroneous result
 * may be cached too; such entries carry their fault and domain ID 0 (6.1).
 */
public record ContextCacheEntry(long cacheKey, int sourceId, int domainId, ContextEntry context, FaultReason fault,
                                boolean faultProcessingDisable) implements Keyed {
    public static long key(int sourceId) {
        return sourceId & 0xFFFF;
    }

    public static ContextCacheEntry valid(int sourceId, ContextEntry ce) {
        return new ContextCacheEntry(key(sourceId), sourceId, ce.domainId(), ce, null, ce.faultProcessingDisable());
    }

    public static ContextCacheEntry faulting(int sourceId, ContextEntry ceOrNull, FaultReason fault) {
        boolean fpd = ceOrNull != null && ceOrNull.present() && ceOrNull.faultProcessingDisable();
        int did = ceOrNull != null && ceOrNull.present() ? ceOrNull.domainId() : 0;
        return new ContextCacheEntry(key(sourceId), sourceId, did, ceOrNull, fault, fpd);
    }

    public boolean passThrough() {
        return context != null && context.translationType() == ContextEntry.TT_PASS_THROUGH;
    }
}

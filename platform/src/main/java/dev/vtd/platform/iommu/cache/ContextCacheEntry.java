package dev.vtd.platform.iommu.cache;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.SmContextEntry;

/**
 * A context-cache entry (VT-d spec 6.2.1), tagged by source ID and domain ID. A present, valid
 * entry has {@code fault == null}. With caching mode (CAP.CM = 1) a not-present or erroneous result
 * may be cached too; such entries carry their fault and domain ID 0 (6.1).
 *
 * <p>In scalable mode the entry holds the 256-bit context entry ({@link #smContext}, legacy
 * {@link #context} null) and domain ID 0: domains are named by PASID-table entries.
 */
public record ContextCacheEntry(long cacheKey, int sourceId, int domainId, ContextEntry context, FaultReason fault,
                                boolean faultProcessingDisable, SmContextEntry smContext) implements Keyed {
    public static long key(int sourceId) {
        return sourceId & 0xFFFF;
    }

    public static ContextCacheEntry valid(int sourceId, ContextEntry ce) {
        return new ContextCacheEntry(key(sourceId), sourceId, ce.domainId(), ce, null, ce.faultProcessingDisable(), null);
    }

    public static ContextCacheEntry faulting(int sourceId, ContextEntry ceOrNull, FaultReason fault) {
        boolean fpd = ceOrNull != null && ceOrNull.present() && ceOrNull.faultProcessingDisable();
        int did = ceOrNull != null && ceOrNull.present() ? ceOrNull.domainId() : 0;
        return new ContextCacheEntry(key(sourceId), sourceId, did, ceOrNull, fault, fpd, null);
    }

    public static ContextCacheEntry scalable(int sourceId, SmContextEntry ce) {
        return new ContextCacheEntry(key(sourceId), sourceId, 0, null, null, ce.faultProcessingDisable(), ce);
    }

    public static ContextCacheEntry scalableFaulting(int sourceId, SmContextEntry ceOrNull, FaultReason fault) {
        boolean fpd = ceOrNull != null && ceOrNull.present() && ceOrNull.faultProcessingDisable();
        return new ContextCacheEntry(key(sourceId), sourceId, 0, null, fault, fpd, ceOrNull);
    }

    public boolean passThrough() {
        return context != null && context.translationType() == ContextEntry.TT_PASS_THROUGH;
    }
}

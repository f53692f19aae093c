package dev.vtd.kernel.iommu;

/**
 * How the driver invalidates a unit's context cache and IOTLB (VT-d spec 6.5): through the command registers
 * ({@link RegisterInvalidator}, 6.5.1) or the invalidation queue ({@link QueuedInvalidator}, 6.5.2). Every
 * method returns only when the hardware reports the invalidation complete, so the caller may then reuse what
 * the old translations pointed at.
 */
public interface Invalidator {
    /** Context-cache invalidation granularities (CCMD.CIRG / descriptor G). */
    int CC_GLOBAL = 1, CC_DOMAIN = 2, CC_DEVICE = 3;
    /** IOTLB invalidation granularities (IOTLB_REG.IIRG / descriptor G). */
    int IOTLB_GLOBAL = 1, IOTLB_DOMAIN = 2, IOTLB_PAGE = 3;
    /** Function mask "no bits masked" (CCMD.FM = 0). */
    int FM_NONE = 0;

    /** "Register based" or "Queued", as the boot log names the method. */
    String kind();

    void flushContext(int granularity, int domainId, int sourceId, int functionMask);

    /**
     * IOTLB invalidation. For page-selective requests {@code address} is aligned to 2^addressMask pages and
     * {@code leafOnly} is the invalidation hint (IH): only leaf entries changed.
     */
    void flushIotlb(int granularity, int domainId, long address, int addressMask, boolean leafOnly);

    /** Stops using the hardware interface (disables the queue); register invalidation needs nothing. */
    default void shutdown() {}
}

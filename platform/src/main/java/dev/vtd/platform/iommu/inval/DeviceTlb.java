package dev.vtd.platform.iommu.inval;

/**
 * An endpoint's device-TLB (ATS translation cache) as the invalidation queue sees it: the target
 * of device-TLB invalidate descriptors (VT-d spec 6.5.2.5, PCIe ATS invalidation). The PCI/ATS
 * side implements this and registers it by requester ID in a {@link DeviceTlbRegistry}.
 */
public interface DeviceTlb {
    /** How the endpoint answered an invalidation request. */
    enum Completion {
        /** Invalidation completion received. */
        DONE,
        /** No completion within the time-out: the unit sets FSTS.ITE (6.5.2.10). */
        TIMEOUT,
        /** A malformed or unexpected completion: the unit sets FSTS.ICE. */
        ERROR
    }

    /**
     * Invalidates [address, address + size) in the device-TLB. Called with the descriptor's
     * fields; returns how the device completed it.
     */
    Completion invalidate(DeviceTlbInvalidationRequest request);

    /**
     * A page group response (VT-d spec 7.5.1, PCIe PRG Response) for the endpoint's page
     * requests. Endpoints without a page request interface ignore it.
     */
    default void pageGroupResponse(InvalidationDescriptor.PageGroupResponse response) {}

    /**
     * An invalidation request as it goes to the endpoint: {@code pasid} -1 for a device-TLB
     * invalidation without PASID (all of the endpoint's untagged translations); {@code global}
     * also removes global translations of every PASID.
     */
    record DeviceTlbInvalidationRequest(int sourceId, int physicalFunctionSid, long address, long size, int pasid,
                                        boolean global) {
        public DeviceTlbInvalidationRequest(int sourceId, int physicalFunctionSid, long address, long size) {
            this(sourceId, physicalFunctionSid, address, size, -1, false);
        }
    }
}

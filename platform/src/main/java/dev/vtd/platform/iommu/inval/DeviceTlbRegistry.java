package dev.vtd.platform.iommu.inval;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The device-TLBs behind a unit, keyed by requester ID (bus << 8 | devfn). A device-TLB
 * invalidation for a requester with no registered device-TLB completes at once (nothing cached).
 */
public final class DeviceTlbRegistry {
    private final Map<Integer, DeviceTlb> byRequester = new ConcurrentHashMap<>();

    public void register(int sourceId, DeviceTlb tlb) {
        byRequester.put(sourceId & 0xFFFF, tlb);
    }

    public void unregister(int sourceId) {
        byRequester.remove(sourceId & 0xFFFF);
    }

    public DeviceTlb lookup(int sourceId) {
        return byRequester.get(sourceId & 0xFFFF);
    }
}

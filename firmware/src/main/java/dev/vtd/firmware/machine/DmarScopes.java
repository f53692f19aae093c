package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.PciPath;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciSegment;

import java.util.List;

/**
 * Resolves DMAR device scopes against an enumerated PCI tree (VT-d spec 8.3.1): a scope's start bus
 * and path of (device, function) hops name a function, each hop but the last being a bridge whose
 * secondary bus the next hop is on. Then decides which DRHD owns a requester ID, as Linux's
 * dmar_find_matched_drhd_unit does: a unit whose scope lists the function (or a bridge above it),
 * else the segment's INCLUDE_PCI_ALL unit; a virtual function belongs where its physical function does.
 */
public final class DmarScopes {
    private DmarScopes() {}

    /** The function a PCI scope names, or null if the path does not resolve in this tree. */
    public static PciFunction resolve(PciSegment segment, DeviceScope scope) {
        int bus = scope.startBus();
        PciFunction f = null;
        List<PciPath> path = scope.path();
        for (int i = 0; i < path.size(); i++) {
            PciPath hop = path.get(i);
            f = segment.lookup(bus, (hop.device() << 3) | hop.function());
            if (f == null) return null;
            if (i < path.size() - 1) {
                if (!(f instanceof PciBridge b)) return null;
                bus = b.secondaryBusNumber();
            }
        }
        return f;
    }

    /** True if the scope covers the function with this requester ID (by bus range for a bridge scope). */
    static boolean covers(PciSegment segment, DeviceScope scope, int rid) {
        PciFunction target = resolve(segment, scope);
        if (target == null) return false;
        int bus = rid >>> 8;
        if (scope.type() == DeviceScope.TYPE_PCI_SUB_HIERARCHY && target instanceof PciBridge b) {
            return target.rid() == rid || (bus >= b.secondaryBusNumber() && bus <= b.subordinateBusNumber());
        }
        if (scope.type() == DeviceScope.TYPE_PCI_ENDPOINT) return target.rid() == rid;
        return false;
    }

    /** The DRHD owning a requester ID on a segment, or null if no unit covers it. */
    public static DmarStructure.Drhd owner(DmarTable table, PciSegment segment, int rid) {
        PciFunction f = segment.lookup(rid >>> 8, rid & 0xFF);
        int match = f != null && f.isVirtualFunction() ? f.physicalFunction().rid() : rid;
        DmarStructure.Drhd all = null;
        for (DmarStructure.Drhd d : table.drhds()) {
            if (d.segment() != segment.number()) continue;
            if (d.includePciAll()) {
                if (all == null) all = d;
                continue;
            }
            for (DeviceScope s : d.scopes()) {
                if (covers(segment, s, match)) return d;
            }
        }
        return all;
    }

    /** The bus a function sits on, for tools. */
    static int busOf(PciFunction f) {
        PciBus b = f.bus();
        return b == null ? -1 : b.number();
    }
}

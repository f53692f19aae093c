package dev.vtd.kernel.host;

import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.platform.pci.AcsCapability;
import dev.vtd.platform.pci.Capability;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PcieCapability;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * IOMMU groups as Linux's pci_device_group forms them, in probe order: a device joins the group of any device
 * its DMA may be aliased to (everything behind a PCIe-to-PCI or conventional bridge goes with the bridge); then,
 * walking up, the first bridge whose path to the root lacks ACS isolation (REQ_ACS_FLAGS: source validation,
 * P2P request and completion redirect, upstream forwarding) pulls the device into its group; then functions of a
 * multifunction device without ACS share a group; otherwise the device gets a new group.
 */
public final class IommuGroups {
    /** pci.c REQ_ACS_FLAGS. */
    static final int REQ_ACS_FLAGS = AcsCapability.SOURCE_VALIDATION | AcsCapability.P2P_REQUEST_REDIRECT
            | AcsCapability.P2P_COMPLETION_REDIRECT | AcsCapability.UPSTREAM_FORWARDING;
    /** The ACS capability bits pci_acs_flags_enabled takes from the capability register. */
    static final int ACS_CAP_MASK = AcsCapability.SOURCE_VALIDATION | AcsCapability.TRANSLATION_BLOCKING
            | AcsCapability.P2P_REQUEST_REDIRECT | AcsCapability.P2P_COMPLETION_REDIRECT
            | AcsCapability.UPSTREAM_FORWARDING | AcsCapability.EGRESS_CONTROL | AcsCapability.DIRECT_TRANSLATED_P2P;

    private final Map<Integer, List<PciDevice>> groups = new LinkedHashMap<>();
    private final Map<PciFunction, Integer> groupOf = new LinkedHashMap<>();
    private final Function<PciFunction, PciDevice> deviceOf;

    /** @param deviceOf the kernel's device for a function (null when the function is not a probed device) */
    public IommuGroups(Function<PciFunction, PciDevice> deviceOf) {
        this.deviceOf = deviceOf;
    }

    /** Places a device in a group and returns the group number. */
    public int add(PciDevice dev) {
        Integer existing = groupOf.get(dev.function());
        if (existing != null) return existing;
        int g = deviceGroup(dev.function());
        groupOf.put(dev.function(), g);
        groups.computeIfAbsent(g, k -> new ArrayList<>()).add(dev);
        dev.setGroup(g);
        return g;
    }

    private int deviceGroup(PciFunction f) {
        // 1. DMA aliases: the requester IDs the device's DMA may carry name other functions (e.g. a bridge).
        PciFunction start = f;
        for (int rid : f.dmaAliases()) {
            if (rid == f.rid()) continue;
            PciFunction alias = f.segment() == null ? null : f.segment().lookup(rid);
            PciFunction owner = aliasOwner(f, rid);
            Integer g = alias == null ? null : groupOf.get(alias);
            if (g == null && owner != null) g = groupOf.get(owner);
            if (g != null) return g;
            if (owner != null) start = owner;
        }
        // 2. Walk up: a bridge without ACS isolation on its path to the root takes the device with it.
        for (PciBus bus = start.bus(); bus != null && !bus.isRoot(); bus = bus.upstream() == null ? null : bus.upstream().bus()) {
            PciBridge self = bus.upstream();
            if (self == null) continue;
            if (acsPathEnabled(self)) break;
            start = self;
            Integer g = groupOf.get(self);
            if (g != null) return g;
        }
        // 3. Other functions sharing start's requester-ID aliases.
        for (var e : groupOf.entrySet()) {
            for (int rid : e.getKey().dmaAliases()) {
                if (rid != e.getKey().rid() && start.dmaAliases().contains(rid)) return e.getValue();
            }
        }
        // 4. Functions of a multifunction device without ACS.
        if (multifunction(start) && !acsEnabled(start) && start.bus() != null) {
            for (PciFunction sib : start.bus().functions()) {
                if (sib == start || sib.deviceNumber() != start.deviceNumber() || acsEnabled(sib)) continue;
                Integer g = groupOf.get(sib);
                if (g != null) return g;
            }
        }
        if (start != f) {
            Integer g = groupOf.get(start);
            if (g != null) return g;
        }
        return groups.size();
    }

    /** The bridge that owns an alias requester ID (the PCIe-to-PCI bridge whose secondary bus is the alias's bus). */
    private static PciFunction aliasOwner(PciFunction f, int rid) {
        for (PciBus bus = f.bus(); bus != null && bus.upstream() != null; bus = bus.upstream().bus()) {
            PciBridge b = bus.upstream();
            if (b.rid() == rid || (b.secondaryBusNumber() == (rid >>> 8) && (rid & 0xFF) == 0)) return b;
        }
        return null;
    }

    static boolean multifunction(PciFunction f) {
        return (f.configRead(dev.vtd.platform.pci.PciRegs.HEADER_TYPE, 1)
                & dev.vtd.platform.pci.PciRegs.HEADER_TYPE_MULTIFUNCTION) != 0;
    }

    /** pci_acs_path_enabled(start, NULL, REQ_ACS_FLAGS): every bridge from start up to the root bus. */
    static boolean acsPathEnabled(PciBridge start) {
        PciFunction p = start;
        while (true) {
            if (!acsEnabled(p)) return false;
            PciBus bus = p.bus();
            if (bus == null || bus.isRoot() || bus.upstream() == null) return true;
            p = bus.upstream();
        }
    }

    /** pci_acs_enabled(pdev, REQ_ACS_FLAGS). */
    static boolean acsEnabled(PciFunction f) {
        PcieCapability pcie = f.pcie();
        if (pcie == null) return false;
        int type = pcie.deviceType();
        switch (type) {
            case PcieCapability.TYPE_PCI_TO_PCIE_BRIDGE:
                return false;
            case PcieCapability.TYPE_ROOT_PORT, PcieCapability.TYPE_DOWNSTREAM_PORT:
                return acsFlagsEnabled(f);
            case PcieCapability.TYPE_UPSTREAM_PORT: {
                PciBus bus = f.bus();
                PciBridge up = bus == null ? null : bus.upstream();
                if (up != null && up.pcie() != null && up.pcie().deviceType() == PcieCapability.TYPE_ROOT_PORT) {
                    return acsFlagsEnabled(f);
                }
                break;
            }
            default:
                break;
        }
        // PCIe 6.12.1.2: ACS applies to multifunction devices; a single function (or a VF) is trivially isolated.
        if (multifunction(f) && !f.isVirtualFunction()) return acsFlagsEnabled(f);
        return true;
    }

    /** pci_acs_flags_enabled: the ACS control register has every requested flag the capability supports. */
    static boolean acsFlagsEnabled(PciFunction f) {
        AcsCapability acs = null;
        for (Capability c : f.capabilities()) if (c instanceof AcsCapability a) acs = a;
        if (acs == null) return false;
        int cap = f.configRead(acs.offset() + AcsCapability.CAPABILITY, 2) & ACS_CAP_MASK;
        int want = REQ_ACS_FLAGS & (cap | AcsCapability.EGRESS_CONTROL);
        return (acs.control() & want) == want;
    }

    /** Group numbers, ascending. */
    public List<Integer> numbers() {
        return groups.keySet().stream().sorted().toList();
    }

    public List<PciDevice> members(int group) {
        return List.copyOf(groups.getOrDefault(group, List.of()));
    }

    public int groupOf(PciFunction f) {
        return groupOf.getOrDefault(f, -1);
    }
}

package dev.vtd.vmm.vfio;

import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;

import java.util.List;

/**
 * /dev/vfio/N: an IOMMU group as VFIO exposes it. The group is viable (VFIO_GROUP_FLAGS_VIABLE) only when every
 * function in it is bound to vfio-pci, to pci-stub, or to no driver; bridges (non-type-0 headers) do not count,
 * as in vfio_dev_driver_allowed. A group is in at most one container.
 */
public final class VfioGroup {
    private final Host host;
    private final int id;
    private VfioContainer container;

    VfioGroup(Host host, int id) {
        this.host = host;
        this.id = id;
    }

    public int id() { return id; }

    public List<PciFunction> members() {
        return host.pci().groupMembers(id);
    }

    /** The first member whose driver makes the group non-viable, or null when viable. */
    public PciFunction blocker() {
        for (PciFunction f : members()) {
            if (f.isBridge()) continue;
            String d = host.pci().driver(f);
            if (d != null && !d.equals(HostPci.VFIO_PCI) && !d.equals(HostPci.PCI_STUB)) return f;
        }
        return null;
    }

    public boolean viable() {
        return blocker() == null;
    }

    public VfioContainer container() { return container; }

    void setContainer(VfioContainer c) { this.container = c; }
}

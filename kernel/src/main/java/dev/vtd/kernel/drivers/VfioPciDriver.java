package dev.vtd.kernel.drivers;

import java.util.List;

/**
 * vfio-pci: takes a device for user-space drivers (a VMM). Probe refuses bridges (not a type 0 header) and devices
 * without an IOMMU group (-EINVAL, as vfio_pci_probe does). Binding leaves the device in its default domain; only
 * a VFIO container attaching the group moves it to an unmanaged domain.
 */
public final class VfioPciDriver implements PciDriver {
    public static final String NAME = "vfio-pci";

    @Override public String name() { return NAME; }
    @Override public String module() { return "vfio_pci"; }
    @Override public List<DeviceId> idTable() { return List.of(); }

    @Override
    public int probe(PciDevice dev, PciCore core) {
        if (!dev.normalHeader()) return -Errno.EINVAL.number;
        if (dev.group() < 0) return -Errno.EINVAL.number;
        return 0;
    }

    @Override
    public void remove(PciDevice dev, PciCore core) {
    }
}

package dev.vtd.kernel.drivers;

import java.util.List;

/**
 * A PCI driver (struct pci_driver): its name under /sys/bus/pci/drivers, the module it lives in, its static ID
 * table, and probe/remove. Probe returns 0 or a negative errno, as in the kernel.
 */
public interface PciDriver {
    /** One entry of an ID table (struct pci_device_id); {@link #ANY} matches anything. */
    record DeviceId(int vendor, int device, int subvendor, int subdevice, int classCode, int classMask) {
        public static final int ANY = -1;

        public static DeviceId of(int vendor, int device) {
            return new DeviceId(vendor, device, ANY, ANY, 0, 0);
        }

        public boolean matches(PciDevice d) {
            var ids = d.function().ids();
            return (vendor == ANY || vendor == ids.vendorId()) && (device == ANY || device == ids.deviceId())
                    && (subvendor == ANY || subvendor == ids.subsystemVendorId())
                    && (subdevice == ANY || subdevice == ids.subsystemId())
                    && ((ids.classCode() ^ classCode) & classMask) == 0;
        }
    }

    String name();

    /** The module providing the driver (lsmod's name), or null when built in. */
    String module();

    List<DeviceId> idTable();

    int probe(PciDevice dev, PciCore core);

    void remove(PciDevice dev, PciCore core);
}

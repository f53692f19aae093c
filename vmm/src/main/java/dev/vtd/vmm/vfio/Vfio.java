package dev.vtd.vmm.vfio;

import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.AssignmentException;
import dev.vtd.vmm.Vcpu;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;

import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/** The host's VFIO driver: its groups (/dev/vfio/N) and opening a device of a group in a container. */
public final class Vfio {
    private final Host host;
    private final Map<Integer, VfioGroup> groups = new HashMap<>();

    public Vfio(Host host) {
        this.host = host;
    }

    public Host host() { return host; }

    public synchronized VfioGroup group(PciFunction f) {
        return groups.computeIfAbsent(host.pci().group(f), id -> new VfioGroup(host, id));
    }

    /**
     * VFIO_GROUP_GET_DEVICE_FD and QEMU's realize checks: the function must be bound to vfio-pci; a function with
     * neither MSI nor MSI-X whose INTx line is shared with another device is refused (its line cannot be masked
     * at the device, so it cannot be given to a guest while the host still needs the line).
     */
    public VfioPciDevice open(VfioContainer container, PciFunction f, String id, String driverName, boolean romBar,
                              IntFunction<Vcpu> vcpus, boolean postedInterrupts) {
        String name = f.address();
        VfioGroup g = group(f);
        if (!HostPci.VFIO_PCI.equals(host.pci().driver(f))) {
            throw new AssignmentException(null, "vfio " + name + ": error getting device from group " + g.id()
                    + ": No such device\nVerify all devices in group " + g.id()
                    + " are bound to vfio-pci or pci-stub and not already in use");
        }
        if (f.msi() == null && f.msix() == null && f.interruptPin() != 0 && f.segment() != null) {
            int gsi = f.segment().intxGsi(f);
            for (PciFunction other : host.pci().functions()) {
                if (other == f || other.isBridge() || gsi < 0 || other.segment() == null) continue;
                if (other.segment().intxGsi(other) == gsi) {
                    host.log().warn("vfio-pci " + name + ": INTx (GSI " + gsi + ") is shared with " + other.address()
                            + " and the device has no MSI or MSI-X; refusing to assign it");
                    throw new AssignmentException(null, "vfio " + name
                            + ": Failed to setup INTx fd: Device or resource busy");
                }
            }
        }
        return new VfioPciDevice(host, f, id, driverName, romBar, vcpus, postedInterrupts);
    }
}

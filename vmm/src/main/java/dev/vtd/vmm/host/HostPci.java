package dev.vtd.vmm.host;

import dev.vtd.kernel.drivers.DriverException;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.drivers.PciDriver;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The host kernel's PCI core as the VMM uses it: which driver each function is bound to, binding and unbinding
 * the way libvirt does it through sysfs ({@code driver_override} and {@code drivers_probe}), and the kernel's
 * IOMMU groups. Everything here is the kernel's own state, so {@code lspci -k}, {@code /sys/kernel/iommu_groups}
 * and VFIO's group viability agree.
 */
public final class HostPci {
    /** Drivers VFIO accepts in a viable group besides its own (vfio_driver_allowed). */
    public static final String VFIO_PCI = "vfio-pci", PCI_STUB = "pci-stub";

    private final Kernel kernel;

    HostPci(Kernel kernel) {
        this.kernel = kernel;
    }

    /** The kernel's device for a function; VFs created since boot are added (pci_rescan_bus) first. */
    public PciDevice device(PciFunction f) {
        PciDevice d = kernel.pci().device(f.address());
        if (d == null) {
            kernel.rescan();
            d = kernel.pci().device(f.address());
        }
        if (d == null) throw new VmmException(f.address() + ": no such device in /sys/bus/pci/devices");
        return d;
    }

    public String driver(PciFunction f) {
        PciDriver d = device(f).driver();
        return d == null ? null : d.name();
    }

    /** echo DDDD:BB:DD.F > /sys/bus/pci/devices/DDDD:BB:DD.F/driver/unbind. */
    public void unbind(PciFunction f) {
        String d = driver(f);
        if (d == null) throw new VmmException("unbind " + f.address() + ": No such device (no driver bound)");
        try {
            kernel.pci().unbind(d, f.address());
        } catch (DriverException e) {
            throw new VmmException("unbind " + f.address() + " from " + d + ": " + e.getMessage());
        }
    }

    /**
     * Binds an unbound function to a driver as libvirt does: the driver's module is loaded, {@code driver_override}
     * names the driver, {@code drivers_probe} probes it.
     */
    public void bind(PciFunction f, String driver) {
        String cur = driver(f);
        if (cur != null) {
            throw new VmmException("bind " + f.address() + " to " + driver + ": Device or resource busy (bound to " + cur + ")");
        }
        try {
            if (kernel.pci().driver(driver) == null) kernel.modules().load(driver, List.of());
            kernel.pci().setDriverOverride(f.address(), driver);
            kernel.pci().probe(f.address());
        } catch (DriverException e) {
            throw new VmmException("bind " + f.address() + " to " + driver + ": " + e.getMessage());
        }
        if (!driver.equals(driver(f))) {
            kernel.pci().setDriverOverride(f.address(), "");
            throw new VmmException("bind " + f.address() + " to " + driver + ": No such device");
        }
    }

    /**
     * Gives a function back to the host (libvirt's reattach): unbound from vfio-pci or pci-stub, the override
     * cleared, and the kernel's drivers probed again.
     */
    public void reattach(PciFunction f) {
        String cur = driver(f);
        if (VFIO_PCI.equals(cur) || PCI_STUB.equals(cur)) unbind(f);
        try {
            kernel.pci().setDriverOverride(f.address(), "");
            kernel.pci().probe(f.address());
        } catch (DriverException e) {
            throw new VmmException("reattach " + f.address() + ": " + e.getMessage());
        }
    }

    /** Functions of the hierarchy. */
    public List<PciFunction> functions() {
        return kernel.machine().pci().allFunctions();
    }

    /** "0000:01:00.3" or "01:00.3" to a function, or null. */
    public PciFunction find(String address) {
        String a = address.trim();
        if (a.matches("[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]")) a = "0000:" + a;
        for (PciFunction f : functions()) if (f.address().equalsIgnoreCase(a)) return f;
        return null;
    }

    /** The function's IOMMU group number (/sys/bus/pci/devices/D/iommu_group). */
    public int group(PciFunction f) {
        device(f);
        int g = kernel.groups().groupOf(f);
        if (g < 0) throw new VmmException("no IOMMU group for " + f.address());
        return g;
    }

    public List<PciFunction> groupMembers(int group) {
        List<PciFunction> out = new ArrayList<>();
        for (PciDevice d : kernel.groups().members(group)) out.add(d.function());
        return out;
    }

    public Map<Integer, List<PciFunction>> groups() {
        Map<Integer, List<PciFunction>> out = new TreeMap<>();
        for (int g : kernel.groups().numbers()) out.put(g, groupMembers(g));
        return out;
    }
}

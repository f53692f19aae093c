package dev.vtd.kernel.shell;

import dev.vtd.kernel.drivers.DriverException;
import dev.vtd.kernel.drivers.PciCore;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.drivers.PciDriver;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.SriovCapability;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * /sys as far as PCI, drivers and IOMMU groups go: /sys/devices/pci0000:00/... (device directories nested under
 * their bridges, with vendor, device, class, driver_override, iommu_group, driver, sriov_numvfs),
 * /sys/bus/pci/{devices,drivers,drivers_probe}, /sys/kernel/iommu_groups/N/devices and /sys/module.
 */
final class SysFs {
    private SysFs() {}

    static Vfs.Dir root(Host host) {
        Kernel k = host.kernel();
        Map<String, Vfs.Node> sys = new LinkedHashMap<>();
        sys.put("bus", Vfs.Dir.of(Map.of("pci", busPci(k))));
        sys.put("devices", devices(k));
        sys.put("kernel", Vfs.Dir.of(Map.of("iommu_groups", iommuGroups(k))));
        sys.put("module", modules(k));
        // The ACPI tables firmware published (virt-host-validate looks for DMAR here).
        Map<String, Vfs.Node> tables = new LinkedHashMap<>();
        if (k.machine().dmar() != null) {
            byte[] raw = k.machine().dmar().encode();
            tables.put("DMAR", Vfs.File.readOnly(() -> new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1)));
        }
        sys.put("firmware", Vfs.Dir.of(Map.of("acpi", Vfs.Dir.of(Map.of("tables", Vfs.Dir.of(tables))))));
        return Vfs.Dir.of(sys);
    }

    /** devices/pci0000:00/0000:00:01.0/0000:01:00.3, relative to /sys. */
    static String devicePath(PciFunction f, String name) {
        List<String> parts = new ArrayList<>();
        parts.add(name);
        PciBus bus = f.bus();
        while (bus != null && bus.upstream() != null) {
            PciBridge b = bus.upstream();
            parts.addFirst(name(b));
            bus = b.bus();
        }
        int seg = f.segment() == null ? 0 : f.segment().number();
        parts.addFirst(String.format("pci%04x:%02x", seg, bus == null ? 0 : bus.number()));
        parts.addFirst("devices");
        return String.join("/", parts);
    }

    private static String name(PciFunction f) {
        int seg = f.segment() == null ? 0 : f.segment().number();
        return String.format("%04x:%02x:%02x.%d", seg, f.bus() == null ? 0 : f.bus().number(), f.deviceNumber(),
                f.functionNumber());
    }

    /** A link from a directory {@code depth} levels below /sys to a path relative to /sys. */
    private static Vfs.Link link(int depth, String target) {
        return new Vfs.Link("../".repeat(depth) + target);
    }

    private static Vfs.File attr(String value) {
        return Vfs.File.readOnly(() -> value + "\n");
    }

    private static Vfs.File store(java.util.function.Consumer<String> action) {
        return Vfs.File.writeOnly((text, append) -> {
            try {
                action.accept(text);
            } catch (DriverException e) {
                throw new Vfs.VfsException(e.errno().text);
            }
        });
    }

    private static Vfs.Dir busPci(Kernel k) {
        PciCore core = k.pci();
        Map<String, Vfs.Node> devs = new LinkedHashMap<>();
        for (PciDevice d : core.devices()) devs.put(d.name(), link(3, devicePath(d.function(), d.name())));
        Map<String, Vfs.Node> drivers = new LinkedHashMap<>();
        for (PciDriver drv : core.drivers()) drivers.put(drv.name(), driverDir(k, drv));
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        m.put("devices", Vfs.Dir.of(devs));
        m.put("drivers", Vfs.Dir.of(drivers));
        m.put("drivers_probe", store(core::probe));
        m.put("drivers_autoprobe", attr("1"));
        m.put("rescan", store(t -> k.rescan()));
        return Vfs.Dir.of(m);
    }

    private static Vfs.Dir driverDir(Kernel k, PciDriver drv) {
        PciCore core = k.pci();
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        for (PciDevice d : core.boundTo(drv.name())) m.put(d.name(), link(4, devicePath(d.function(), d.name())));
        m.put("bind", store(t -> core.bind(drv.name(), t)));
        m.put("unbind", store(t -> core.unbind(drv.name(), t)));
        m.put("new_id", store(t -> core.newId(drv.name(), t)));
        m.put("remove_id", store(t -> core.removeId(drv.name(), t)));
        m.put("uevent", Vfs.File.writeOnly((t, a) -> { }));
        if (drv.module() != null) m.put("module", link(4, "module/" + drv.module()));
        return Vfs.Dir.of(m);
    }

    private static Vfs.Dir devices(Kernel k) {
        // Build the nested tree: root-bus directories, then each device under its parent bridge.
        Map<String, Map<String, Vfs.Node>> dirs = new LinkedHashMap<>();
        Map<String, Vfs.Node> top = new LinkedHashMap<>();
        dirs.put("devices", top);
        for (PciDevice d : k.pci().devices()) {
            String path = devicePath(d.function(), d.name());
            String[] parts = path.split("/");
            StringBuilder at = new StringBuilder(parts[0]);
            for (int i = 1; i < parts.length; i++) {
                String parent = at.toString();
                at.append('/').append(parts[i]);
                String p = at.toString();
                if (!dirs.containsKey(p)) {
                    Map<String, Vfs.Node> entries = new LinkedHashMap<>();
                    dirs.put(p, entries);
                    dirs.get(parent).put(parts[i], Vfs.Dir.of(entries));
                }
            }
            dirs.get(path).putAll(deviceAttributes(k, d, parts.length));
        }
        return Vfs.Dir.of(top);
    }

    private static Map<String, Vfs.Node> deviceAttributes(Kernel k, PciDevice d, int depth) {
        PciFunction f = d.function();
        var ids = f.ids();
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        m.put("vendor", attr(String.format("0x%04x", ids.vendorId())));
        m.put("device", attr(String.format("0x%04x", ids.deviceId())));
        m.put("subsystem_vendor", attr(String.format("0x%04x", ids.subsystemVendorId())));
        m.put("subsystem_device", attr(String.format("0x%04x", ids.subsystemId())));
        m.put("class", attr(String.format("0x%06x", ids.classCode())));
        m.put("revision", attr(String.format("0x%02x", ids.revision())));
        m.put("enable", attr(f.memoryDecodeEnabled() || f.busMasterEnabled() ? "1" : "0"));
        m.put("driver_override", new Vfs.File(() -> (d.driverOverride() == null ? "(null)" : d.driverOverride()) + "\n",
                (text, append) -> {
                    try {
                        k.pci().setDriverOverride(d.name(), text);
                    } catch (DriverException e) {
                        throw new Vfs.VfsException(e.errno().text);
                    }
                }));
        if (d.group() >= 0) m.put("iommu_group", link(depth, "kernel/iommu_groups/" + d.group()));
        if (d.driver() != null) m.put("driver", link(depth, "bus/pci/drivers/" + d.driver().name()));
        if (f.isVirtualFunction() && f.physicalFunction() != null) {
            m.put("physfn", new Vfs.Link("../" + name(f.physicalFunction())));
        }
        SriovCapability sriov = f.sriov();
        if (sriov != null) {
            int total = f.configRead(sriov.offset() + SriovCapability.TOTAL_VFS, 2);
            m.put("sriov_totalvfs", attr(String.valueOf(total)));
            m.put("sriov_numvfs", new Vfs.File(() -> f.configRead(sriov.offset() + SriovCapability.NUM_VFS, 2) + "\n",
                    (text, append) -> setNumVfs(k, d, sriov, total, text)));
        }
        return m;
    }

    /** sriov_numvfs store: 0 disables; N enables N VFs only from 0 (EBUSY otherwise), at most TotalVFs. */
    private static void setNumVfs(Kernel k, PciDevice d, SriovCapability sriov, int total, String text)
            throws Vfs.VfsException {
        int n;
        try {
            n = Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new Vfs.VfsException("Invalid argument");
        }
        PciFunction f = d.function();
        int current = f.configRead(sriov.offset() + SriovCapability.NUM_VFS, 2);
        if (n < 0 || n > total) throw new Vfs.VfsException("Numerical result out of range");
        if (n != 0 && current != 0 && n != current) throw new Vfs.VfsException("Device or resource busy");
        if (n == current) return;
        if (n == 0) {
            f.configWrite(sriov.offset() + SriovCapability.CONTROL, 2, 0);
        } else {
            f.configWrite(sriov.offset() + SriovCapability.NUM_VFS, 2, n);
            f.configWrite(sriov.offset() + SriovCapability.CONTROL, 2,
                    SriovCapability.CTL_VF_ENABLE | SriovCapability.CTL_VF_MSE);
        }
        k.rescan();
    }

    private static Vfs.Dir iommuGroups(Kernel k) {
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        for (int g : k.groups().numbers()) {
            Map<String, Vfs.Node> devs = new LinkedHashMap<>();
            for (PciDevice d : k.groups().members(g)) devs.put(d.name(), link(4, devicePath(d.function(), d.name())));
            Map<String, Vfs.Node> group = new LinkedHashMap<>();
            group.put("devices", Vfs.Dir.of(devs));
            var dom = k.iommu() == null || k.groups().members(g).isEmpty() ? null
                    : k.iommu().domainOf(k.groups().members(g).getFirst().iommuDev());
            group.put("type", attr(dom == null ? "blocked" : switch (dom.type()) {
                case IDENTITY -> "identity";
                case DMA -> "DMA";
                case DMA_FQ -> "DMA-FQ";
                case UNMANAGED -> "unmanaged";
                case BLOCKED -> "blocked";
            }));
            m.put(String.valueOf(g), Vfs.Dir.of(group));
        }
        return Vfs.Dir.of(m);
    }

    private static Vfs.Dir modules(Kernel k) {
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        for (String mod : k.modules().loaded()) {
            m.put(mod, Vfs.Dir.of(Map.of("initstate", attr("live"), "refcnt",
                    attr(String.valueOf(k.modules().usedBy(mod).size())))));
        }
        return Vfs.Dir.of(m);
    }
}

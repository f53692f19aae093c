package dev.vtd.kernel.shell;

import dev.vtd.kernel.drivers.DriverException;
import dev.vtd.kernel.drivers.PciCore;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.drivers.PciDriver;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.platform.pci.Bar;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.SriovCapability;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
        sys.put("class", Vfs.Dir.of(Map.of("iommu", classIommu(k))));
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
        top.put("virtual", Vfs.Dir.of(Map.of("iommu", virtualIommu(k))));
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
        m.put("config", Vfs.File.readOnly(() -> config(f)));
        m.put("resource", attr(resource(f).stripTrailing()));
        for (Bar b : f.bars()) {
            if (b.size() > 0) m.put("resource" + b.index(), Vfs.File.readOnly(() -> ""));
        }
        m.put("irq", attr(String.valueOf(irq(f))));
        int cpus = Math.max(1, k.machine().cpu().count());
        m.put("numa_node", attr("-1"));
        m.put("local_cpulist", attr(cpus == 1 ? "0" : "0-" + (cpus - 1)));
        m.put("local_cpus", attr(cpumask(cpus)));
        m.put("modalias", attr(modalias(f)));
        m.put("uevent", attr(uevent(d)));
        if (k.iommu() != null && k.iommu().enabled()) {
            IntelIommu u = k.iommu().unitFor(d.iommuDev());
            if (u != null) m.put("iommu", link(depth, "devices/virtual/iommu/" + u.name()));
        }
        if (sriovVfs(k, f) instanceof Map<Integer, PciDevice> vfs) {
            for (var e : vfs.entrySet()) m.put("virtfn" + e.getKey(), new Vfs.Link("../" + e.getValue().name()));
        }
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

    /** The config attribute: the function's whole configuration space (256 or 4096 bytes), read live. */
    static String config(PciFunction f) {
        int size = f.config().size();
        StringBuilder sb = new StringBuilder(size);
        for (int off = 0; off < size; off += 4) {
            int v = f.configRead(off, 4);
            for (int i = 0; i < 4; i++) sb.append((char) ((v >>> (8 * i)) & 0xFF));
        }
        return sb.toString();
    }

    // ioport.h resource flags and pci_regs.h BAR type bits, as the resource attribute prints them.
    private static final long IORESOURCE_IO = 0x100, IORESOURCE_MEM = 0x200, IORESOURCE_PREFETCH = 0x2000,
            IORESOURCE_SIZEALIGN = 0x40000, IORESOURCE_MEM_64 = 0x100000;

    /**
     * resource_show: one "0x%016llx 0x%016llx 0x%016llx" line (start, end, flags) per resource: BARs 0-5, the ROM,
     * the six SR-IOV VF BAR apertures, and for a bridge its four window slots.
     */
    static String resource(PciFunction f) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            Bar b = f instanceof PciBridge && i >= 2 ? null : f.bar(i);
            if (b == null || b.size() == 0) {
                line(sb, 0, 0, 0);
                continue;
            }
            long flags = IORESOURCE_SIZEALIGN | switch (b.type()) {
                case IO -> IORESOURCE_IO | PciRegs.BAR_IO;
                case MEMORY32 -> IORESOURCE_MEM | (b.prefetchable() ? IORESOURCE_PREFETCH | 0x8 : 0);
                case MEMORY64 -> IORESOURCE_MEM | IORESOURCE_MEM_64 | 0x4 | (b.prefetchable() ? IORESOURCE_PREFETCH | 0x8 : 0);
            };
            long start = b.address();
            if (start == 0) line(sb, 0, 0, 0);
            else line(sb, start, start + b.size() - 1, flags);
        }
        line(sb, 0, 0, 0);                                        // expansion ROM
        SriovCapability s = f.sriov();
        for (int i = 0; i < 6; i++) {
            long[] vf = s == null ? null : vfAperture(f, s, i);
            if (vf == null) line(sb, 0, 0, 0);
            else line(sb, vf[0], vf[1], vf[2]);
        }
        if (f instanceof PciBridge) {
            // The bridge windows (pci_read_bridge_bases): I/O (never assigned here), memory, prefetchable memory,
            // then the unused fourth slot. A window the registers leave at zero is one Linux did not claim.
            line(sb, 0, 0, 0);
            int mb = f.configRead(PciRegs.MEMORY_BASE, 2), ml = f.configRead(PciRegs.MEMORY_BASE + 2, 2);
            long mBase = (long) (mb & 0xFFF0) << 16, mLimit = ((long) (ml & 0xFFF0) << 16) | 0xFFFFF;
            if (mBase != 0 && mBase <= mLimit) line(sb, mBase, mLimit, IORESOURCE_MEM);
            else line(sb, 0, 0, 0);
            int pb = f.configRead(PciRegs.PREF_MEMORY_BASE, 2), pl = f.configRead(PciRegs.PREF_MEMORY_LIMIT, 2);
            boolean p64 = (pb & 0xF) == 1;
            long pBase = (long) (pb & 0xFFF0) << 16, pLimit = ((long) (pl & 0xFFF0) << 16) | 0xFFFFF;
            if (p64) {
                pBase |= ((long) f.configRead(PciRegs.PREF_BASE_UPPER, 4) & 0xFFFF_FFFFL) << 32;
                pLimit |= ((long) f.configRead(PciRegs.PREF_LIMIT_UPPER, 4) & 0xFFFF_FFFFL) << 32;
            }
            if (pBase != 0 && Long.compareUnsigned(pBase, pLimit) <= 0) {
                line(sb, pBase, pLimit, IORESOURCE_MEM | IORESOURCE_PREFETCH | (p64 ? IORESOURCE_MEM_64 : 0));
            } else {
                line(sb, 0, 0, 0);
            }
            line(sb, 0, 0, 0);
        }
        return sb.toString();
    }

    /** A PF's VF BARn aperture (SR-IOV 3.3.14): base from the VF BAR registers, TotalVFs times the per-VF size. */
    private static long[] vfAperture(PciFunction f, SriovCapability s, int i) {
        int at = s.offset() + SriovCapability.VF_BAR0 + 4 * i;
        int lo = f.configRead(at, 4);
        if ((lo & PciRegs.BAR_IO) != 0) return null;
        boolean is64 = (lo & 0x6) == 0x4;
        long base = lo & 0xFFFF_FFF0L;
        // The size: the read-only low bits of the BAR register, as sizing with all ones would find.
        int mask = f.config().rwMask(at, 4);
        if (mask == 0) return null;
        long hiMask = is64 ? (long) f.config().rwMask(at + 4, 4) & 0xFFFF_FFFFL : 0;
        long per = Long.lowestOneBit((hiMask << 32) | (mask & 0xFFFF_FFF0L));
        if (per <= 0) return null;
        if (is64) base |= ((long) f.configRead(at + 4, 4) & 0xFFFF_FFFFL) << 32;
        if (base == 0) return null;
        long flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN | (lo & 0xF) | (is64 ? IORESOURCE_MEM_64 : 0)
                | ((lo & 0x8) != 0 ? IORESOURCE_PREFETCH : 0);
        long total = per * Math.max(1, s.totalVfs());
        return new long[] {base, base + total - 1, flags};
    }

    private static void line(StringBuilder sb, long start, long end, long flags) {
        sb.append(String.format("0x%016x 0x%016x 0x%016x%n", start, end, flags));
    }

    /** dev->irq: the legacy line routed for the pin (GSI 16 + INTx - 1 as the host's routing gives), else 0. */
    static int irq(PciFunction f) {
        int pin = f.configRead(PciRegs.INTERRUPT_PIN, 1);
        return pin == 0 || f.isVirtualFunction() ? 0 : 16 + pin - 1;
    }

    /** "%*pb" of a mask of the first {@code n} CPUs: hex, most significant first, commas between 32-bit words. */
    static String cpumask(int n) {
        int digits = (n + 3) / 4;
        StringBuilder hex = new StringBuilder();
        for (int d = digits - 1; d >= 0; d--) {
            int bits = Math.min(4, n - 4 * d);
            hex.append(Character.forDigit((1 << bits) - 1, 16));
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < hex.length(); i++) {
            int fromEnd = hex.length() - i;
            if (i > 0 && fromEnd % 8 == 0) out.append(',');
            out.append(hex.charAt(i));
        }
        return out.toString();
    }

    /** The modalias attribute (pci_uevent's MODALIAS). */
    static String modalias(PciFunction f) {
        var ids = f.ids();
        int cls = ids.classCode();
        return String.format("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", ids.vendorId(), ids.deviceId(),
                ids.subsystemVendorId(), ids.subsystemId(), (cls >> 16) & 0xFF, (cls >> 8) & 0xFF, cls & 0xFF);
    }

    private static String uevent(PciDevice d) {
        var ids = d.function().ids();
        StringBuilder sb = new StringBuilder();
        if (d.driver() != null) sb.append("DRIVER=").append(d.driver().name()).append('\n');
        sb.append(String.format("PCI_CLASS=%X%n", ids.classCode()));
        sb.append(String.format("PCI_ID=%04X:%04X%n", ids.vendorId(), ids.deviceId()));
        sb.append(String.format("PCI_SUBSYS_ID=%04X:%04X%n", ids.subsystemVendorId(), ids.subsystemId()));
        sb.append("PCI_SLOT_NAME=").append(d.name()).append('\n');
        sb.append("MODALIAS=").append(modalias(d.function()));
        return sb.toString();
    }

    /** The VFs of a PF by VF number, or null when the function has no SR-IOV capability. */
    private static Map<Integer, PciDevice> sriovVfs(Kernel k, PciFunction pf) {
        if (pf.sriov() == null) return null;
        Map<Integer, PciDevice> vfs = new TreeMap<>();
        for (PciDevice d : k.pci().devices()) {
            PciFunction f = d.function();
            if (f.isVirtualFunction() && f.physicalFunction() == pf) vfs.put(f.vfIndex(), d);
        }
        return vfs;
    }

    /**
     * /sys/class/iommu/dmarN (links to /sys/devices/virtual/iommu/dmarN) with intel-iommu/{version,address,cap,ecap,
     * domains_supported} and devices/ linking each device the unit translates.
     */
    private static Vfs.Dir classIommu(Kernel k) {
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        if (k.iommu() == null || !k.iommu().enabled()) return Vfs.Dir.of(m);
        for (IntelIommu u : k.iommu().units()) m.put(u.name(), link(2, "devices/virtual/iommu/" + u.name()));
        return Vfs.Dir.of(m);
    }

    private static Vfs.Dir virtualIommu(Kernel k) {
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        if (k.iommu() == null || !k.iommu().enabled()) return Vfs.Dir.of(m);
        for (IntelIommu u : k.iommu().units()) {
            Map<String, Vfs.Node> intel = new LinkedHashMap<>();
            int ver = u.version();
            intel.put("version", attr(((ver >> 4) & 0xF) + ":" + (ver & 0xF)));
            intel.put("address", attr(Long.toHexString(u.registerBase())));
            intel.put("cap", attr(Long.toHexString(u.cap().raw())));
            intel.put("ecap", attr(Long.toHexString(u.ecap().raw())));
            intel.put("domains_supported", attr(String.valueOf(1L << (4 + 2 * (int) (u.cap().raw() & 0x7)))));
            Map<String, Vfs.Node> devs = new LinkedHashMap<>();
            for (PciDevice d : k.pci().devices()) {
                if (k.iommu().unitFor(d.iommuDev()) == u) devs.put(d.name(), link(5, devicePath(d.function(), d.name())));
            }
            Map<String, Vfs.Node> unit = new LinkedHashMap<>();
            unit.put("intel-iommu", Vfs.Dir.of(intel));
            unit.put("devices", Vfs.Dir.of(devs));
            m.put(u.name(), Vfs.Dir.of(unit));
        }
        return Vfs.Dir.of(m);
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
            group.put("reserved_regions", attr(reservedRegions(k, k.groups().members(g)).stripTrailing()));
            m.put(String.valueOf(g), Vfs.Dir.of(group));
        }
        return Vfs.Dir.of(m);
    }

    /**
     * iommu_get_group_resv_regions for VT-d (intel_iommu_get_resv_regions): each member's RMRRs (direct, or
     * direct-relaxable for USB and graphics devices), 0-16 MiB direct-relaxable for an ISA bridge (the floppy
     * workaround), and the interrupt window as msi; same-type overlaps merged, sorted by start.
     */
    static String reservedRegions(Kernel k, List<PciDevice> members) {
        if (k.iommu() == null || !k.iommu().enabled() || members.isEmpty()) return "";
        record Region(long start, long end, String type) {}
        List<Region> regions = new ArrayList<>();
        for (PciDevice d : members) {
            int cls = d.function().ids().classCode() >>> 8;
            boolean relaxable = cls == 0x0c03 || cls >> 8 == 0x03;
            for (var r : k.iommu().rmrrsFor(d.iommuDev())) {
                regions.add(new Region(r.base(), r.limit(), relaxable ? "direct-relaxable" : "direct"));
            }
            if (cls == 0x0601) regions.add(new Region(0, (1L << 24) - 1, "direct-relaxable"));
            regions.add(new Region(dev.vtd.kernel.iommu.IommuSubsystem.MSI_WINDOW_BASE,
                    dev.vtd.kernel.iommu.IommuSubsystem.MSI_WINDOW_LAST, "msi"));
        }
        regions.sort(java.util.Comparator.comparingLong(Region::start).thenComparingLong(Region::end));
        List<Region> merged = new ArrayList<>();
        for (Region r : regions) {
            Region last = null;
            for (Region m : merged) if (m.type().equals(r.type()) && r.start() <= m.end() + 1 && r.end() >= m.start() - 1) last = m;
            if (last == null) {
                merged.add(r);
            } else {
                merged.set(merged.indexOf(last), new Region(Math.min(last.start(), r.start()), Math.max(last.end(), r.end()), r.type()));
            }
        }
        merged.sort(java.util.Comparator.comparingLong(Region::start));
        StringBuilder sb = new StringBuilder();
        for (Region r : merged) sb.append(String.format("0x%016x 0x%016x %s%n", r.start(), r.end(), r.type()));
        return sb.toString();
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

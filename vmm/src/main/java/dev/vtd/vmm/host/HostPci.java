package dev.vtd.vmm.host;

import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.AcsCapability;
import dev.vtd.platform.pci.Bar;
import dev.vtd.platform.pci.Capability;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.PciSegment;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The host's PCI core as the VMM needs it: which driver each function is bound to (sysfs
 * {@code /sys/bus/pci/devices/DDDD:BB:DD.F/driver}), bind/unbind, IOMMU groups, and the memory resources the
 * kernel assigned to BARs and bridge windows at boot.
 *
 * <p>IOMMU groups follow Linux's pci_device_group: a function shares the group of the DMA alias it hides behind
 * (everything below a PCIe-to-PCI or conventional bridge is one group with that bridge), and the functions of a
 * multifunction device share a group unless they have ACS; every other function is a group of its own.
 */
public final class HostPci {
    /** Drivers VFIO accepts in a viable group besides its own (vfio_driver_allowed). */
    public static final String VFIO_PCI = "vfio-pci", PCI_STUB = "pci-stub";

    private final PciHierarchy pci;
    private final SystemBus bus;
    private final KernelLog log;
    private final Map<PciFunction, String> drivers = new LinkedHashMap<>();
    private final Map<PciFunction, String> nativeDrivers = new LinkedHashMap<>();
    private final Map<PciFunction, Integer> groupOf = new LinkedHashMap<>();
    private final TreeMap<Integer, List<PciFunction>> groups = new TreeMap<>();
    private long mmioNext;

    /** Host MMIO window for BARs (between ECAM and the remapping units on the R630). */
    public static final long MMIO_BASE = 0x9000_0000L, MMIO_LIMIT = 0xC000_0000L;

    HostPci(PciHierarchy pci, SystemBus bus, KernelLog log) {
        this.pci = pci;
        this.bus = bus;
        this.log = log;
        mmioNext = MMIO_BASE;
        for (PciSegment s : pci.segments()) for (PciBus root : s.rootBuses()) assign(root);
        buildGroups();
        for (PciFunction f : pci.allFunctions()) {
            String d = nativeDriver(f);
            if (d != null) {
                drivers.put(f, d);
                nativeDrivers.put(f, d);
            }
        }
    }

    /** The driver a stock kernel binds to the function at boot, or null. */
    static String nativeDriver(PciFunction f) {
        if (f instanceof PciBridge b) return b.kind() == PciBridge.Kind.PCI_TO_PCI ? null : "pcieport";
        int vendor = f.ids().vendorId(), device = f.ids().deviceId();
        if (vendor == I350Nic.VENDOR_ID && device == I350Nic.DEVICE_ID) return "igb";
        if (vendor == I350Nic.VENDOR_ID && device == I350Nic.VF_DEVICE_ID) return "igbvf";
        if ((f.ids().classCode() >>> 8) == 0x0C03) return "ehci-pci";
        return null;
    }

    // ---- resources (pci_assign_unassigned_resources) ----------------------------------------------------

    private void assign(PciBus b) {
        for (PciFunction f : b.functions()) {
            if (f instanceof PciBridge br) {
                mmioNext = (mmioNext + 0xF_FFFFL) & ~0xF_FFFFL;     // windows have 1 MiB granularity
                long start = mmioNext;
                assign(br.secondaryBus());
                mmioNext = (mmioNext + 0xF_FFFFL) & ~0xF_FFFFL;
                long end = mmioNext == start ? start + 0x10_0000L : mmioNext;
                mmioNext = end;
                br.configWrite(PciRegs.MEMORY_BASE, 2, (int) (start >>> 16) & 0xFFF0);
                br.configWrite(PciRegs.MEMORY_LIMIT, 2, (int) ((end - 1) >>> 16) & 0xFFF0);
                br.configWrite(PciRegs.COMMAND, 2, br.command() | PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
                continue;
            }
            List<Bar> bars = new ArrayList<>(f.bars());
            bars.sort((x, y) -> Long.compare(y.size(), x.size()));
            for (Bar bar : bars) {
                if (!bar.isMemory()) continue;
                long at = (mmioNext + bar.size() - 1) & -bar.size();
                if (at + bar.size() > MMIO_LIMIT) continue;
                int reg = PciRegs.BAR0 + 4 * bar.index();
                f.configWrite(reg, 4, (int) at);
                if (bar.type() == Bar.Type.MEMORY64) f.configWrite(reg + 4, 4, (int) (at >>> 32));
                mmioNext = at + bar.size();
            }
        }
    }

    // ---- groups -----------------------------------------------------------------------------------------

    private void buildGroups() {
        int next = 0;
        Map<Integer, Integer> byAliasOrSlot = new LinkedHashMap<>();
        for (PciFunction f : pci.allFunctions()) {
            PciFunction isolation = isolationRoot(f);
            Integer g = null;
            if (isolation != f) g = groupOf.get(isolation);
            if (g == null && !hasAcs(f) && f.bus() != null && !(f instanceof PciBridge)) {
                g = byAliasOrSlot.get((f.bus().number() << 8) | (f.deviceNumber() << 3));
            }
            if (g == null) g = next++;
            groupOf.put(f, g);
            groups.computeIfAbsent(g, k -> new ArrayList<>()).add(f);
            if (!hasAcs(f) && f.bus() != null && !(f instanceof PciBridge)) {
                byAliasOrSlot.putIfAbsent((f.bus().number() << 8) | (f.deviceNumber() << 3), g);
            }
        }
    }

    /** The topmost non-PCIe bridge or PCIe-to-PCI bridge above f (its DMA alias), or f itself. */
    private static PciFunction isolationRoot(PciFunction f) {
        PciFunction root = f;
        PciBus b = f.bus();
        for (int depth = 0; b != null && depth < 256; depth++) {
            PciBridge up = b.upstream();
            if (up == null) break;
            if (up.kind() == PciBridge.Kind.PCIE_TO_PCI || up.kind() == PciBridge.Kind.PCI_TO_PCI) root = up;
            b = up.bus();
        }
        return root;
    }

    private static boolean hasAcs(PciFunction f) {
        for (Capability c : f.capabilities()) if (c instanceof AcsCapability) return true;
        return f.isVirtualFunction();
    }

    public int group(PciFunction f) {
        Integer g = groupOf.get(f);
        if (g == null) throw new VmmException("no IOMMU group for " + f.address());
        return g;
    }

    public List<PciFunction> groupMembers(int group) {
        return List.copyOf(groups.getOrDefault(group, List.of()));
    }

    public Map<Integer, List<PciFunction>> groups() {
        Map<Integer, List<PciFunction>> out = new TreeMap<>();
        groups.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }

    // ---- drivers ----------------------------------------------------------------------------------------

    public synchronized String driver(PciFunction f) {
        return drivers.get(f);
    }

    /** echo DDDD:BB:DD.F > /sys/bus/pci/drivers/DRIVER/unbind. */
    public synchronized void unbind(PciFunction f) {
        String d = drivers.remove(f);
        if (d == null) {
            throw new VmmException("unbind " + f.address() + ": No such device (no driver bound)");
        }
        if (d.equals(VFIO_PCI) || d.equals(PCI_STUB)) f.configWrite(PciRegs.COMMAND, 2, 0);
        log.info(d + " " + f.address() + ": unbound from " + d);
    }

    /** echo DDDD:BB:DD.F > /sys/bus/pci/drivers/DRIVER/bind (the function must have no driver). */
    public synchronized void bind(PciFunction f, String driver) {
        String cur = drivers.get(f);
        if (cur != null) {
            throw new VmmException("bind " + f.address() + " to " + driver + ": Device or resource busy (bound to " + cur + ")");
        }
        if (!driver.equals(VFIO_PCI) && !driver.equals(PCI_STUB) && !driver.equals(nativeDrivers.get(f))) {
            throw new VmmException("bind " + f.address() + " to " + driver + ": No such device");
        }
        drivers.put(f, driver);
        if (driver.equals(VFIO_PCI)) log.info("vfio-pci " + f.address() + ": enabling device");
    }

    /** The driver the function had at boot (for libvirt's reattach). */
    public String nativeDriverOf(PciFunction f) {
        return nativeDrivers.get(f);
    }

    /** Functions of the hierarchy. */
    public List<PciFunction> functions() {
        return pci.allFunctions();
    }

    /** "0000:01:00.3" or "01:00.3" to a function, or null. */
    public PciFunction find(String address) {
        String a = address.trim();
        if (a.matches("[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]")) a = "0000:" + a;
        for (PciFunction f : pci.allFunctions()) if (f.address().equalsIgnoreCase(a)) return f;
        return null;
    }

    SystemBus bus() {
        return bus;
    }
}

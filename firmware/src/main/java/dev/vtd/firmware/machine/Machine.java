package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.platform.bus.DmaPort;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.interrupt.InterruptFabric;
import dev.vtd.platform.iommu.Iommu;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciSegment;
import dev.vtd.platform.pci.UntranslatedDma;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A whole machine as firmware hands it to an OS: RAM, the CPU's address and port buses, a virtual
 * clock, the PCI hierarchy with its devices, the DMA-remapping units at their register bases and the
 * ACPI DMAR table that describes them. Devices' DMA reaches the unit that owns them per the DMAR
 * device scopes (or memory directly when no unit covers them, or when VT-d is disabled in the BIOS).
 * The device-TLB of every function with an ATS capability is known to the unit that owns it (by the
 * function's requester ID), so device-TLB invalidations through that unit's queue reach it.
 */
public final class Machine implements AutoCloseable {
    /** A remapping unit as installed: its DRHD register base and the hardware. */
    public record Unit(int index, long registerBase, int segment, RemappingUnit hardware, Iommu iommu) {}

    private final String name;
    private final String description;
    private final CpuInfo cpu;
    private final boolean vtdEnabledInBios;
    private final PhysicalMemory memory;
    private final SystemBus bus;
    private final VirtualClock clock;
    private final PciHierarchy pci;
    private final InterruptFabric interrupts;
    private final DmarTable dmar;
    private final long dmarAddress;
    private final List<Unit> units;
    private final Map<String, Object> devices;
    private final Map<Integer, AtomicReferenceArray<DmaPort>> routes = new LinkedHashMap<>();
    private final DmaPort untranslated;

    Machine(String name, String description, CpuInfo cpu, boolean vtdEnabledInBios, PhysicalMemory memory,
            SystemBus bus, VirtualClock clock, PciHierarchy pci, InterruptFabric interrupts, DmarTable dmar,
            long dmarAddress, List<Unit> units, Map<String, Object> devices) {
        this.name = name;
        this.description = description;
        this.cpu = cpu;
        this.vtdEnabledInBios = vtdEnabledInBios;
        this.memory = memory;
        this.bus = bus;
        this.clock = clock;
        this.pci = pci;
        this.interrupts = interrupts;
        this.dmar = dmar;
        this.dmarAddress = dmarAddress;
        this.units = List.copyOf(units);
        this.devices = Map.copyOf(devices);
        this.untranslated = new UntranslatedDma(memory, interrupts);
        for (PciSegment s : pci.segments()) {
            AtomicReferenceArray<DmaPort> table = new AtomicReferenceArray<>(1 << 16);
            routes.put(s.number(), table);
            s.setDmaRouter(rid -> route(s, table, rid));
        }
        registerDeviceTlbs();
    }

    /**
     * Registers each ATS-capable function's device-TLB with its owning unit's invalidation queue and
     * page request queue, keyed by the function's requester ID as enumeration assigned it.
     */
    private void registerDeviceTlbs() {
        for (PciFunction f : pci.allFunctions()) {
            if (f.ats() == null || f.rid() < 0) continue;
            Unit u = unitFor(f);
            if (u != null) u.iommu().deviceTlbs().register(f.rid(), f.ats().deviceTlb());
        }
    }

    /** Owner of a requester ID, decided once per ID: the wiring of a real platform does not change. */
    private DmaPort route(PciSegment s, AtomicReferenceArray<DmaPort> table, int rid) {
        DmaPort p = table.get(rid & 0xFFFF);
        if (p != null) return p;
        p = untranslated;
        if (vtdEnabledInBios && dmar != null) {
            DmarStructure.Drhd d = DmarScopes.owner(dmar, s, rid & 0xFFFF);
            if (d != null) {
                Unit u = unitAt(d.registerBase());
                if (u != null) p = u.hardware();
            }
        }
        table.compareAndSet(rid & 0xFFFF, null, p);
        return table.get(rid & 0xFFFF);
    }

    public String name() { return name; }
    public String description() { return description; }
    public CpuInfo cpu() { return cpu; }
    /** The BIOS setup's "Intel VT for Directed I/O" switch: off means no DMAR table and no units. */
    public boolean vtdEnabledInBios() { return vtdEnabledInBios; }
    public PhysicalMemory memory() { return memory; }
    public SystemBus bus() { return bus; }
    public VirtualClock clock() { return clock; }
    public PciHierarchy pci() { return pci; }
    public InterruptFabric interrupts() { return interrupts; }
    /** The ACPI DMAR table, or null when VT-d is disabled in the BIOS. */
    public DmarTable dmar() { return vtdEnabledInBios ? dmar : null; }
    public long dmarAddress() { return dmarAddress; }
    /** The remapping units in DMAR table order (empty with VT-d disabled in the BIOS). */
    public List<Unit> units() { return vtdEnabledInBios ? units : List.of(); }

    public Unit unitAt(long registerBase) {
        for (Unit u : units()) if (u.registerBase() == registerBase) return u;
        return null;
    }

    /** The unit that owns a device's DMA, or null if none does. */
    public Unit unitFor(PciFunction f) {
        if (dmar() == null || f.segment() == null) return null;
        DmarStructure.Drhd d = DmarScopes.owner(dmar, f.segment(), f.dma().requesterId());
        return d == null ? null : unitAt(d.registerBase());
    }

    /** A device model by the name it was added with (e.g. "edu0", "i350"). */
    public <T> T device(String deviceName, Class<T> type) {
        Object o = devices.get(deviceName);
        return type.isInstance(o) ? type.cast(o) : null;
    }

    public Map<String, Object> devices() {
        return devices;
    }

    /** The PCI function at "BB:DD.F" (segment 0) or "SSSS:BB:DD.F", or null. */
    public PciFunction function(String bdf) {
        Objects.requireNonNull(bdf);
        String[] p = bdf.split("[:.]");
        try {
            int seg = p.length == 4 ? Integer.parseInt(p[0], 16) : 0;
            int off = p.length == 4 ? 1 : 0;
            if (p.length - off != 3) return null;
            int b = Integer.parseInt(p[off], 16), d = Integer.parseInt(p[off + 1], 16), fn = Integer.parseInt(p[off + 2]);
            PciSegment s = pci.segment(seg);
            return s == null || d > 31 || fn > 7 ? null : s.lookup(b, (d << 3) | fn);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    public List<PciFunction> functions() {
        return new ArrayList<>(pci.allFunctions());
    }

    @Override
    public void close() {
        memory.close();
    }

    /** CPU identification as /proc/cpuinfo shows it. */
    public record CpuInfo(String vendorId, String modelName, int count, List<String> flags) {
        public boolean hasFlag(String f) {
            return flags.contains(f);
        }
    }
}

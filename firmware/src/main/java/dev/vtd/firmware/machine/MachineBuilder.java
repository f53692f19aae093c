package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.platform.interrupt.Hpet;
import dev.vtd.platform.interrupt.InterruptFabric;
import dev.vtd.platform.interrupt.InterruptRequestPort;
import dev.vtd.platform.interrupt.IoApic;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.Iommu;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.Cf8ConfigMechanism;
import dev.vtd.platform.pci.EcamWindow;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciSegment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Assembles a {@link Machine}: RAM ranges, remapping units at register bases, the DMAR table, and a
 * PCI population step that runs once memory and the clock exist. Nothing is half-built: a failure
 * in any step releases the memory and throws.
 */
public final class MachineBuilder {
    /** What a PCI population step can use. */
    public interface Context {
        VirtualClock clock();

        PhysicalMemory memory();

        PciHierarchy pci();

        /** Names a device model so tools and tests can find it ({@link Machine#device}). */
        <T> T register(String name, T device);
    }

    /** Populates the PCI hierarchy (segments, root buses, devices). Bus enumeration follows. */
    @FunctionalInterface
    public interface PciPopulator {
        void populate(Context ctx);
    }

    private record UnitSpec(long base, RemappingUnit.Config config) {}

    private final String name;
    private String description = "";
    private Machine.CpuInfo cpu = new Machine.CpuInfo("GenuineIntel", "Intel(R) Xeon(R) CPU", 1, List.of("vmx"));
    private boolean vtdEnabledInBios = true;
    private final PhysicalMemory.Builder ram = PhysicalMemory.builder();
    private final List<UnitSpec> units = new ArrayList<>();
    private DmarTable dmar;
    private long dmarAddress;
    private long ecamBase = -1;
    private int ecamBuses = 256;
    private PciPopulator populator = ctx -> ctx.pci().addSegment(0).addRootBus();
    private record IoApicSpec(int id, long base, int gsiBase) {}

    private final List<IoApicSpec> ioapics = new ArrayList<>();

    private record HpetSpec(int id, long base) {}

    private final List<HpetSpec> hpets = new ArrayList<>();

    /**
     * An HPET block with its number and register base. Its source ID comes from the DMAR HPET scope
     * with the same enumeration ID; its FSB messages go to the unit whose DRHD lists it.
     */
    public MachineBuilder hpet(int id, long base) {
        hpets.add(new HpetSpec(id, base));
        return this;
    }

    public MachineBuilder(String name) {
        this.name = name;
    }

    public MachineBuilder description(String d) { this.description = d; return this; }
    public MachineBuilder cpu(Machine.CpuInfo c) { this.cpu = c; return this; }
    public MachineBuilder vtdEnabledInBios(boolean on) { this.vtdEnabledInBios = on; return this; }
    public MachineBuilder ram(long base, long size) { ram.ram(base, size); return this; }
    public MachineBuilder ecam(long base, int buses) { this.ecamBase = base; this.ecamBuses = buses; return this; }
    public MachineBuilder pci(PciPopulator p) { this.populator = p; return this; }

    /**
     * An I/O APIC with its APIC ID, register base and first GSI. Its source ID (for interrupt
     * remapping) comes from the DMAR IOAPIC scope with the same enumeration ID, and its interrupt
     * requests go to the unit whose DRHD lists it.
     */
    public MachineBuilder ioapic(int id, long base, int gsiBase) {
        ioapics.add(new IoApicSpec(id, base, gsiBase));
        return this;
    }

    /** The DMAR table the firmware publishes, at a physical address (for the ACPI banner line). */
    public MachineBuilder dmar(DmarTable table, long address) {
        this.dmar = table;
        this.dmarAddress = address;
        return this;
    }

    /** A remapping unit whose registers sit at {@code base} (the DRHD register base address). */
    public MachineBuilder unit(long base, RemappingUnit.Config config) {
        units.add(new UnitSpec(base, config));
        return this;
    }

    /** An interrupt source's requester ID and where its requests go, per its DMAR scope. */
    private record ScopedSource(int sourceId, InterruptRequestPort port) {}

    private ScopedSource scopedSource(int scopeType, int enumerationId, List<Machine.Unit> installed,
                                      InterruptFabric fabric) {
        int sid = 0;
        InterruptRequestPort port = (src, a, d) -> fabric.deliver(a, d);
        if (vtdEnabledInBios && dmar != null) {
            for (DmarStructure.Drhd d : dmar.drhds()) {
                for (DeviceScope sc : d.scopes()) {
                    if (sc.type() != scopeType || sc.enumerationId() != enumerationId || sc.path().isEmpty()) continue;
                    var last = sc.path().getLast();
                    sid = (sc.startBus() << 8) | (last.device() << 3) | last.function();
                    for (Machine.Unit u : installed) {
                        if (u.registerBase() == d.registerBase()) port = u.hardware()::interruptRequest;
                    }
                }
            }
        }
        return new ScopedSource(sid, port);
    }

    public Machine build() {
        PhysicalMemory memory = ram.build();
        try {
            VirtualClock clock = new VirtualClock();
            SystemBus bus = new SystemBus(memory);
            InterruptFabric fabric = new InterruptFabric();
            for (int i = 0; i < Math.max(1, cpu.count()); i++) {
                fabric.addLocalApic(cpu.hasFlag("x2apic") ? LocalApic.x2apic(i) : LocalApic.xapic(i));
            }
            PciHierarchy pci = new PciHierarchy();
            pci.setGsiSink(fabric);
            Map<String, Object> devices = new LinkedHashMap<>();
            Context ctx = new Context() {
                public VirtualClock clock() { return clock; }
                public PhysicalMemory memory() { return memory; }
                public PciHierarchy pci() { return pci; }
                public <T> T register(String n, T device) {
                    if (devices.putIfAbsent(n, device) != null) throw new IllegalArgumentException("device name '" + n + "' used twice");
                    return device;
                }
            };
            populator.populate(ctx);
            for (PciSegment s : pci.segments()) s.enumerate();
            PciSegment seg0 = pci.segment(0);
            if (seg0 != null) {
                bus.mapPorts("pci-conf1", 0xCF8, 8, new Cf8ConfigMechanism(seg0));
                if (ecamBase >= 0) bus.mapMmio("pci-ecam", ecamBase, new EcamWindow(seg0, 0, ecamBuses - 1));
            }
            pci.attach(bus);
            List<Machine.Unit> installed = new ArrayList<>();
            if (vtdEnabledInBios) {
                for (UnitSpec u : units) {
                    Iommu iommu = Iommu.create(u.config, memory, fabric);
                    bus.mapMmio(u.config.name(), u.base, iommu.unit());
                    installed.add(new Machine.Unit(installed.size(), u.base, 0, iommu.unit(), iommu));
                }
            }
            for (IoApicSpec io : ioapics) {
                ScopedSource src = scopedSource(DeviceScope.TYPE_IOAPIC, io.id, installed, fabric);
                IoApic ioapic = new IoApic(io.id, src.sourceId, src.port);
                fabric.addIoApic(ioapic, io.gsiBase);
                bus.mapMmio("ioapic" + io.id, io.base, ioapic);
                devices.put("ioapic" + io.id, ioapic);
            }
            for (HpetSpec h : hpets) {
                ScopedSource src = scopedSource(DeviceScope.TYPE_MSI_CAPABLE_HPET, h.id, installed, fabric);
                Hpet hpet = new Hpet(h.id, src.sourceId, clock, src.port, fabric);
                bus.mapMmio("hpet" + h.id, h.base, hpet);
                devices.put("hpet" + h.id, hpet);
            }
            return new Machine(name, description, cpu, vtdEnabledInBios, memory, bus, clock, pci, fabric, dmar,
                    dmarAddress, installed, devices);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
    }
}

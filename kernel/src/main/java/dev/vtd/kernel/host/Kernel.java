package dev.vtd.kernel.host;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.drivers.IgbDriver;
import dev.vtd.kernel.drivers.KernelServices;
import dev.vtd.kernel.drivers.Modules;
import dev.vtd.kernel.drivers.PciCore;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.drivers.PciDriver;
import dev.vtd.kernel.drivers.PcieportDriver;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelCmdline;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciSegment;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One boot of the kernel on a powered-on machine: banner and command line; the IOMMU layer when the firmware
 * publishes a DMAR table (interrupt remapping at APIC setup, then DMA remapping, with every PCI device probed
 * into an IOMMU group and its default domain before translation is switched on); BAR assignment; the built-in
 * port driver; and udev's coldplug loading igb for the I350 ports.
 */
public final class Kernel implements KernelServices {
    /** Where BARs go: between the R630's ECAM and the units, below q35's ECAM. */
    static final long MMIO_WINDOW_BASE = 0x9000_0000L, MMIO_WINDOW_LIMIT = 0xB000_0000L;
    /** The kernel's page pool: at most 64 MiB at the top of the largest RAM range below 4 GiB. */
    static final long POOL_MAX = 64L << 20;

    private final Host host;
    private final Machine machine;
    private final Host.BiosSettings bios;
    private final KernelCmdline cmdline;
    private final KernelLog log;
    private final KernelIrq irq;
    private final PageAllocator pages;
    private final PciCore pci;
    private final Modules modules;
    private final IommuGroups groups;
    private final Map<PciFunction, PciDevice> byFunction = new IdentityHashMap<>();
    private IommuSubsystem iommu;
    private int apicSeen;

    Kernel(Host host, Machine machine, Host.BiosSettings bios, KernelCmdline cmdline) {
        this.host = host;
        this.machine = machine;
        this.bios = bios;
        this.cmdline = cmdline;
        this.log = Host.newLog(machine);
        this.irq = Host.newIrq(machine);
        this.pages = pool(machine.memory());
        this.pci = new PciCore(this);
        this.modules = new Modules(pci);
        this.groups = new IommuGroups(byFunction::get);
    }

    private static PageAllocator pool(PhysicalMemory memory) {
        PhysicalMemory.Region best = null;
        for (PhysicalMemory.Region r : memory.regions()) {
            if (r.end() > (1L << 32)) continue;
            if (best == null || r.size() > best.size()) best = r;
        }
        if (best == null) best = memory.regions().getFirst();
        long size = Math.min(POOL_MAX, (best.size() / 4) & -PageAllocator.PAGE);
        return new PageAllocator(memory, best.end() - size, size);
    }

    void boot() {
        log.notice("Linux version " + Host.KERNEL_RELEASE + " (mockbuild@x86-039.build.eng.bos.redhat.com) (gcc version "
                + "4.8.5 20150623 (Red Hat 4.8.5-11) (GCC) ) #1 SMP Wed Oct 19 11:24:13 EDT 2016");
        log.info("Command line: " + cmdline.raw());
        log.notice("Kernel command line: " + cmdline.raw());
        if (machine.dmar() == null) {
            // No DMAR table: intel_iommu_setup still prints its option lines; nothing else happens.
            for (String m : cmdline.messages()) log.info(m);
        } else {
            iommu = IommuSubsystem.builder(machine.dmar(), Host.units(machine), machine.memory())
                    .dmarAddress(machine.dmarAddress()).cmdline(cmdline).log(log).clock(machine.clock()).irq(irq)
                    .pages(pages).defaultOn(false).x2apicCpu(machine.cpu().hasFlag("x2apic"))
                    .rmrrRelaxable(this::rmrrRelaxable).deviceLabel(this::label)
                    .onProbe(this::probeAll)
                    .boot();
        }
        if (byFunction.isEmpty()) enumerate();
        setupIoapicPins();
        for (PciSegment s : machine.pci().segments()) Resources.assign(s, MMIO_WINDOW_BASE, MMIO_WINDOW_LIMIT);
        pci.registerDriver(new PcieportDriver());
        // udev coldplug: modules whose drivers match a present device are loaded.
        for (PciDevice d : pci.devices()) {
            if (d.vendor() == dev.vtd.platform.devices.I350Nic.VENDOR_ID
                    && d.device() == dev.vtd.platform.devices.I350Nic.DEVICE_ID && !modules.isLoaded("igb")) {
                modules.load("igb", List.of());
            }
        }
    }

    /** First vector the kernel gives IOAPIC pins (Linux's legacy IRQs start at ISA_IRQ_VECTOR(0) = 0x30). */
    static final int IOAPIC_VECTOR_BASE = 0x30;

    /**
     * With interrupt remapping on, every IOAPIC pin a PCI INTx line reaches gets an IRTE on the unit
     * whose DRHD lists the IOAPIC (source-ID validation against the IOAPIC's scope ID, level-triggered,
     * to CPU 0) and a remappable-format redirection entry naming it (intel_setup_ioapic_entry).
     */
    private void setupIoapicPins() {
        if (iommu == null || iommu.irqRemapping() == null) return;
        var ir = iommu.irqRemapping();
        java.util.Set<Integer> done = new java.util.HashSet<>();
        for (PciDevice d : pci.devices()) {
            PciFunction f = d.function();
            if (f.segment() == null || f.isVirtualFunction()) continue;
            int gsi = f.segment().intxGsi(f);
            if (gsi < 0 || !done.add(gsi)) continue;
            var pin = machine.interrupts().pinFor(gsi);
            if (pin == null) continue;
            dev.vtd.kernel.iommu.IntelIommu unit = ioapicUnit(pin.ioapic().id());
            if (unit == null || !ir.covers(unit)) continue;
            int vector = IOAPIC_VECTOR_BASE + (gsi % 0xB0);
            int index = ir.allocate(unit, 1);
            int dest = ir.x2apicMode() ? 0 : dev.vtd.platform.iommu.ir.Irte.xapicDestination(0);
            ir.program(unit, index, dev.vtd.platform.iommu.ir.Irte.remapped(vector, dest, false, false, true, 0)
                    .withSourceValidation(dev.vtd.platform.iommu.ir.Irte.SVT_SID, 0, pin.ioapic().sourceId()));
            pin.ioapic().setRedirection(pin.pin(), dev.vtd.platform.interrupt.IoApic.remappableEntry(index, vector, true));
            ioapicPins.put(gsi, new IoapicPin(unit.name(), index, vector));
        }
    }

    /** An IOAPIC pin set up through interrupt remapping. */
    public record IoapicPin(String unit, int irteIndex, int vector) {}

    private final java.util.Map<Integer, IoapicPin> ioapicPins = new java.util.TreeMap<>();

    /** GSI -> the IRTE and vector its IOAPIC pin uses (empty without interrupt remapping). */
    public java.util.Map<Integer, IoapicPin> ioapicPins() {
        return java.util.Collections.unmodifiableMap(ioapicPins);
    }

    private dev.vtd.kernel.iommu.IntelIommu ioapicUnit(int ioapicId) {
        for (var drhd : machine.dmar().drhds()) {
            for (var sc : drhd.scopes()) {
                if (sc.type() == dev.vtd.firmware.acpi.DeviceScope.TYPE_IOAPIC && sc.enumerationId() == ioapicId) {
                    for (var u : iommu.units()) if (u.registerBase() == drhd.registerBase()) return u;
                }
            }
        }
        return null;
    }

    /** Linux's device_add order: all functions of a bus, then the buses below its bridges, in order. */
    private void enumerate() {
        for (PciSegment s : machine.pci().segments()) {
            for (PciBus root : s.rootBuses()) addBus(root);
        }
    }

    private void addBus(PciBus bus) {
        List<PciFunction> fns = new ArrayList<>(bus.functions());
        for (PciFunction f : fns) {
            if (acsRequested()) enableAcs(f);
            PciDevice d = new PciDevice(f);
            byFunction.put(f, d);
            pci.addDevice(d);
        }
        for (PciFunction f : fns) if (f instanceof PciBridge b) addBus(b.secondaryBus());
    }

    /** pci_request_acs: the Intel IOMMU driver asks for ACS when it finds a DMAR table and is not disabled. */
    private boolean acsRequested() {
        return machine.dmar() != null && cmdline.iommuEnabled(false);
    }

    /** pci_std_enable_acs: source validation, request and completion redirect, upstream forwarding, as supported. */
    static void enableAcs(PciFunction f) {
        for (var c : f.capabilities()) {
            if (!(c instanceof dev.vtd.platform.pci.AcsCapability acs)) continue;
            int cap = f.configRead(acs.offset() + dev.vtd.platform.pci.AcsCapability.CAPABILITY, 2);
            int want = cap & IommuGroups.REQ_ACS_FLAGS;
            f.configWrite(acs.offset() + dev.vtd.platform.pci.AcsCapability.CONTROL, 2, acs.control() | want);
        }
    }

    /** iommu_device_register's bus probe: each covered device gets a group and its default domain. */
    private void probeAll(IommuSubsystem s) {
        iommu = s;
        enumerate();
        for (PciDevice d : pci.devices()) probeIommu(d);
    }

    private void probeIommu(PciDevice d) {
        if (iommu == null || !iommu.enabled() || iommu.unitFor(d.iommuDev()) == null) return;
        int g = groups.add(d);
        log.info("pci " + d.name() + ": Adding to iommu group " + g);
        iommu.probeDevice(d.iommuDev());
    }

    /**
     * Functions that appeared since boot (SR-IOV VFs): added, probed into the IOMMU and offered to drivers.
     * Returns the new devices.
     */
    public List<PciDevice> rescan() {
        List<PciDevice> added = new ArrayList<>();
        for (PciSegment s : machine.pci().segments()) {
            for (PciFunction f : s.allFunctions()) {
                if (byFunction.containsKey(f)) continue;
                PciDevice d = new PciDevice(f);
                byFunction.put(f, d);
                pci.addDevice(d);
                probeIommu(d);
                added.add(d);
            }
        }
        for (PciDevice d : added) pci.attach(d);
        return added;
    }

    private boolean rmrrRelaxable(PciDev dev) {
        PciDevice d = pci.device(dev.name());
        if (d == null) return false;
        int cls = d.classCode();
        return (cls >>> 8) == 0x0C03 || (cls >>> 16) == 0x03;
    }

    private String label(PciDev dev) {
        PciDevice d = pci.device(dev.name());
        return (d == null || d.driver() == null ? "pci" : d.driver().name()) + " " + dev.name();
    }

    /** Advances virtual time; interrupts accepted by CPU 0's local APIC run the kernel's handlers. */
    void run(long ns) {
        machine.clock().step(ns);
        takeInterrupts();
    }

    /** Hands what CPU 0 accepted since the last call to the kernel's interrupt layer, and runs the handlers. */
    public void takeInterrupts() {
        LocalApic cpu0 = machine.interrupts().localApic(0);
        if (cpu0 == null) return;
        apicSeen = Math.min(apicSeen, cpu0.acceptedCount());     // the log may have been cleared
        var fresh = cpu0.acceptedSince(apicSeen);
        for (var a : fresh) irq.deliver(KernelIrq.MSI_ADDRESS_BASE, a.vector());
        apicSeen += fresh.size();
        irq.dispatchPending();
    }

    /** /proc/interrupts, reduced: one line per requested vector with its count on CPU 0. */
    public String procInterrupts() {
        StringBuilder sb = new StringBuilder("            CPU0\n");
        for (var e : irq.counts().entrySet()) {
            sb.append(String.format(" %s: %10d  %s%n", "PCI-MSI", e.getValue(), e.getKey()));
        }
        return sb.toString();
    }

    /** The igb adapter bound to a device, or null. */
    public IgbDriver.Adapter igb(String bdf) {
        PciDevice d = pci.device(bdf);
        return d != null && d.driverData() instanceof IgbDriver.Adapter a ? a : null;
    }

    public Host host() { return host; }
    @Override public Machine machine() { return machine; }
    public Host.BiosSettings bios() { return bios; }
    public KernelCmdline cmdline() { return cmdline; }
    @Override public KernelLog log() { return log; }
    @Override public KernelIrq irq() { return irq; }
    @Override public PageAllocator pages() { return pages; }
    @Override public IommuSubsystem iommu() { return iommu; }
    public PciCore pci() { return pci; }
    public Modules modules() { return modules; }
    public IommuGroups groups() { return groups; }

    /** Whether a group may be handed to a user-space driver: every member bound to vfio-pci or pci-stub, unbound,
     *  or a bridge (vfio's viability rule). */
    public boolean groupViable(int group) {
        for (PciDevice d : groups.members(group)) {
            PciDriver drv = d.driver();
            if (drv == null || !d.normalHeader()) continue;
            if (!drv.name().equals("vfio-pci") && !drv.name().equals("pci-stub")) return false;
        }
        return true;
    }
}

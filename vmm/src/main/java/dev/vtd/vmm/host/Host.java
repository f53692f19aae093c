package dev.vtd.vmm.host;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelCmdline;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.kernel.log.BootClock;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciSegment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A booted host: the machine, its kernel's IOMMU layer (DMAR parsing, units brought up, every PCI function
 * probed onto its default domain), interrupt remapping, the PCI core's drivers and IOMMU groups, and the RAM
 * guests get. {@link #run(long)} advances virtual time and lets the CPUs take their interrupts.
 */
public final class Host implements AutoCloseable {
    public static final String DEFAULT_CMDLINE = "intel_iommu=on";
    /** The kernel's page pool: 64 MiB just below 2 GiB on the R630 (the low RAM region's top). */
    public static final long POOL_SIZE = 64L << 20;

    private final Machine machine;
    private final KernelLog log;
    private final KernelIrq irq;
    private final IommuSubsystem iommu;
    private final HostPci pci;
    private final HostInterrupts interrupts;
    private final HostRam ram;
    private final PageAllocator pages;
    private final Map<PciFunction, PciDev> kernelDevices = new LinkedHashMap<>();

    private Host(Machine machine, String cmdline) {
        this.machine = machine;
        this.log = new KernelLog(BootClock.following(machine.clock()));
        this.irq = new KernelIrq(null, null);
        PhysicalMemory mem = machine.memory();
        PhysicalMemory.Region low = mem.regions().getFirst();
        long poolBase = low.end() - Math.min(POOL_SIZE, low.size() / 4);
        this.pages = new PageAllocator(mem, poolBase, low.end() - poolBase);
        Map<Long, dev.vtd.platform.bus.MmioDevice> units = new LinkedHashMap<>();
        for (Machine.Unit u : machine.units()) units.put(u.registerBase(), u.hardware());
        if (machine.dmar() == null) throw new IllegalArgumentException(machine.name() + ": VT-d is disabled in the BIOS");
        this.iommu = IommuSubsystem.builder(machine.dmar(), units, mem).dmarAddress(machine.dmarAddress())
                .cmdline(KernelCmdline.parse(cmdline)).log(log).x2apicCpu(machine.cpu().hasFlag("x2apic")).clock(machine.clock()).irq(irq).pages(pages)
                .topology(topology(machine)).boot();
        this.interrupts = new HostInterrupts(machine, irq, pages, log, iommu);
        this.pci = new HostPci(machine.pci(), machine.bus(), log);
        for (PciFunction f : machine.functions()) {
            PciDev d = kernelDev(f);
            kernelDevices.put(f, d);
            iommu.probeDevice(d);
        }
        this.ram = new HostRam(mem, poolBase, low.end());
    }

    /** Boots the kernel on a machine (the machine is closed with the host). */
    public static Host boot(Machine machine, String cmdline) {
        return new Host(machine, cmdline);
    }

    /** The default machine: the seeds' Dell R630 with {@code intel_iommu=on}. */
    public static Host bootR630() {
        return boot(Presets.r630().build(), DEFAULT_CMDLINE);
    }

    private static IommuSubsystem.PciTopology topology(Machine m) {
        return new IommuSubsystem.PciTopology() {
            @Override
            public int secondaryBus(int segment, int bus, int devfn) {
                PciSegment s = m.pci().segment(segment);
                PciFunction f = s == null ? null : s.lookup(bus, devfn);
                return f instanceof PciBridge b ? b.secondaryBusNumber() : -1;
            }

            @Override
            public int subordinateBus(int segment, int bus, int devfn) {
                PciSegment s = m.pci().segment(segment);
                PciFunction f = s == null ? null : s.lookup(bus, devfn);
                return f instanceof PciBridge b ? b.subordinateBusNumber() : -1;
            }
        };
    }

    /** The kernel's view of a function: its requester ID and the alias a bridge above substitutes. */
    private static PciDev kernelDev(PciFunction f) {
        int seg = f.segment() == null ? 0 : f.segment().number();
        int rid = f.rid();
        int seen = f.dma().requesterId();
        List<Integer> aliases = seen == rid ? List.of() : List.of(seen);
        return new PciDev(seg, rid, aliases, PciDev.DEFAULT_DMA_MASK);
    }

    public Machine machine() { return machine; }
    public KernelLog log() { return log; }
    public IommuSubsystem iommu() { return iommu; }
    public HostPci pci() { return pci; }
    public HostInterrupts interrupts() { return interrupts; }
    public HostRam ram() { return ram; }
    public PageAllocator pages() { return pages; }
    public int cpuCount() { return machine.interrupts().localApics().size(); }

    /** The kernel's PciDev for a function (probed at boot). */
    public PciDev kernelDevice(PciFunction f) {
        PciDev d = kernelDevices.get(f);
        if (d == null) {
            d = kernelDev(f);
            kernelDevices.put(f, d);
            iommu.probeDevice(d);
        }
        return d;
    }

    /** Advances virtual time by ns (devices run their timers), then the CPUs take pending interrupts. */
    public void run(long ns) {
        long end = machine.clock().now() + ns;
        while (true) {
            long next = machine.clock().nextDeadline();
            if (next < 0 || next > end) break;
            machine.clock().advanceTo(next);
            interrupts.service();
        }
        machine.clock().advanceTo(end);
        interrupts.service();
    }

    /** lspci -nn on the host (the kernel's view). */
    public List<String> lspci() {
        List<String> out = new ArrayList<>();
        for (PciFunction f : machine.functions()) out.add(PciNames.lspciLine(f, f.address().substring(5)));
        return out;
    }

    @Override
    public void close() {
        machine.close();
    }
}

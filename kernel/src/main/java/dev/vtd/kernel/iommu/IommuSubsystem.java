package dev.vtd.kernel.iommu;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.DmarFormatter;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.PciPath;
import dev.vtd.kernel.log.BootClock;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The host kernel's IOMMU layer on an Intel platform: boot (DMAR parsing, iommu_subsys_init, intel_iommu_init
 * with per-unit bring-up, as Linux logs them), device probing onto default domains, domain allocation and
 * attachment (context entries for the device and its DMA aliases), RMRR identity mappings, and the fault
 * handlers. The DMA API on top is {@code dev.vtd.kernel.dma.DmaOps}.
 */
public final class IommuSubsystem {
    /** IOMMU_RESV_MSI: the interrupt address window no DMA mapping may use. */
    public static final long MSI_WINDOW_BASE = RemappingUnit.INTERRUPT_RANGE_BASE;
    public static final long MSI_WINDOW_LAST = RemappingUnit.INTERRUPT_RANGE_BASE + RemappingUnit.INTERRUPT_RANGE_SIZE - 1;

    /** Bridge bus numbers, for device scopes with multi-hop paths and sub-hierarchy scopes. */
    public interface PciTopology {
        /** Secondary bus of the bridge at bus/devfn, or -1 when that is not a bridge. */
        int secondaryBus(int segment, int bus, int devfn);

        /** Subordinate (highest) bus below the bridge at bus/devfn, or -1. */
        int subordinateBus(int segment, int bus, int devfn);

        PciTopology NONE = new PciTopology() {
            @Override public int secondaryBus(int segment, int bus, int devfn) { return -1; }
            @Override public int subordinateBus(int segment, int bus, int devfn) { return -1; }
        };
    }

    /** Everything boot needs; see {@link #builder}. */
    public static final class Builder {
        private final DmarTable table;
        private final Map<Long, ? extends MmioDevice> units;
        private final PhysicalMemory memory;
        private long dmarAddress;
        private KernelCmdline cmdline = KernelCmdline.defaults();
        private KernelLog log;
        private VirtualClock clock;
        private KernelIrq irq;
        private PageAllocator pages;
        private boolean defaultOn = true;
        private IntelIommu.InvalidationMode invalidation = IntelIommu.InvalidationMode.AUTO;
        private PciTopology topology = PciTopology.NONE;
        private int fqSize = FlushQueue.DEFAULT_SIZE;
        private long fqTimeoutNs = FlushQueue.DEFAULT_TIMEOUT_NS;
        private boolean cpuX2apic;
        private java.util.function.Consumer<IommuSubsystem> probe = s -> { };
        private java.util.function.Predicate<PciDev> rmrrRelaxable = d -> false;
        private java.util.function.Function<PciDev, String> deviceLabel = d -> "pci " + d.name();

        private Builder(DmarTable table, Map<Long, ? extends MmioDevice> units, PhysicalMemory memory) {
            this.table = Objects.requireNonNull(table);
            this.units = Map.copyOf(units);
            this.memory = Objects.requireNonNull(memory);
        }

        /** Physical address of the DMAR table (for the ACPI banner line). */
        public Builder dmarAddress(long a) { this.dmarAddress = a; return this; }
        public Builder cmdline(KernelCmdline c) { this.cmdline = c; return this; }
        public Builder log(KernelLog l) { this.log = l; return this; }
        public Builder clock(VirtualClock c) { this.clock = c; return this; }
        /** The interrupt sink the units were built with (their fault events arrive there). */
        public Builder irq(KernelIrq i) { this.irq = i; return this; }
        /** Host RAM reserved for the kernel: page tables, context tables, coherent buffers. */
        public Builder pages(PageAllocator p) { this.pages = p; return this; }
        /** CONFIG_INTEL_IOMMU_DEFAULT_ON: translation without intel_iommu=on (default true). */
        public Builder defaultOn(boolean on) { this.defaultOn = on; return this; }
        public Builder invalidation(IntelIommu.InvalidationMode m) { this.invalidation = m; return this; }
        public Builder topology(PciTopology t) { this.topology = t; return this; }
        /** The CPU supports x2APIC (interrupt remapping then runs in x2APIC mode unless ruled out). */
        public Builder x2apicCpu(boolean on) { this.cpuX2apic = on; return this; }
        /**
         * Called once the units are set up and before translation is enabled (iommu_device_register probing
         * the bus): the place to probe devices into groups and default domains.
         */
        public Builder onProbe(java.util.function.Consumer<IommuSubsystem> p) { this.probe = Objects.requireNonNull(p); return this; }
        /** Devices whose RMRRs do not forbid an unmanaged domain (Linux: USB and graphics). */
        /** How dev_printk names a device: "DRIVER 0000:BB:DD.F" (default "pci 0000:BB:DD.F"). */
        public Builder deviceLabel(java.util.function.Function<PciDev, String> f) { this.deviceLabel = Objects.requireNonNull(f); return this; }
        public Builder rmrrRelaxable(java.util.function.Predicate<PciDev> p) { this.rmrrRelaxable = Objects.requireNonNull(p); return this; }
        /** Flush-queue size and timeout (defaults 256 entries, 10 ms). */
        public Builder flushQueue(int size, long timeoutNs) {
            if (size < 1 || timeoutNs < 0) throw new IllegalArgumentException("flush queue " + size + "/" + timeoutNs);
            this.fqSize = size;
            this.fqTimeoutNs = timeoutNs;
            return this;
        }

        public IommuSubsystem boot() {
            if (clock == null) clock = new VirtualClock();
            if (log == null) log = new KernelLog(BootClock.following(clock));
            if (irq == null) irq = new KernelIrq(clock, null);
            if (pages == null) pages = defaultPool(memory);
            IommuSubsystem s = new IommuSubsystem(this);
            s.bootSequence();
            return s;
        }

        /** The top quarter (at most 64 MiB) of the largest RAM region. */
        private static PageAllocator defaultPool(PhysicalMemory memory) {
            PhysicalMemory.Region best = null;
            for (PhysicalMemory.Region r : memory.regions()) if (best == null || r.size() > best.size()) best = r;
            if (best == null) throw new IllegalArgumentException("no RAM for the kernel's page pool");
            long size = Math.min(64L << 20, (best.size() / 4) & -PageAllocator.PAGE);
            if (size == 0) size = best.size();
            return new PageAllocator(memory, best.end() - size, size);
        }
    }

    public static Builder builder(DmarTable table, Map<Long, ? extends MmioDevice> units, PhysicalMemory memory) {
        return new Builder(table, units, memory);
    }

    /** Boots with defaults for everything but the essentials. */
    public static IommuSubsystem boot(DmarTable table, Map<Long, ? extends MmioDevice> units, PhysicalMemory memory,
                                      KernelCmdline cmdline, KernelLog log) {
        return builder(table, units, memory).cmdline(cmdline).log(log).boot();
    }

    private static final class DeviceState {
        final PciDev dev;
        final IntelIommu unit;
        Domain current;
        Domain defaultDomain;

        DeviceState(PciDev dev, IntelIommu unit) {
            this.dev = dev;
            this.unit = unit;
        }
    }

    private final DmarTable table;
    private final Map<Long, ? extends MmioDevice> unitDevices;
    private final PhysicalMemory memory;
    private final long dmarAddress;
    private final KernelCmdline cmdline;
    private final KernelLog log;
    private final VirtualClock clock;
    private final KernelIrq irq;
    private final PageAllocator pages;
    private final boolean defaultOn;
    private final IntelIommu.InvalidationMode invalidation;
    private final PciTopology topology;
    private final int fqSize;
    private final long fqTimeoutNs;
    private final RateLimit faultRatelimit;
    private final boolean cpuX2apic;
    private final java.util.function.Consumer<IommuSubsystem> probeHook;
    private final java.util.function.Predicate<PciDev> rmrrRelaxable;
    private final java.util.function.Function<PciDev, String> deviceLabel;
    private IrqRemapping irqRemapping;

    private final List<IntelIommu> bySeq = new ArrayList<>();
    /** dmar_drhd_units order: specific units in reverse table order, then INCLUDE_PCI_ALL units. */
    private final List<IntelIommu> drhdList = new ArrayList<>();
    private final Map<Integer, DeviceState> devices = new LinkedHashMap<>();
    private final Map<Boolean, Domain> identityDomains = new HashMap<>();
    private boolean enabled;
    private boolean strict;
    private boolean passThroughDefault;
    private int nextDomainNumber;

    private IommuSubsystem(Builder b) {
        this.table = b.table;
        this.unitDevices = b.units;
        this.memory = b.memory;
        this.dmarAddress = b.dmarAddress;
        this.cmdline = b.cmdline;
        this.log = b.log;
        this.clock = b.clock;
        this.irq = b.irq;
        this.pages = b.pages;
        this.defaultOn = b.defaultOn;
        this.invalidation = b.invalidation;
        this.topology = b.topology;
        this.fqSize = b.fqSize;
        this.fqTimeoutNs = b.fqTimeoutNs;
        this.cpuX2apic = b.cpuX2apic;
        this.probeHook = b.probe;
        this.rmrrRelaxable = b.rmrrRelaxable;
        this.deviceLabel = b.deviceLabel;
        this.faultRatelimit = new RateLimit(clock::now, RateLimit.DEFAULT_INTERVAL_NS, RateLimit.DEFAULT_BURST);
    }

    // ---- boot -------------------------------------------------------------------------------------------

    private void bootSequence() {
        for (String m : cmdline.messages()) {
            if (m.startsWith("Malformed") || m.contains("deprecated")) log.warn(m);
            else if (m.contains("Unknown option")) log.notice(m);
            else log.info(m);
        }
        // With interrupt remapping allowed, the DMAR table is parsed early (IR preparation at APIC setup);
        // otherwise intel_iommu_init parses it, after the generic IOMMU core has initialised.
        boolean parsed = false;
        if (!cmdline.intremapOff()) {
            parsed = parseDmarTable();
            // Interrupt remapping needs the invalidation queue; the register-only mode rules it out.
            if (parsed && invalidation != IntelIommu.InvalidationMode.REGISTER) {
                irqRemapping = IrqRemapping.enable(List.copyOf(bySeq), table, cmdline, cpuX2apic, memory, pages, log);
            }
        }
        subsysInit();
        if (cmdline.intremapOff()) parsed = parseDmarTable();
        enabled = cmdline.iommuEnabled(defaultOn) && parsed && !bySeq.isEmpty();
        if (!enabled) {
            // intel_disable_iommus: whatever firmware or a previous kernel left on is switched off.
            for (IntelIommu u : drhdList) {
                if ((u.registers().read32(dev.vtd.platform.iommu.regs.Reg.GSTS)
                        & dev.vtd.platform.iommu.regs.Reg.GSTS_TES) != 0) {
                    u.disableTranslation();
                }
            }
            return;
        }
        if (table.structuresOf(DmarStructure.Rmrr.class).isEmpty()) log.info("DMAR: No RMRR found");
        if (table.structuresOf(DmarStructure.Atsr.class).isEmpty()) log.info("DMAR: No ATSR found");
        if (table.structuresOf(DmarStructure.Satc.class).isEmpty()) log.info("DMAR: No SATC found");
        for (IntelIommu u : drhdList) u.initHardware(invalidation, irq, faultRatelimit);
        for (IntelIommu u : drhdList) {
            if (u.cap().cachingMode() && !strict) {
                log.info("DMAR: IOMMU batching disallowed due to virtualization");
                strict = true;
            }
        }
        probeHook.accept(this);
        for (IntelIommu u : drhdList) {
            u.enableTranslation();
            u.disableProtectedMemoryRegions();
        }
        log.info("DMAR: Intel(R) Virtualization Technology for Directed I/O");
    }

    /** iommu_subsys_init: the default domain type and the TLB invalidation policy. */
    private void subsysInit() {
        boolean ptFromCmdline = cmdline.passThrough() != KernelCmdline.Switch.DEFAULT;
        passThroughDefault = cmdline.passThroughDefault();
        strict = cmdline.strictDefault();
        Domain.Type def = passThroughDefault ? Domain.Type.IDENTITY : strict ? Domain.Type.DMA : Domain.Type.DMA_FQ;
        log.info("iommu: Default domain type: " + def.linuxName() + (ptFromCmdline ? " (set via kernel command line)" : ""));
        if (!passThroughDefault) {
            boolean strictFromCmdline = cmdline.strict() != KernelCmdline.Switch.DEFAULT && !cmdline.strictViaIntelIommu();
            log.info("iommu: DMA domain TLB invalidation policy: " + (strict ? "strict" : "lazy") + " mode"
                    + (strictFromCmdline ? " (set via kernel command line)" : ""));
        }
    }

    /**
     * dmar_table_init: the firmware's lines, with each new unit's register line after its DRHD line. A DRHD
     * whose registers read all ones stops the parse (Linux then gives up on the table).
     */
    private boolean parseDmarTable() {
        List<String> lines = DmarFormatter.kernelLog(table, dmarAddress);
        List<DmarStructure.Drhd> drhds = table.drhds();
        Map<List<Long>, IntelIommu> byKey = new LinkedHashMap<>();
        int drhdIndex = 0;
        for (String line : lines) {
            log.info(line);
            if (!line.startsWith("DMAR: DRHD base: ")) continue;
            DmarStructure.Drhd d = drhds.get(drhdIndex++);
            List<Long> key = List.of((long) d.segment(), d.registerBase());
            if (byKey.containsKey(key)) continue;
            MmioDevice mmio = unitDevices.get(d.registerBase());
            IntelIommu u = mmio == null ? null : new IntelIommu(byKey.size(), d, mmio, memory, pages, log);
            if (u == null || !u.present()) {
                log.warn(String.format("DMAR: [Firmware Bug]: Your BIOS is broken; DMAR reported at address %x returns all ones!",
                        d.registerBase()));
                log.info("DMAR: Parse DMAR table failure.");
                bySeq.clear();
                drhdList.clear();
                return false;
            }
            log.info(u.allocLine());
            byKey.put(key, u);
            bySeq.add(u);
            if (d.includePciAll()) drhdList.addLast(u);
            else drhdList.addFirst(u);
        }
        return true;
    }

    // ---- queries ----------------------------------------------------------------------------------------

    /** Interrupt remapping, or null when it is not enabled. */
    public IrqRemapping irqRemapping() { return irqRemapping; }

    /** True when DMA remapping is on (intel_iommu enabled and the units brought up). */
    public boolean enabled() { return enabled; }
    /** iommu.strict in effect (after the caching-mode override). */
    public boolean strict() { return strict; }
    public boolean passThroughDefault() { return passThroughDefault; }
    /** Units in dmarN order. */
    public List<IntelIommu> units() { return List.copyOf(bySeq); }
    public KernelLog log() { return log; }
    public KernelIrq irq() { return irq; }
    public VirtualClock clock() { return clock; }
    public PageAllocator pages() { return pages; }
    public PhysicalMemory memory() { return memory; }
    public KernelCmdline cmdline() { return cmdline; }
    public DmarTable table() { return table; }
    public RateLimit faultRatelimit() { return faultRatelimit; }

    /** The default domain type for new devices. */
    public Domain.Type defaultDomainType() {
        return passThroughDefault ? Domain.Type.IDENTITY : strict ? Domain.Type.DMA : Domain.Type.DMA_FQ;
    }

    /** dmar_find_matched_drhd_unit: the unit translating this device's DMA, or null. */
    public IntelIommu unitFor(PciDev dev) {
        for (IntelIommu u : drhdList) {
            DmarStructure.Drhd d = u.drhd();
            if (d.segment() != dev.segment()) continue;
            if (d.includePciAll()) return u;
            for (DeviceScope sc : d.scopes()) if (scopeMatches(sc, dev)) return u;
        }
        return null;
    }

    private boolean scopeMatches(DeviceScope sc, PciDev dev) {
        if (sc.type() != DeviceScope.TYPE_PCI_ENDPOINT && sc.type() != DeviceScope.TYPE_PCI_SUB_HIERARCHY) return false;
        int bus = sc.startBus();
        List<PciPath> path = sc.path();
        for (int i = 0; i < path.size() - 1; i++) {
            bus = topology.secondaryBus(dev.segment(), bus, devfn(path.get(i)));
            if (bus < 0) return false;
        }
        int devfn = devfn(path.getLast());
        if (((bus << 8) | devfn) == dev.requesterId()) return true;
        if (sc.type() == DeviceScope.TYPE_PCI_SUB_HIERARCHY) {
            int sec = topology.secondaryBus(dev.segment(), bus, devfn);
            int sub = topology.subordinateBus(dev.segment(), bus, devfn);
            return sec >= 0 && dev.bus() >= sec && dev.bus() <= sub;
        }
        return false;
    }

    private static int devfn(PciPath p) {
        return ((p.device() & 0x1F) << 3) | (p.function() & 7);
    }

    /** The RMRRs whose device scopes name this device. */
    public List<DmarStructure.Rmrr> rmrrsFor(PciDev dev) {
        List<DmarStructure.Rmrr> out = new ArrayList<>();
        for (DmarStructure.Rmrr r : table.structuresOf(DmarStructure.Rmrr.class)) {
            if (r.segment() != dev.segment()) continue;
            for (DeviceScope sc : r.scopes()) {
                if (scopeMatches(sc, dev)) {
                    out.add(r);
                    break;
                }
            }
        }
        return out;
    }

    // ---- domains ----------------------------------------------------------------------------------------

    /**
     * A new domain of {@code type} shaped by the unit of {@code forDevice}: AGAW the largest SAGAW supports up
     * to 57 bits, address width capped at MGAW, superpages as CAP.SLLPS allows (unless intel_iommu=sp_off).
     * IDENTITY returns the shared identity domain.
     */
    public synchronized Domain allocDomain(Domain.Type type, PciDev forDevice) {
        IntelIommu u = requireUnit(forDevice);
        if (type == Domain.Type.IDENTITY) return identityDomain(u);
        if (u.agaw() < 0) throw new IommuException("ENODEV", u.name() + ": SAGAW advertises no paging depth");
        if (type == Domain.Type.BLOCKED) {
            return new Domain(nextDomainNumber++, type, memory, pages, u.agaw(), u.cap().mgawBits(), 0, false, clock,
                    fqSize, fqTimeoutNs);
        }
        Domain d = new Domain(nextDomainNumber++, type, memory, pages, u.agaw(), u.cap().mgawBits(),
                u.superpageLevels(!cmdline.superpagesOff()), false, clock, fqSize, fqTimeoutNs);
        if (d.iovad() != null) {
            // iova_reserve_iommu_regions: the MSI window is never an IOVA.
            d.iovad().reserve(MSI_WINDOW_BASE >>> 12, MSI_WINDOW_LAST >>> 12);
        }
        return d;
    }

    private Domain identityDomain(IntelIommu u) {
        boolean hw = u.ecap().pt();
        return identityDomains.computeIfAbsent(hw, k -> {
            if (k) {
                return new Domain(nextDomainNumber++, Domain.Type.IDENTITY, memory, pages, u.agaw(),
                        u.cap().mgawBits(), 0, true, clock, fqSize, fqTimeoutNs);
            }
            // No pass-through support: page tables mapping every RAM range 1:1 (the old si_domain).
            Domain d = new Domain(nextDomainNumber++, Domain.Type.IDENTITY, memory, pages, u.agaw(),
                    u.cap().mgawBits(), u.superpageLevels(!cmdline.superpagesOff()), false, clock, fqSize, fqTimeoutNs);
            for (PhysicalMemory.Region r : memory.regions()) {
                if (Long.compareUnsigned(r.end() - 1, d.apertureEnd()) > 0) continue;
                d.map(r.base(), r.base(), r.size(), PageTable.PROT_READ | PageTable.PROT_WRITE);
            }
            return d;
        });
    }

    private IntelIommu requireUnit(PciDev dev) {
        if (!enabled) throw new IommuException("ENODEV", dev.name() + ": DMA remapping is not enabled");
        IntelIommu u = unitFor(dev);
        if (u == null) throw new IommuException("ENODEV", dev.name() + ": no remapping unit covers this device");
        return u;
    }

    private static int key(PciDev dev) {
        return (dev.segment() << 16) | dev.requesterId();
    }

    /**
     * Probes a device (iommu_probe_device): attaches it to a new default domain of the default type (the shared
     * identity domain under iommu=pt) and maps its RMRRs 1:1 there. Returns the default domain, or null when
     * remapping is off or no unit covers the device (its DMA then goes untranslated).
     */
    public synchronized Domain probeDevice(PciDev dev) {
        DeviceState st = devices.get(key(dev));
        if (st != null) return st.defaultDomain;
        if (!enabled) return null;
        IntelIommu u = unitFor(dev);
        if (u == null) return null;
        st = new DeviceState(dev, u);
        devices.put(key(dev), st);
        Domain d = allocDomain(defaultDomainType(), dev);
        st.defaultDomain = d;
        attach(dev, d);
        if (d.iovad() != null) mapRmrrs(dev, d);
        return d;
    }

    /** iommu_create_device_direct_mappings: RMRR ranges reserved in the IOVA space and mapped 1:1, read/write. */
    private void mapRmrrs(PciDev dev, Domain d) {
        for (DmarStructure.Rmrr r : rmrrsFor(dev)) {
            long base = r.base() & -PageAllocator.PAGE;
            long end = (r.limit() | (PageAllocator.PAGE - 1)) + 1;
            d.iovad().reserve(base >>> 12, (end >>> 12) - 1);
            for (long a = base; a < end; a += PageAllocator.PAGE) {
                if (d.iovaToPhys(a) < 0) {
                    d.map(a, a, PageAllocator.PAGE, PageTable.PROT_READ | PageTable.PROT_WRITE);
                }
            }
        }
    }

    /** The device's current domain (null when not probed). */
    public synchronized Domain domainOf(PciDev dev) {
        DeviceState st = devices.get(key(dev));
        return st == null ? null : st.current;
    }

    public synchronized Domain defaultDomainOf(PciDev dev) {
        DeviceState st = devices.get(key(dev));
        return st == null ? null : st.defaultDomain;
    }

    /** Probed devices. */
    public synchronized List<PciDev> devices() {
        return devices.values().stream().map(s -> s.dev).toList();
    }

    /**
     * Attaches the device (and its DMA aliases) to {@code domain}: first blocks it (clears its context entries,
     * invalidating), then writes a context entry per requester ID with the domain's ID on this unit, its page
     * table root and AW (or TT = pass-through). A blocked domain leaves the entries cleared.
     */
    public synchronized void attach(PciDev dev, Domain domain) {
        DeviceState st = devices.get(key(dev));
        if (st == null) {
            IntelIommu u = requireUnit(dev);
            st = new DeviceState(dev, u);
            devices.put(key(dev), st);
        }
        IntelIommu u = st.unit;
        if (domain.type() == Domain.Type.UNMANAGED && !rmrrsFor(dev).isEmpty() && !rmrrRelaxable.test(dev)) {
            // device_rmrr_is_relaxable / device_is_rmrr_locked: the firmware needs its RMRR mapped 1:1 forever.
            log.warn(deviceLabel.apply(dev) + ": Device is ineligible for IOMMU domain attach due to platform RMRR requirement."
                    + "  Contact your platform vendor.");
            throw new IommuException("EPERM", dev.name() + " has an RMRR and cannot join an unmanaged domain");
        }
        if (domain.destroyed()) throw new IommuException("EINVAL", domain + " was destroyed");
        if (domain.pageTable() != null) {
            if (!u.cap().supportsLevels(domain.agaw() + 2) || domain.superpageLevels() > u.superpageLevels(true)) {
                throw new IommuException("EINVAL", dev.name() + ": " + domain + " is incompatible with " + u.name());
            }
        }
        blockTranslation(st);
        if (domain.type() == Domain.Type.BLOCKED) {
            st.current = domain;
            return;
        }
        int did = domain.attachUnit(u, dev);
        ContextEntry ce = domain.hwPassThrough()
                ? ContextEntry.passThrough(did, Math.max(1, IntelIommu.calculateAgaw(u.cap(), 64)))
                : ContextEntry.translated(did, domain.pageTable().root(), domain.agaw());
        for (int rid : dev.requesterIds()) u.installContext(rid, ce);
        st.current = domain;
    }

    /** Blocks all DMA from the device (the blocked domain). */
    public synchronized void block(PciDev dev) {
        DeviceState st = devices.get(key(dev));
        if (st == null) return;
        blockTranslation(st);
    }

    /** Returns the device to its default domain (e.g. after VFIO releases it). */
    public synchronized void attachDefault(PciDev dev) {
        DeviceState st = devices.get(key(dev));
        if (st == null || st.defaultDomain == null) throw new IommuException("ENODEV", dev.name() + " was not probed");
        attach(dev, st.defaultDomain);
    }

    /** device_block_translation: clear the context entries (with invalidation) and leave the old domain. */
    private void blockTranslation(DeviceState st) {
        for (int rid : st.dev.requesterIds()) st.unit.clearContext(rid);
        if (st.current != null) st.current.detachUnit(st.unit, st.dev);
        st.current = null;
    }

    /**
     * Removes a device (iommu_release_device): blocks it and frees its default domain unless that is the shared
     * identity domain.
     */
    public synchronized void releaseDevice(PciDev dev) {
        DeviceState st = devices.remove(key(dev));
        if (st == null) return;
        blockTranslation(st);
        Domain d = st.defaultDomain;
        if (d != null && d.type() != Domain.Type.IDENTITY && d.devices().isEmpty()) d.destroy();
    }
}

package dev.vtd.kernel.iommu;

import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.RootEntry;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The driver's state for one DMA-remapping unit (one DRHD), programmed only through its registers and through
 * tables in memory: bring-up (VER/CAP/ECAP, root table and SRTP, global invalidation, fault event, TE), per-unit
 * domain IDs, context entries, IOTLB invalidation, and the primary fault handler.
 */
public final class IntelIommu {
    /** How the driver invalidates: queued when the unit has ECAP.QI and enables it, else registers. */
    public enum InvalidationMode { AUTO, REGISTER, QUEUED }

    /** Domain ID 0 is reserved (caching-mode hardware tags invalid translations with it). */
    public static final int RESERVED_DID = 0;
    /** FLPT_DEFAULT_DID: reserved too; the identity (pass-through) domain's ID in legacy mode. */
    public static final int FLPT_DEFAULT_DID = 1;
    /** IDA_START_DID: first ID handed to a domain. */
    public static final int FIRST_DID = 2;
    /** DEFAULT_DOMAIN_ADDRESS_WIDTH: the widest guest address width a domain asks for. */
    public static final int DEFAULT_DOMAIN_ADDRESS_WIDTH = 57;
    /** FSTS bits the handler clears after draining (DMA_FSTS_PFO | DMA_FSTS_PPF | DMA_FSTS_PRO). */
    static final int FSTS_CLEAR = Reg.FSTS_PFO | Reg.FSTS_PPF | (1 << 7);
    static final int FRCD_BYTES = 16;

    private final int seqId;
    private final String name;
    private final DmarStructure.Drhd drhd;
    private final UnitRegisters regs;
    private final PhysicalMemory memory;
    private final PageAllocator pages;
    private final KernelLog log;
    private final int version;
    private final Cap cap;
    private final Ecap ecap;
    private final int agaw;
    private final int msagaw;
    private final BitSet dids = new BitSet();
    private final Map<Integer, Long> contextTables = new HashMap<>();
    private long rootTable = -1;
    private Invalidator invalidator;
    private int faultVector = -1;
    private RateLimit faultRatelimit;
    private boolean translationEnabled;

    private long contextFlushes, iotlbGlobalFlushes, iotlbDomainFlushes, iotlbPageFlushes, faultsHandled,
            faultsLogged;

    IntelIommu(int seqId, DmarStructure.Drhd drhd, MmioDevice mmio, PhysicalMemory memory, PageAllocator pages,
               KernelLog log) {
        this.seqId = seqId;
        this.name = "dmar" + seqId;
        this.drhd = drhd;
        this.regs = new UnitRegisters(mmio, name);
        this.memory = memory;
        this.pages = pages;
        this.log = log;
        this.version = regs.read32(Reg.VER);
        this.cap = new Cap(regs.read64(Reg.CAP));
        this.ecap = new Ecap(regs.read64(Reg.ECAP));
        this.agaw = calculateAgaw(cap, DEFAULT_DOMAIN_ADDRESS_WIDTH);
        this.msagaw = calculateAgaw(cap, 64);
        dids.set(RESERVED_DID);
        dids.set(FLPT_DEFAULT_DID);
    }

    // ---- identity -------------------------------------------------------------------------------------

    public int seqId() { return seqId; }
    public String name() { return name; }
    public DmarStructure.Drhd drhd() { return drhd; }
    public long registerBase() { return drhd.registerBase(); }
    public Cap cap() { return cap; }
    public Ecap ecap() { return ecap; }
    public int version() { return version; }
    public UnitRegisters registers() { return regs; }
    /** The AGAW (1 = 39-bit, 2 = 48-bit, 3 = 57-bit) domains on this unit use; -1 if SAGAW has none. */
    public int agaw() { return agaw; }
    public Invalidator invalidator() { return invalidator; }
    public boolean translationEnabled() { return translationEnabled; }
    public int faultVector() { return faultVector; }
    public long rootTable() { return rootTable; }

    /** True unless the registers read all ones (no unit behind the DRHD's address). */
    public boolean present() {
        return cap.raw() != -1L || ecap.raw() != -1L;
    }

    /** {@code DMAR: dmar0: reg_base_addr fbffc000 ver 1:0 cap 8d2078c106f0466 ecap f020df} (alloc_iommu). */
    public String allocLine() {
        return String.format("DMAR: %s: reg_base_addr %x ver %d:%d cap %x ecap %x", name, drhd.registerBase(),
                (version >>> 4) & 0xF, version & 0xF, cap.raw(), ecap.raw());
    }

    /** width_to_agaw: DIV_ROUND_UP(width - 30, 9). */
    public static int widthToAgaw(int width) {
        return (width - 30 + 8) / 9;
    }

    /** agaw_to_width: 30 + 9 * agaw, capped at 64. */
    public static int agawToWidth(int agaw) {
        return Math.min(30 + 9 * agaw, 64);
    }

    /** __iommu_calculate_agaw: the largest AGAW SAGAW supports at or below width_to_agaw(maxWidth); -1 if none. */
    public static int calculateAgaw(Cap cap, int maxWidth) {
        int sagaw = cap.sagaw();
        for (int a = Math.min(widthToAgaw(maxWidth), 4); a >= 0; a--) {
            if ((sagaw & (1 << a)) != 0) return a;
        }
        return -1;
    }

    /** fls(CAP.SLLPS & 3): 0 none, 1 with 2 MiB, 2 with 1 GiB. */
    public int superpageLevels(boolean allowed) {
        if (!allowed) return 0;
        int m = cap.sllps() & 3;
        return 32 - Integer.numberOfLeadingZeros(m);
    }

    // ---- bring-up -------------------------------------------------------------------------------------

    /**
     * init_dmars for this unit: stop translation left on by firmware, clear stale faults, choose the
     * invalidation interface (logged), reserve DIDs, install the root table (SRTP + global invalidation), and
     * wire the fault event to a vector of {@code irq}.
     */
    void initHardware(InvalidationMode mode, KernelIrq irq, RateLimit ratelimit) {
        this.faultRatelimit = ratelimit;
        if ((regs.read32(Reg.GSTS) & Reg.GSTS_TES) != 0) {
            log.warn("DMAR: Translation was enabled for " + name + " but we are not in kdump mode");
            disableTranslation();
        }
        handleFaults();
        // intel_iommu_init_qi: a queue interrupt remapping already enabled is kept; anything else is restarted.
        QueuedInvalidator qi = invalidator instanceof QueuedInvalidator q ? q : null;
        if (qi == null && (regs.read32(Reg.GSTS) & Reg.GSTS_QIES) != 0) {
            regs.globalCommand(Reg.GCMD_QIE, false, "queued invalidation disable");
        }
        if (qi == null && mode != InvalidationMode.REGISTER && ecap.qi()) {
            qi = QueuedInvalidator.enable(regs, memory, pages, cap);
        }
        if (qi != null) {
            invalidator = qi;
        } else {
            if (mode == InvalidationMode.QUEUED) {
                log.err("DMAR: " + name + ": queued invalidation requested but the unit did not enable it");
            }
            invalidator = new RegisterInvalidator(regs, cap, ecap.iroBytes(), log::err);
        }
        log.info("DMAR: " + name + ": Using " + invalidator.kind() + " invalidation");
        rootTable = pages.allocPage();
        setRootEntry();
        faultVector = irq.requestIrq(name, this::handleFaults);
        // dmar_set_interrupt: program the MSI (FEDATA, FEADDR, FEUADDR) then unmask (FECTL.IM = 0).
        regs.write32(Reg.FEDATA, KernelIrq.msiData(faultVector));
        regs.write32(Reg.FEADDR, (int) irq.msiAddress());
        regs.write32(Reg.FEUADDR, (int) (irq.msiAddress() >>> 32));
        regs.write32(Reg.FECTL, 0);
    }

    /** dmar_enable_qi for interrupt remapping (before DMA remapping is set up); false when the unit refuses. */
    boolean enableQueuedInvalidationEarly() {
        if (invalidator instanceof QueuedInvalidator) return true;
        if (!ecap.qi()) return false;
        if ((regs.read32(Reg.GSTS) & Reg.GSTS_QIES) != 0) {
            regs.globalCommand(Reg.GCMD_QIE, false, "queued invalidation disable");
        }
        QueuedInvalidator qi = QueuedInvalidator.enable(regs, memory, pages, cap);
        if (qi == null) return false;
        invalidator = qi;
        return true;
    }

    /** iommu_set_root_entry: RTADDR, SRTP with the RTPS poll, then global context and IOTLB invalidation. */
    private void setRootEntry() {
        regs.write64(Reg.RTADDR, rootTable);
        regs.globalCommand(Reg.GCMD_SRTP, true, "set root table pointer");
        if (cap.esrtps()) return;   // the unit invalidates its caches itself on SRTP
        flushContext(Invalidator.CC_GLOBAL, 0, 0);
        flushIotlb(Invalidator.IOTLB_GLOBAL, 0, 0, 0, false);
    }

    /** GCMD.TE with the GSTS.TES poll. */
    void enableTranslation() {
        regs.globalCommand(Reg.GCMD_TE, true, "enable translation");
        translationEnabled = true;
    }

    void disableTranslation() {
        regs.globalCommand(Reg.GCMD_TE, false, "disable translation");
        translationEnabled = false;
    }

    /** iommu_disable_protect_mem_regions: clear PMEN.EPM and wait for PRS to clear. */
    void disableProtectedMemoryRegions() {
        if (!cap.plmr() && !cap.phmr()) return;
        int pmen = regs.read32(Reg.PMEN) & ~Reg.PMEN_EPM;
        regs.write32(Reg.PMEN, pmen);
        regs.poll32(Reg.PMEN, v -> (v & Reg.PMEN_PRS) == 0, "protected memory disable");
    }

    // ---- domain IDs -----------------------------------------------------------------------------------

    /** The lowest free domain ID from {@link #FIRST_DID}, below CAP.ND's limit. */
    synchronized int allocDid() {
        int did = dids.nextClearBit(FIRST_DID);
        if (did >= cap.domainCount()) {
            log.err("DMAR: " + name + ": No free domain ids");
            throw new IommuException("ENOSPC", name + ": no free domain ids");
        }
        dids.set(did);
        return did;
    }

    synchronized void freeDid(int did) {
        if (did >= FIRST_DID) dids.clear(did);
    }

    /** Domain IDs in use, the reserved ones included. */
    public synchronized int didsInUse() {
        return dids.cardinality();
    }

    // ---- context entries ------------------------------------------------------------------------------

    /** Address of the context entry for rid, allocating the bus's context table when {@code alloc}; -1 if none. */
    synchronized long contextEntryAddress(int rid, boolean alloc) {
        int bus = (rid >>> 8) & 0xFF;
        Long ct = contextTables.get(bus);
        if (ct == null) {
            if (!alloc) return -1;
            ct = pages.allocPage();
            contextTables.put(bus, ct);
            RootEntry re = RootEntry.of(ct);
            long at = rootTable + (long) bus * RootEntry.SIZE;
            memory.write64(at + 8, re.hi());
            memory.write64(at, re.lo());
        }
        return ct + (long) (rid & 0xFF) * ContextEntry.SIZE;
    }

    /** The context entry for rid as it is in memory (not present when its bus has no table). */
    public ContextEntry readContext(int rid) {
        long at = contextEntryAddress(rid & 0xFFFF, false);
        if (at < 0) return ContextEntry.decode(0, 0);
        return ContextEntry.decode(memory.read64(at), memory.read64(at + 8));
    }

    /**
     * domain_context_mapping_one: writes a present context entry (high half first, present bit last). The
     * not-present to present change needs no invalidation unless the unit caches not-present entries
     * (CAP.CM), in which case the device's context-cache entry (cached under DID 0) and the domain's IOTLB
     * are flushed; otherwise only the write buffer is flushed.
     */
    void installContext(int rid, ContextEntry ce) {
        long at = contextEntryAddress(rid & 0xFFFF, true);
        memory.write64(at, 0);
        memory.write64(at + 8, ce.hi());
        memory.write64(at, ce.lo());
        if (cap.cachingMode()) {
            flushContext(Invalidator.CC_DEVICE, RESERVED_DID, rid);
            flushIotlb(Invalidator.IOTLB_DOMAIN, ce.domainId(), 0, 0, false);
        } else {
            flushWriteBuffer();
        }
    }

    /**
     * domain_context_clear_one: clears the entry, then invalidates the device's context-cache entry and the
     * old domain's IOTLB entries, so the device can no longer use the old translations.
     */
    void clearContext(int rid) {
        long at = contextEntryAddress(rid & 0xFFFF, false);
        if (at < 0) return;
        ContextEntry old = ContextEntry.decode(memory.read64(at), memory.read64(at + 8));
        if (!old.present()) return;
        memory.write64(at, 0);
        memory.write64(at + 8, 0);
        flushContext(Invalidator.CC_DEVICE, old.domainId(), rid);
        flushIotlb(Invalidator.IOTLB_DOMAIN, old.domainId(), 0, 0, false);
    }

    // ---- invalidation ---------------------------------------------------------------------------------

    void flushContext(int granularity, int did, int rid) {
        contextFlushes++;
        invalidator.flushContext(granularity, did, rid, Invalidator.FM_NONE);
    }

    void flushIotlb(int granularity, int did, long addr, int am, boolean leafOnly) {
        switch (granularity) {
            case Invalidator.IOTLB_GLOBAL -> iotlbGlobalFlushes++;
            case Invalidator.IOTLB_DOMAIN -> iotlbDomainFlushes++;
            default -> iotlbPageFlushes++;
        }
        invalidator.flushIotlb(granularity, did, addr, am, leafOnly);
    }

    /**
     * Invalidates the IOTLB for [start, start + size) of domain did: one page-selective request covering the
     * range (the smallest naturally aligned power-of-two block that contains it, cache.c's
     * calculate_psi_aligned_address), or domain-selective when the unit lacks PSI or the mask exceeds MAMV.
     */
    void flushIotlbRange(int did, long start, long size, boolean leafOnly) {
        long pfn = start >>> 12;
        long pages = ((start & 0xFFF) + size + 0xFFF) >>> 12;
        long aligned = Long.highestOneBit(pages) == pages ? pages : Long.highestOneBit(pages) << 1;
        int mask = Long.numberOfTrailingZeros(aligned);
        if ((pfn & (aligned - 1)) != 0) {
            long endPfn = pfn + pages - 1;
            long shared = ~(pfn ^ endPfn) & ~(aligned - 1);
            mask = shared != 0 ? Long.numberOfTrailingZeros(shared) : 64;
        }
        if (!cap.psi() || mask > cap.mamv()) {
            flushIotlb(Invalidator.IOTLB_DOMAIN, did, 0, 0, false);
        } else {
            long addr = (pfn << 12) & -(4096L << mask);
            flushIotlb(Invalidator.IOTLB_PAGE, did, addr, mask, leafOnly);
        }
    }

    /** iommu_flush_write_buffer: only units that need it (CAP.RWBF). */
    void flushWriteBuffer() {
        if (cap.rwbf()) regs.flushWriteBuffer();
    }

    // ---- faults ---------------------------------------------------------------------------------------

    /**
     * dmar_fault: reads FSTS; when primary faults are pending, services every fault recording register with
     * F set, starting at FSTS.FRI and wrapping once around the CAP.NFR registers: decodes it, clears F (RW1C)
     * and logs the Linux line (rate-limited); finally clears PFO/PPF/PRO in FSTS.
     */
    public void handleFaults() {
        int fsts = regs.read32(Reg.FSTS);
        if (fsts != 0 && pass()) log.err(String.format("DMAR: DRHD: handling fault status reg %x", fsts));
        if ((fsts & Reg.FSTS_PPF) != 0) {
            int n = cap.faultRecordCount();
            int fro = cap.froBytes();
            int index = (fsts >>> Reg.FSTS_FRI_SHIFT) & 0xFF;
            if (index >= n) index = 0;
            for (int k = 0; k < n; k++, index = (index + 1) % n) {
                int off = fro + index * FRCD_BYTES;
                long hi = regs.read64(off + 8);
                if ((hi & Reg.FRCD_HI_F) == 0) continue;
                long lo = regs.read64(off);
                regs.write32(off + 12, (int) (Reg.FRCD_HI_F >>> 32));
                faultsHandled++;
                if (pass()) {
                    faultsLogged++;
                    log.err(faultLine(hi, lo));
                }
            }
        }
        if ((fsts & FSTS_CLEAR) != 0) regs.write32(Reg.FSTS, FSTS_CLEAR);
    }

    private boolean pass() {
        if (faultRatelimit == null) return true;
        RateLimit.Verdict v = faultRatelimit.check();
        if (v.suppressedBefore() > 0) log.warn("dmar_fault: " + v.suppressedBefore() + " callbacks suppressed");
        return v.pass();
    }

    /** dmar_fault_do_one's line for one fault recording register (11.4.9.3). */
    public static String faultLine(long hi, long lo) {
        int sid = (int) (hi & 0xFFFF);
        int reason = (int) ((hi >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF);
        boolean read = (hi & Reg.FRCD_HI_T) != 0;
        boolean pasidPresent = (hi & Reg.FRCD_HI_PP) != 0;
        int pasid = (int) ((hi >>> Reg.FRCD_HI_PV_SHIFT) & 0xFFFFF);
        long addr = lo & ~0xFFFL;
        String bdf = String.format("%02x:%02x.%d", sid >>> 8, (sid >>> 3) & 0x1F, sid & 7);
        FaultReason r = FaultReason.of(reason);
        if (r != null && r.isInterruptRemapping()) {
            return String.format("DMAR: [INTR-REMAP] Request device [%s] fault index 0x%x [fault reason 0x%02x] %s",
                    bdf, addr >>> 48, reason, r.text);
        }
        String kind = read ? "DMA Read" : "DMA Write";
        String pasidText = pasidPresent ? String.format("PASID 0x%x", pasid) : "NO_PASID";
        return String.format("DMAR: [%s %s] Request device [%s] fault addr 0x%x [fault reason 0x%02x] %s", kind,
                pasidText, bdf, addr, reason, FaultReason.linuxText(reason));
    }

    // ---- statistics -----------------------------------------------------------------------------------

    /** What the driver did on this unit. */
    public record Stats(long contextFlushes, long iotlbGlobalFlushes, long iotlbDomainFlushes, long iotlbPageFlushes,
                        long faultsHandled, long faultsLogged, long registerReads, long registerWrites) {}

    public Stats stats() {
        return new Stats(contextFlushes, iotlbGlobalFlushes, iotlbDomainFlushes, iotlbPageFlushes, faultsHandled,
                faultsLogged, regs.reads(), regs.writes());
    }
}

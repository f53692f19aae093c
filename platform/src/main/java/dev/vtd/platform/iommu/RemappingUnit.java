package dev.vtd.platform.iommu;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.bus.DmaPort;
import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.interrupt.InterruptSink;
import dev.vtd.platform.iommu.cache.ContextCacheEntry;
import dev.vtd.platform.iommu.cache.IotlbEntry;
import dev.vtd.platform.iommu.cache.PasidCacheEntry;
import dev.vtd.platform.iommu.cache.SetAssociativeCache;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.fault.FaultRecording;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.RootEntry;
import dev.vtd.platform.iommu.walk.SecondStageWalker;
import dev.vtd.platform.iommu.walk.WalkObserver;
import dev.vtd.platform.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

/**
 * One DMA-remapping hardware unit (a DRHD): the register file (VT-d spec chapter 11), legacy-mode
 * root and context tables (9.1, 9.3), second-stage translation (3.7, 9.8), fault recording (7.3),
 * the context cache and IOTLB with register-based invalidation (6.5.1), and the protected memory
 * regions (3.15 / 11.4.10). With ECAP.SMTS and RTADDR.TTM = 01b latched by SRTP it translates in
 * scalable mode ({@link ScalableTranslation}: PASID tables, first-stage, second-stage, nested and
 * pass-through translation, the PASID cache); requests with PASID, ATS translation and translated
 * requests and page requests enter through {@link #translate(int, int, long, Access, boolean, boolean)},
 * {@link #read(int, int, boolean, long, MemorySegment, long, long)} and the {@link AtsPort} methods.
 *
 * <p>As a {@link DmaPort} it is what the devices it owns issue DMA into; as an {@link MmioDevice} it is
 * its register block. The unit honours what its CAP/ECAP advertise and nothing more.
 *
 * <p>Concurrency: DMA may run on many threads while another thread invalidates. A DMA transfer
 * holds a shared drain lock from its first translation to its last byte; an invalidation takes it
 * exclusively, so when an invalidation completes no request that used the old translation is still
 * in flight (the drain of 6.5.5), and the cache epochs stop a walk that read stale tables from
 * inserting its result afterwards.
 */
public final class RemappingUnit implements MmioDevice, DmaPort, AtsPort {
    /** The interrupt address range 0xFEEx_xxxx (3.14): requests there are interrupts, not DMA. */
    public static final long INTERRUPT_RANGE_BASE = 0xFEE0_0000L;
    public static final long INTERRUPT_RANGE_SIZE = 0x10_0000L;
    /** RTADDR.TTM encodings (11.4.6): legacy and scalable mode (10b reserved, 11b abort-DMA mode). */
    public static final int TTM_LEGACY = 0, TTM_SCALABLE = 1;
    /** Default PASID-cache size of a scalable-mode unit. */
    public static final int PASID_CACHE_ENTRIES = 128;

    /** Static configuration of a unit. */
    public record Config(String name, int version, Cap cap, Ecap ecap, int hostAddressWidth, int iotlbEntries,
                         int iotlbWays, int contextCacheEntries) {
        public Config {
            if (hostAddressWidth < 12 || hostAddressWidth > PhysicalMemory.MAX_ADDRESS_BITS) {
                throw new IllegalArgumentException("host address width " + hostAddressWidth + " outside 12..52");
            }
        }

        /** Defaults: VER 1.0, HAW = MGAW, 512-entry 8-way IOTLB, 64-entry context cache. */
        public static Config of(Cap cap, Ecap ecap) {
            return new Config("dmar0", 0x10, cap, ecap, Math.min(cap.mgawBits(), PhysicalMemory.MAX_ADDRESS_BITS),
                    512, 8, 64);
        }

        public Config withName(String n) {
            return new Config(n, version, cap, ecap, hostAddressWidth, iotlbEntries, iotlbWays, contextCacheEntries);
        }

        public Config withHostAddressWidth(int haw) {
            return new Config(name, version, cap, ecap, haw, iotlbEntries, iotlbWays, contextCacheEntries);
        }

        public Config withCaches(int iotlb, int ways, int contexts) {
            return new Config(name, version, cap, ecap, hostAddressWidth, iotlb, ways, contexts);
        }
    }

    /** A request's access kind. */
    public enum Access { READ, WRITE, ZERO_LENGTH_READ }

    /** The result of {@link #translate}: an output address and page, or the fault it raised. */
    public record Translation(boolean ok, long hpa, long pageSize, int domainId, boolean read, boolean write,
                              FaultReason fault) {
        static Translation fault(FaultReason r) {
            return new Translation(false, -1, 0, 0, false, false, r);
        }
    }

    private final Config config;
    private final Cap cap;
    private final Ecap ecap;
    private final PhysicalMemory memory;
    private final InterruptSink interrupts;
    private final FaultRecording faults;
    private final SetAssociativeCache<ContextCacheEntry> contextCache;
    private final SetAssociativeCache<IotlbEntry> iotlb;
    private final SecondStageWalker walker;
    private final SetAssociativeCache<PasidCacheEntry> pasidCache;
    private final ScalableTranslation scalableMode;
    /** Set by SRTP when ECAP.SMTS and RTADDR.TTM != 00b: requests take the scalable-mode path. */
    private volatile boolean scalable;
    private final StampedLock drain = new StampedLock();
    private final int froBytes;
    private final int iroBytes;

    // Register state. Fields read on the DMA path are volatile.
    private volatile int gsts;
    private long rtaddr;                 // RTADDR_REG as written
    private volatile long rootTable;     // latched by SRTP
    private long ccmd;
    private long iotlbReg;
    private long iva;
    private volatile int pmen;
    private volatile int plmbase, plmlimit;
    private volatile long phmbase, phmlimit;

    private volatile WalkObserver walkObserver;
    private volatile InterruptRemapping interruptRemapping;

    // Hot-path counters: plain fields, exact with one DMA thread, approximate under concurrency.
    private long dmaReadBytes;
    private long dmaWriteBytes;
    private long dmaRequests;
    /** Device reads served by the fast path: each one also a context-cache and an IOTLB hit. */
    private long fastReads;
    /** Bumped on every reported DMA fault: a read that faulted is not redone (its fault is reported once). */
    private volatile int faultsSeen;
    private final LongAdder blockedRequests = new LongAdder();
    private final LongAdder pmrBlocked = new LongAdder();
    private final LongAdder interruptRequests = new LongAdder();
    private final LongAdder walks = new LongAdder();

    /**
     * Hook for interrupt remapping (VT-d spec chapter 5): given an interrupt request that arrived
     * while GSTS.IRES is set, delivers it (remapped, posted, or blocked with a fault).
     */
    public interface InterruptRemapping {
        void remap(int sourceId, long address, int data);
    }

    public RemappingUnit(Config config, PhysicalMemory memory, InterruptSink interrupts) {
        this.config = config;
        this.cap = config.cap();
        this.ecap = config.ecap();
        this.memory = memory;
        this.interrupts = interrupts;
        this.faults = new FaultRecording(cap.faultRecordCount(), interrupts);
        this.contextCache = new SetAssociativeCache<>("context-cache", config.contextCacheEntries(), 4, translationEpoch);
        this.iotlb = new SetAssociativeCache<>("iotlb", config.iotlbEntries(), config.iotlbWays(), translationEpoch);
        this.walker = new SecondStageWalker(memory, config.hostAddressWidth(), cap.sllps(), ecap.sc(), ecap.dt());
        this.pasidCache = new SetAssociativeCache<>("pasid-cache", ecap.smts() ? PASID_CACHE_ENTRIES : 0, 4,
                translationEpoch);
        this.scalableMode = ecap.smts() ? new ScalableTranslation(this, pasidCache, walker) : null;
        this.froBytes = cap.froBytes();
        this.iroBytes = ecap.iroBytes();
    }

    public Config config() { return config; }
    public Cap cap() { return cap; }
    public Ecap ecap() { return ecap; }
    public PhysicalMemory memory() { return memory; }
    public FaultRecording faults() { return faults; }
    public SetAssociativeCache<ContextCacheEntry> contextCache() { return contextCache; }
    public SetAssociativeCache<IotlbEntry> iotlb() { return iotlb; }
    public SetAssociativeCache<PasidCacheEntry> pasidCache() { return pasidCache; }
    /** True while the unit translates in scalable mode (SRTP latched TTM != 00b on an SMTS unit). */
    public boolean scalableMode() { return scalable; }
    WalkObserver walkObserver() { return walkObserver; }
    public InterruptSink interruptSink() { return interrupts; }

    public void setWalkObserver(WalkObserver o) { this.walkObserver = o; }
    public void setInterruptRemapping(InterruptRemapping ir) { this.interruptRemapping = ir; }

    public boolean translationEnabled() { return (gsts & Reg.GSTS_TES) != 0; }
    public int gsts() { return gsts; }
    public long rootTableAddress() { return rootTable & Reg.RTADDR_RTA_MASK; }
    /** RTADDR.TTM latched by the last SRTP (00 legacy, 01 scalable mode; 11.4.6). */
    public int translationTableMode() { return (int) ((rootTable & Reg.RTADDR_TTM_MASK) >>> Reg.RTADDR_TTM_SHIFT); }

    /** Sets GSTS bits owned by other blocks (QIES, IRES, IRTPS, CFIS) as they complete their handshakes. */
    public void setStatusBits(int mask, boolean on) {
        synchronized (this) {
            gsts = on ? gsts | mask : gsts & ~mask;
        }
    }

    // =========================================================================================
    // Translation
    // =========================================================================================

    /**
     * Translates one request as the hardware would, recording a fault if it is blocked.
     * With translation disabled (GSTS.TES = 0) the address passes untranslated.
     */
    public Translation translate(int sourceId, long iova, Access access) {
        if (!translationEnabled()) return new Translation(true, iova, PhysicalMemory.PAGE_SIZE, 0, true, true, null);
        IotlbEntry e = lookup(sourceId & 0xFFFF, iova, access);
        if (e == null) return Translation.fault(lastFault.get());
        return new Translation(true, e.translate(iova), e.pageSize(), e.domainId(), e.read(), e.write(), null);
    }

    /** Allocation-free translation: the output address, or {@code -1 - reasonCode} when blocked. */
    public long translateAddress(int sourceId, long iova, boolean write) {
        if (!translationEnabled()) return iova;
        IotlbEntry e = lookup(sourceId & 0xFFFF, iova, write ? Access.WRITE : Access.READ);
        return e == null ? -1 - lastFault.get().code : e.translate(iova);
    }

    /**
     * Translates one request with PASID ({@code pasid} >= 0) or without ({@link #NO_PASID}), with
     * its privilege (supervisor) and execute attributes, recording a fault if it is blocked. In
     * scalable mode a request without PASID uses the context's RID_PASID and RID_PRIV; in legacy
     * mode a request with PASID is blocked (0x31) and the others translate as {@link #translate(int, long, Access)}.
     */
    public Translation translate(int sourceId, int pasid, long iova, Access access, boolean privileged, boolean execute) {
        if (!translationEnabled()) return new Translation(true, iova, PhysicalMemory.PAGE_SIZE, 0, true, true, null);
        IotlbEntry e = lookupPasid(sourceId & 0xFFFF, pasid, iova, access, privileged, execute);
        if (e == null) return Translation.fault(lastFault.get());
        return new Translation(true, e.translate(iova), e.pageSize(), e.domainId(), e.read(), e.write(), null);
    }

    /** The slow-path lookup of a request that may carry a PASID, privilege or execute. */
    private IotlbEntry lookupPasid(int sid, int pasid, long iova, Access access, boolean privileged, boolean execute) {
        if (pasid < 0 && !privileged && !execute) return lookup(sid, iova, access);
        boolean write = access == Access.WRITE;
        if (scalable) return scalableMode.lookup(sid, pasid, iova, write, privileged, execute);
        if (pasid >= 0) {
            // 7.1.3: a request with PASID while the root table is in legacy mode.
            reportFault(new Fault(sid, iova & ~0xFFFL, !write, Fault.AT_UNTRANSLATED, true, pasid, execute, privileged,
                    FaultReason.SM_TTM0_PASID), false);
            return null;
        }
        return lookup(sid, iova, access);
    }

    /** Per-thread reason of the last blocked lookup (avoids allocating a result on the hot path). */
    private final ThreadLocal<FaultReason> lastFault = new ThreadLocal<>();

    /**
     * The IOTLB entry that grants this access (after a walk on a miss), or null after reporting
     * the fault. Pass-through contexts yield an identity entry that is not cached.
     */
    private IotlbEntry lookup(int sid, long iova, Access access) {
        // Most-recently-used translation: valid while the translation epoch has not moved since.
        Mru m = mru;
        if (m != null && m.sid == sid && iova - m.entry.iovaBase() < m.entry.pageSize() && iova >= m.entry.iovaBase()
                && m.epoch == translationEpoch.get() && permits(m.entry, access)) {
            contextCache.countHit();
            iotlb.countHit();
            return m.entry;
        }
        return lookupSlow(sid, iova, access);
    }

    /**
     * The last translation used, tagged with the translation epoch it was valid in. For the
     * device-read fast path it also carries the RAM segment behind the output page ({@code ram} null
     * when the page is not wholly RAM, is a pass-through identity, grants no read, or its input page
     * touches the interrupt range).
     */
    private record Mru(int sid, IotlbEntry entry, long epoch, MemorySegment ram, long ramOffset) {
        static Mru of(int sid, IotlbEntry e, long epoch, PhysicalMemory memory) {
            boolean fastReadable = e.read() && !e.passThrough() && !inInterruptRange(e.iovaBase(), e.pageSize());
            PhysicalMemory.Region r = fastReadable ? memory.regionOf(e.hpaBase(), e.pageSize()) : null;
            return r == null ? new Mru(sid, e, epoch, null, 0) : new Mru(sid, e, epoch, r.segment(), e.hpaBase() - r.base());
        }
    }

    private volatile Mru mru;

    /**
     * Shared by the context cache, PASID cache and IOTLB, and moved by anything else that changes
     * how a request translates (TE, SRTP): the MRU translation is valid while it has not moved.
     */
    private final SetAssociativeCache.Epoch translationEpoch = new SetAssociativeCache.Epoch();

    private IotlbEntry lookupSlow(int sid, long iova, Access access) {
        boolean write = access == Access.WRITE;
        long epoch = translationEpoch.get();
        if (scalable) {
            // Scalable mode, request without PASID: the context's RID_PASID names the PASID entry.
            IotlbEntry e = scalableMode.lookup(sid, NO_PASID, iova, write, false, false);
            if (e == null) return null;
            if (!e.passThrough() && contextCache.capacity() > 0 && iotlb.capacity() > 0) {
                mru = Mru.of(sid, e, epoch, memory);
            }
            return e;
        }
        ContextCacheEntry cc = context(sid);
        if (cc.fault() != null) {
            return fail(sid, iova, !write, cc.fault(), cc.faultProcessingDisable());
        }
        ContextEntry ce = cc.context();
        int did = cc.domainId();
        if (ce.translationType() == ContextEntry.TT_PASS_THROUGH) {
            return IotlbEntry.passThrough(did, iova);
        }
        // 7.1.3 reason 0x4: input address above 2^X - 1, X = min(MGAW, AGAW of the context's AW).
        int width = Math.min(cap.mgawBits(), ce.agawBits());
        if ((iova >>> width) != 0) {
            return fail(sid, iova, !write, FaultReason.ADDRESS_BEYOND_MGAW, cc.faultProcessingDisable());
        }
        IotlbEntry e = iotlb.peek(IotlbEntry.key(did, iova, IotlbEntry.SHIFT_4K));
        if (e == null) e = iotlb.peek(IotlbEntry.key(did, iova, IotlbEntry.SHIFT_2M));
        if (e == null) e = iotlb.peek(IotlbEntry.key(did, iova, IotlbEntry.SHIFT_1G));
        if (e != null) {
            iotlb.countHit();
        } else {
            iotlb.countMiss();
            walks.increment();
            SecondStageWalker.Result r = walker.walk(ce.slptptr(), ce.levels(), iova, did, write, walkObserver);
            if (r.fault() != null) {
                if (r.cacheableNotPresent() && cap.cachingMode()) {
                    iotlb.put(IotlbEntry.of(did, iova, 0, IotlbEntry.SHIFT_4K, false, false), epoch);
                }
                return fail(sid, iova, !write, r.fault(), cc.faultProcessingDisable());
            }
            e = r.entry();
            iotlb.put(e, epoch);
        }
        if (!permits(e, access)) {
            return fail(sid, iova, !write, write ? FaultReason.PTE_WRITE : FaultReason.PTE_READ,
                    cc.faultProcessingDisable());
        }
        // 7.1.3 reason 0Eh, also for an IOTLB hit: the output address itself lies in the interrupt range. A page
        // that only partly overlaps it translates elsewhere, so it never becomes the MRU translation.
        if (inInterruptRange(e.translate(iova), 1)) {
            return fail(sid, iova, !write, FaultReason.INTERRUPT_ADDRESS, cc.faultProcessingDisable());
        }
        boolean touchesInterruptRange = inInterruptRange(e.hpaBase(), e.pageSize());
        if (contextCache.capacity() > 0 && iotlb.capacity() > 0 && !touchesInterruptRange) mru = Mru.of(sid, e, epoch, memory);
        return e;
    }

    /**
     * A PCIe ATS translation request (AT = 01b) from a device-TLB (VT-d spec 4.2.2/4.2.3). A context
     * with TT = 00b blocks translation requests (fault reason 0xD, recorded with AT = 01b); context
     * errors are recorded as for any request; page-level conditions are not faults but a completion
     * whose R and W say what the page allows (both 0 for a not-present page).
     */
    public Translation translationRequest(int sourceId, long iova, boolean write) {
        return translationRequest(sourceId, NO_PASID, iova, write, false, false);
    }

    /**
     * A PCIe ATS translation request with or without PASID ({@code pasid} = {@link #NO_PASID}).
     * Scalable mode (4.2.3): the context entry's DTE must be set (else 0x44); not-present and
     * access conditions give a completion with R = W = 0 or the access allowed; W is granted only
     * for a write request or a page whose D is already set. Legacy mode: a request with PASID is
     * blocked with 0x31.
     */
    public Translation translationRequest(int sourceId, int pasid, long iova, boolean write, boolean privileged,
                                          boolean execute) {
        int sid = sourceId & 0xFFFF;
        if (!translationEnabled()) return new Translation(true, iova, PhysicalMemory.PAGE_SIZE, 0, true, true, null);
        if (scalable) return scalableMode.translationRequest(sid, pasid, iova, write, privileged, execute);
        if (pasid >= 0) {
            reportFault(new Fault(sid, iova & ~0xFFFL, !write, Fault.AT_TRANSLATION_REQUEST, true, pasid, execute,
                    privileged, FaultReason.SM_TTM0_PASID), false);
            return Translation.fault(FaultReason.SM_TTM0_PASID);
        }
        ContextCacheEntry cc = context(sid);
        FaultReason reason = cc.fault();
        if (reason == null && cc.context().translationType() == ContextEntry.TT_UNTRANSLATED) {
            reason = FaultReason.TRANSLATION_BLOCKED;
        }
        if (reason != null) {
            faults.report(new Fault(sid, iova & ~0xFFFL, !write, Fault.AT_TRANSLATION_REQUEST, false, 0, false, false,
                    reason), cc.faultProcessingDisable());
            return Translation.fault(reason);
        }
        ContextEntry ce = cc.context();
        if (ce.translationType() == ContextEntry.TT_PASS_THROUGH) {
            return new Translation(true, iova & ~0xFFFL, PhysicalMemory.PAGE_SIZE, cc.domainId(), true, true, null);
        }
        if ((iova >>> Math.min(cap.mgawBits(), ce.agawBits())) != 0) {
            return new Translation(true, 0, PhysicalMemory.PAGE_SIZE, cc.domainId(), false, false, null);
        }
        long epoch = iotlb.epoch();
        SecondStageWalker.Result r = walker.walk(ce.slptptr(), ce.levels(), iova, cc.domainId(), write, walkObserver);
        if (r.entry() == null) {
            return new Translation(true, 0, PhysicalMemory.PAGE_SIZE, cc.domainId(), false, false, null);
        }
        IotlbEntry e = r.entry();
        iotlb.put(e, epoch);
        if (inInterruptRange(e.translate(iova), 1)) {
            // 7.1.3 reason 0Eh: the translation request's address translates into the interrupt range.
            faults.report(new Fault(sid, iova & ~0xFFFL, !write, Fault.AT_TRANSLATION_REQUEST, false, 0, false, false,
                    FaultReason.INTERRUPT_ADDRESS), cc.faultProcessingDisable());
            return Translation.fault(FaultReason.INTERRUPT_ADDRESS);
        }
        return new Translation(true, e.hpaBase(), e.pageSize(), e.domainId(), e.read(), e.write(), null);
    }

    private boolean permits(IotlbEntry e, Access access) {
        return switch (access) {
            case READ -> e.read();
            case WRITE -> e.write();
            // CAP.ZLR: a zero-length read to a write-only page is allowed (11.4.2).
            case ZERO_LENGTH_READ -> e.read() || (e.write() && cap.zlr());
        };
    }

    private IotlbEntry fail(int sid, long iova, boolean read, FaultReason reason, boolean fpd) {
        reportFault(Fault.dma(sid, iova, read, reason), fpd);
        return null;
    }

    /** Records a DMA-remapping fault (suppressed when {@code fpd}) and remembers it as this thread's last. */
    void reportFault(Fault f, boolean fpd) {
        lastFault.set(f.reason());
        faultsSeen++;
        faults.report(f, fpd);
    }

    FaultReason lastFaultReason() {
        FaultReason r = lastFault.get();
        return r == null ? FaultReason.SOFTWARE : r;
    }

    /** The context for a source ID: from the context cache, else walked from the root table. */
    private ContextCacheEntry context(int sid) {
        ContextCacheEntry cc = contextCache.get(ContextCacheEntry.key(sid));
        if (cc != null) return cc;
        long epoch = contextCache.epoch();
        cc = walkContext(sid);
        boolean cacheable = cc.fault() == null || (cap.cachingMode() && cc.fault() != FaultReason.ROOT_TABLE_INVALID
                && cc.fault() != FaultReason.CONTEXT_TABLE_INVALID);
        if (cacheable) contextCache.put(cc, epoch);
        return cc;
    }

    private ContextCacheEntry walkContext(int sid) {
        int haw = config.hostAddressWidth();
        long rootAddr = rootTableAddress() + (long) (sid >>> 8) * RootEntry.SIZE;
        if (!memory.isRam(rootAddr, RootEntry.SIZE)) {
            return ContextCacheEntry.faulting(sid, null, FaultReason.ROOT_TABLE_INVALID);
        }
        RootEntry root = RootEntry.decode(memory.read64(rootAddr), memory.read64(rootAddr + 8));
        if (!root.present()) return ContextCacheEntry.faulting(sid, null, FaultReason.ROOT_NOT_PRESENT);
        if (root.hasReservedBits(haw)) return ContextCacheEntry.faulting(sid, null, FaultReason.ROOT_RESERVED);
        long ctxAddr = root.contextTablePointer() + (long) (sid & 0xFF) * ContextEntry.SIZE;
        if (!memory.isRam(ctxAddr, ContextEntry.SIZE)) {
            return ContextCacheEntry.faulting(sid, null, FaultReason.CONTEXT_TABLE_INVALID);
        }
        ContextEntry ce = ContextEntry.decode(memory.read64(ctxAddr), memory.read64(ctxAddr + 8));
        if (!ce.present()) return ContextCacheEntry.faulting(sid, ce, FaultReason.CONTEXT_NOT_PRESENT);
        if (ce.hasReservedBits(haw)) return ContextCacheEntry.faulting(sid, ce, FaultReason.CONTEXT_RESERVED);
        // 9.3: TT 01b needs ECAP.DT, 10b needs ECAP.PT, 11b is reserved; AW must be one SAGAW supports.
        int tt = ce.translationType();
        boolean ttOk = tt == ContextEntry.TT_UNTRANSLATED || (tt == ContextEntry.TT_DEVICE_TLB && ecap.dt())
                || (tt == ContextEntry.TT_PASS_THROUGH && ecap.pt());
        if (!ttOk) return ContextCacheEntry.faulting(sid, ce, FaultReason.CONTEXT_INVALID);
        if (tt != ContextEntry.TT_PASS_THROUGH && !cap.supportsLevels(ce.levels())) {
            return ContextCacheEntry.faulting(sid, ce, FaultReason.CONTEXT_INVALID);
        }
        return ContextCacheEntry.valid(sid, ce);
    }

    // =========================================================================================
    // DMA (DmaPort)
    // =========================================================================================

    /**
     * A device read of memory. Reads are idempotent, so they run optimistically: a transfer that an
     * invalidation overlapped is simply redone, so its data never comes from a translation that an
     * invalidation completed before the data was returned. After a few retries it takes the drain
     * lock like a write.
     */
    @Override
    public long read(int requesterId, long address, MemorySegment dst, long dstOffset, long length) {
        // Fast path: the whole read lies in the page of the most recent translation, which no
        // invalidation has touched since (same checks as lookup(), done once for the transfer).
        Mru m = mru;
        if (m != null && m.ram != null && length > 0 && m.sid == (requesterId & 0xFFFF)) {
            IotlbEntry e = m.entry;
            long off = address - e.iovaBase();
            long epoch = m.epoch;
            if (off >= 0 && off <= e.pageSize() - length && epoch == translationEpoch.get()) {
                MemorySegment.copy(m.ram, m.ramOffset + off, dst, dstOffset, length);
                // The copy's loads stay before the re-check: if nothing was invalidated meanwhile (an
                // invalidation moves the epoch only once its entries are gone), the data came from a
                // translation still valid when the read completed; otherwise redo it the slow way.
                java.lang.invoke.VarHandle.acquireFence();
                if (epoch == translationEpoch.get()) {
                    fastReads++;                   // a request, a context-cache hit and an IOTLB hit
                    dmaReadBytes += length;
                    return length;
                }
            }
        }
        return readSlow(requesterId, address, dst, dstOffset, length);
    }

    /** Every read the fast path does not take: multi-page, faulting, untranslated, raced or cold. */
    private long readSlow(int requesterId, long address, MemorySegment dst, long dstOffset, long length) {
        dmaRequests++;
        if (length <= 0) {
            if (length == 0 && translationEnabled()) lookup(requesterId & 0xFFFF, address, Access.ZERO_LENGTH_READ);
            return 0;
        }
        for (int attempt = 0; attempt < 3; attempt++) {
            long stamp = drain.tryOptimisticRead();
            if (stamp == 0) break;
            int faultsBefore = faultsSeen;
            long done = transfer(requesterId, address, dst, dstOffset, length, false);
            if (drain.validate(stamp) || faultsSeen != faultsBefore) return finishRead(done, length);
        }
        long stamp = drain.readLock();
        try {
            return finishRead(transfer(requesterId, address, dst, dstOffset, length, false), length);
        } finally {
            drain.unlockRead(stamp);
        }
    }

    private long finishRead(long done, long length) {
        if (done < length) blockedRequests.increment();
        dmaReadBytes += done;
        return done;
    }

    /**
     * A device write to memory. Writes cannot be redone, so a write holds the drain lock shared for
     * its whole transfer; an invalidation waits for it (the drain of 6.5.5).
     */
    @Override
    public long write(int requesterId, long address, MemorySegment src, long srcOffset, long length) {
        dmaRequests++;
        if (length <= 0) return 0;
        if (inInterruptRange(address, length)) {
            // 3.14 / 5.1: a DWORD write to 0xFEEx_xxxx is an interrupt request.
            if (length == 4 && (address & 3) == 0 && inInterruptRange(address + 3, 1)) {
                interruptRequest(requesterId & 0xFFFF, address, src.get(LE_INT, srcOffset));
                return 4;
            }
            blockedRequests.increment();
            return 0;
        }
        long stamp = drain.readLock();
        try {
            long done = transfer(requesterId, address, src, srcOffset, length, true);
            if (done < length) blockedRequests.increment();
            dmaWriteBytes += done;
            return done;
        } finally {
            drain.unlockRead(stamp);
        }
    }

    /**
     * A device read with PASID ({@link #NO_PASID} for none), privilege and execute attributes
     * (PCIe PASID TLP prefix). Runs under the drain lock like a write.
     */
    public long read(int requesterId, int pasid, boolean privileged, boolean execute, long address, MemorySegment dst,
                     long dstOffset, long length) {
        if (pasid < 0 && !privileged && !execute) return read(requesterId, address, dst, dstOffset, length);
        dmaRequests++;
        if (length <= 0) return 0;
        long stamp = drain.readLock();
        try {
            return finishRead(transferPasid(requesterId, pasid, privileged, execute, address, dst, dstOffset, length,
                    false), length);
        } finally {
            drain.unlockRead(stamp);
        }
    }

    /** A device read with PASID and privilege (no execute). */
    public long read(int requesterId, int pasid, boolean privileged, long address, MemorySegment dst, long dstOffset,
                     long length) {
        return read(requesterId, pasid, privileged, false, address, dst, dstOffset, length);
    }

    /** A device write with PASID ({@link #NO_PASID} for none) and privilege. */
    public long write(int requesterId, int pasid, boolean privileged, long address, MemorySegment src, long srcOffset,
                      long length) {
        if (pasid < 0 && !privileged) return write(requesterId, address, src, srcOffset, length);
        dmaRequests++;
        if (length <= 0) return 0;
        long stamp = drain.readLock();
        try {
            long done = transferPasid(requesterId, pasid, privileged, false, address, src, srcOffset, length, true);
            if (done < length) blockedRequests.increment();
            dmaWriteBytes += done;
            return done;
        } finally {
            drain.unlockRead(stamp);
        }
    }

    private long transferPasid(int requesterId, int pasid, boolean priv, boolean exec, long address, MemorySegment buf,
                               long bufOffset, long length, boolean write) {
        boolean te = translationEnabled();
        int sid = requesterId & 0xFFFF;
        Access access = write ? Access.WRITE : Access.READ;
        long done = 0;
        while (done < length) {
            long a = address + done;
            long pa, chunk;
            boolean remapped;
            if (!te) {
                if (inInterruptRange(a, 1)) break;
                pa = a;
                chunk = clipToInterruptRange(a, length - done);
                remapped = false;
            } else {
                // With PASID the address is translated even inside 0xFEEx_xxxx (3.14 applies to requests without PASID).
                if (pasid < 0 && inInterruptRange(a, 1)) break;
                IotlbEntry e = lookupPasid(sid, pasid, a, access, priv, exec);
                if (e == null) break;
                pa = e.translate(a);
                chunk = Math.min(length - done, e.iovaBase() + e.pageSize() - a);
                if (pasid < 0) chunk = clipToInterruptRange(a, chunk);
                remapped = !e.passThrough();
                if (remapped && !scalable) chunk = clipToInterruptRange(pa, chunk);
            }
            if (!remapped && pmrBlocks(pa, chunk)) {
                pmrBlocked.increment();
                break;
            }
            if (write) memory.copyFrom(buf, bufOffset + done, pa, chunk);
            else memory.copyTo(pa, buf, bufOffset + done, chunk);
            done += chunk;
        }
        return done;
    }

    // =========================================================================================
    // ATS (AtsPort): translation requests, translated requests, page requests
    // =========================================================================================

    @Override
    public Completion translate(int requesterId, int pasid, long address, boolean write, boolean privileged,
                                boolean execute) {
        Translation t = translationRequest(requesterId, pasid, address, write, privileged, execute);
        return new Completion(t.ok(), t.ok() ? t.hpa() : 0, t.ok() ? t.pageSize() : 0, t.read(), t.write());
    }

    /**
     * Whether a translated request (AT = 10b) from this requester is blocked (4.2.4): legacy mode
     * allows it when the context's TT is 01b (device-TLBs), else 0xD; scalable mode when DTE is
     * set, else 0x44. Context errors block it with their reason. Records the fault.
     */
    private boolean translatedBlocked(int sid, long address, boolean write) {
        if (!translationEnabled()) return false;
        FaultReason r;
        boolean fpd;
        if (scalable) {
            r = scalableMode.translatedRequestDenied(sid);
            fpd = r != null && scalableMode.contextFpd(sid);
        } else {
            ContextCacheEntry cc = context(sid);
            r = cc.fault();
            if (r == null && cc.context().translationType() != ContextEntry.TT_DEVICE_TLB) r = FaultReason.TRANSLATION_BLOCKED;
            fpd = cc.faultProcessingDisable();
        }
        if (r == null) return false;
        reportFault(new Fault(sid, address & ~0xFFFL, !write, Fault.AT_TRANSLATED, false, 0, false, false, r), fpd);
        return true;
    }

    @Override
    public long readTranslated(int requesterId, long address, MemorySegment dst, long dstOffset, long length) {
        dmaRequests++;
        if (length <= 0 || translatedBlocked(requesterId & 0xFFFF, address, false)) return 0;
        long n = clipToInterruptRange(address, length);
        if (inInterruptRange(address, 1) || !memory.isRam(address, n)) return 0;
        memory.copyTo(address, dst, dstOffset, n);
        dmaReadBytes += n;
        return n;
    }

    @Override
    public long writeTranslated(int requesterId, long address, MemorySegment src, long srcOffset, long length) {
        dmaRequests++;
        if (length <= 0 || translatedBlocked(requesterId & 0xFFFF, address, true)) return 0;
        if (inInterruptRange(address, length)) {
            if (length == 4 && (address & 3) == 0) {
                interruptRequest(requesterId & 0xFFFF, address, src.get(LE_INT, srcOffset));
                return 4;
            }
            return 0;
        }
        long stamp = drain.readLock();
        try {
            memory.copyFrom(src, srcOffset, address, length);
            dmaWriteBytes += length;
            return length;
        } finally {
            drain.unlockRead(stamp);
        }
    }

    /** Where page requests go once the unit has checked them (the page request queue, 7.5.1). */
    public interface PageRequestSink {
        /** Queues a page request (its fields as decoded from the PRI message). */
        void pageRequest(int requesterId, int pasid, long address, boolean read, boolean write, boolean execute,
                         boolean privileged, boolean lastInGroup, int groupIndex);

        /** Answers a page request group directly, without software (invalid requests). */
        void respond(int requesterId, int pasid, int groupIndex, int responseCode);
    }

    private volatile PageRequestSink pageRequests;

    public void setPageRequestSink(PageRequestSink sink) { this.pageRequests = sink; }

    /**
     * A page request (7.5.1). Scalable mode: the context entry must be present with PRE (0x47)
     * and, for a request with PASID, PASIDE (0x45); then it is queued. Legacy mode: blocked with
     * 0x32. A blocked last request of a group is answered with "Invalid Request".
     */
    @Override
    public void pageRequest(int requesterId, int pasid, long address, boolean read, boolean write, boolean execute,
                            boolean privileged, boolean lastInGroup, int groupIndex) {
        int sid = requesterId & 0xFFFF;
        PageRequestSink sink = pageRequests;
        FaultReason r;
        boolean fpd = false;
        if (sink == null) {
            return;                                     // no page request support: the message is dropped
        } else if (!scalable) {
            r = FaultReason.SM_TTM0_PAGE_GROUP;
        } else {
            r = scalableMode.pageRequestDenied(sid, pasid);
            fpd = r != null && scalableMode.contextFpd(sid);
        }
        if (r == null) {
            sink.pageRequest(sid, pasid, address, read, write, execute, privileged, lastInGroup, groupIndex);
            return;
        }
        reportFault(new Fault(sid, address & ~0xFFFL, !write, Fault.AT_TRANSLATION_REQUEST, pasid >= 0,
                Math.max(pasid, 0), execute, privileged, r), fpd);
        if (lastInGroup) sink.respond(sid, pasid, groupIndex, 1);
    }

    private static final java.lang.foreign.ValueLayout.OfInt LE_INT =
            java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Translates and copies page by page until done or blocked; returns the bytes moved. */
    private long transfer(int requesterId, long address, MemorySegment buf, long bufOffset, long length, boolean write) {
        boolean te = translationEnabled();
        int sid = requesterId & 0xFFFF;
        Access access = write ? Access.WRITE : Access.READ;
        long done = 0;
        while (done < length) {
            long a = address + done;
            if (inInterruptRange(a, 1)) break;                        // the interrupt range is not memory
            long pa, chunk;
            boolean remapped;
            if (!te) {
                pa = a;
                chunk = length - done;
                remapped = false;
            } else {
                IotlbEntry e = lookup(sid, a, access);
                if (e == null) break;
                pa = e.translate(a);
                chunk = Math.min(length - done, e.iovaBase() + e.pageSize() - a);
                remapped = !e.passThrough();
                if (remapped) chunk = clipToInterruptRange(pa, chunk);    // the next chunk's output faults 0Eh
            }
            chunk = clipToInterruptRange(a, chunk);
            if (!remapped && pmrBlocks(pa, chunk)) {
                pmrBlocked.increment();
                break;
            }
            if (write) memory.copyFrom(buf, bufOffset + done, pa, chunk);
            else memory.copyTo(pa, buf, bufOffset + done, chunk);
            done += chunk;
        }
        return done;
    }

    private static boolean inInterruptRange(long a, long len) {
        return a < INTERRUPT_RANGE_BASE + INTERRUPT_RANGE_SIZE && INTERRUPT_RANGE_BASE < a + len;
    }

    private static long clipToInterruptRange(long a, long chunk) {
        if (a < INTERRUPT_RANGE_BASE && a + chunk > INTERRUPT_RANGE_BASE) return INTERRUPT_RANGE_BASE - a;
        return chunk;
    }

    /** An interrupt request (MSI write): remapped when GSTS.IRES is set, else delivered as is. */
    public void interruptRequest(int sourceId, long address, int data) {
        interruptRequests.increment();
        InterruptRemapping ir = interruptRemapping;
        if ((gsts & Reg.GSTS_IRES) != 0 && ir != null) {
            ir.remap(sourceId, address, data);
        } else {
            interrupts.deliver(address, data);
        }
    }

    /**
     * 3.15 / 11.4.10: with PMEN.EPM set, untranslated (TE = 0) and pass-through DMA into the
     * protected low or high memory region is blocked (as an unsupported request, not a recorded fault).
     */
    private boolean pmrBlocks(long pa, long len) {
        if ((pmen & Reg.PMEN_EPM) == 0) return false;
        long last = pa + len - 1;
        if (cap.plmr()) {
            long base = plmbase & 0xFFFF_FFFFL, limit = (plmlimit & 0xFFFF_FFFFL) | PMR_GRANULE_MASK;
            if (base <= limit && pa <= limit && base <= last) return true;
        }
        if (cap.phmr()) {
            long base = phmbase, limit = phmlimit | PMR_GRANULE_MASK;
            if (Long.compareUnsigned(base, limit) <= 0 && pa <= limit && base <= last) return true;
        }
        return false;
    }

    /** PMR base/limit registers implement bits 31:21 / 63:21 (2 MiB granularity); lower bits read 0. */
    private static final long PMR_GRANULE_MASK = (1L << 21) - 1;

    // =========================================================================================
    // Invalidation (register-based, 6.5.1)
    // =========================================================================================

    /** Context-cache invalidation; returns the granularity performed (CAIG encoding). */
    public int invalidateContextCache(int granularity, int domainId, int sourceId, int functionMask) {
        long stamp = drain.writeLock();
        try {
            switch (granularity) {
                case 1 -> {
                    contextCache.invalidateAll();
                    pasidCache.invalidateAll();
                }
                case 2 -> {
                    // Scalable-mode context entries carry no domain ID: a domain-selective request
                    // is performed on every entry (a permitted superset).
                    if (scalable) {
                        contextCache.invalidateAll();
                        pasidCache.invalidateAll();
                    } else {
                        contextCache.invalidateIf(e -> e.domainId() == domainId);
                    }
                }
                case 3 -> {
                    // FM: 00 none, 01 mask bit 2, 10 mask bits 2:1, 11 mask bits 2:0 of the function number.
                    int m = functionMask == 0 ? 0xFFFF : 0xFFFF & ~(((1 << functionMask) - 1) << (3 - functionMask));
                    contextCache.invalidateIf(e -> (e.sourceId() & m) == (sourceId & m));
                    pasidCache.invalidateIf(e -> (e.sourceId() & m) == (sourceId & m));
                }
                default -> {
                    return 0; // reserved request: not performed
                }
            }
            return granularity;
        } finally {
            drain.unlockWrite(stamp);
        }
    }

    /**
     * IOTLB invalidation; returns the granularity performed (IAIG): 1 global, 2 domain, 3 page, or 0
     * when the request was invalid and ignored (reserved granularity, or AM above CAP.MAMV).
     */
    public int invalidateIotlb(int granularity, int domainId, long address, int addressMask, boolean hint) {
        if (granularity == 3 && !cap.psi()) granularity = 2;      // without PSI, page requests act domain-wide
        if (granularity == 3 && addressMask > cap.mamv()) return 0;
        if (granularity < 1 || granularity > 3) return 0;
        long stamp = drain.writeLock();
        try {
            switch (granularity) {
                case 1 -> iotlb.invalidateAll();
                case 2 -> iotlb.invalidateIf(e -> e.domainId() == domainId);
                default -> {
                    long size = 1L << (12 + addressMask);
                    long first = address & ~(size - 1);
                    long last = first + size - 1;
                    // IH (hint) only spares paging-structure caches, which this unit does not keep.
                    iotlb.invalidateIf(e -> e.domainId() == domainId && e.overlaps(first, last));
                }
            }
            return granularity;
        } finally {
            drain.unlockWrite(stamp);
        }
    }

    /**
     * PASID-cache invalidation (6.5.2.2): G 00 domain-selective, 01 PASID-selective within the
     * domain, 11 global. A legacy-mode unit has no PASID cache: nothing to do but drain.
     */
    public void invalidatePasidCache(int granularity, int domainId, int pasid) {
        long stamp = drain.writeLock();
        try {
            if (scalableMode != null) scalableMode.invalidatePasidCache(granularity, domainId, pasid);
        } finally {
            drain.unlockWrite(stamp);
        }
    }

    /**
     * PASID-based IOTLB invalidation (6.5.2.4): G 10 the non-global first-stage and nested
     * mappings of (domain, PASID), G 11 its pages in [address, address + 2^(12+AM)). Mappings of
     * second-stage-only PASID entries are domain-tagged and not its scope: they stay cached
     * (as QEMU does; software invalidates them with IOTLB descriptors).
     */
    public void invalidatePasidIotlb(int granularity, int domainId, int pasid, long address, int addressMask) {
        long stamp = drain.writeLock();
        try {
            if (scalableMode != null) scalableMode.invalidatePasidIotlb(granularity, domainId, pasid, address, addressMask);
        } finally {
            drain.unlockWrite(stamp);
        }
    }

    /** Waits for every DMA in flight (the drain an invalidation-wait or PD/DR/DW asks for). */
    public void drainInFlight() {
        long stamp = drain.writeLock();
        drain.unlockWrite(stamp);
    }

    // =========================================================================================
    // Registers (MmioDevice)
    // =========================================================================================

    @Override
    public long length() {
        int end = Math.max(Reg.BLOCK_SIZE, Math.max(froBytes + 16 * faults.registers(), iroBytes + 16));
        return (end + 0xFFF) & ~0xFFFL;
    }

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= length() || size <= 0 || size > 8) return ~0L >>> (64 - 8 * Math.max(1, Math.min(size, 8)));
        long q = readQword((int) (offset & ~7L));
        int sh = (int) (offset & 7) * 8;
        if (size == 8) return q;
        return (q >>> sh) & ((1L << (size * 8)) - 1);
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= length() || size <= 0 || size > 8) return;
        int sh = (int) (offset & 7) * 8;
        long mask = size == 8 ? -1L : ((1L << (size * 8)) - 1) << sh;
        writeQword((int) (offset & ~7L), size == 8 ? value : value << sh, mask);
    }

    /** The 64 bits at an 8-aligned register offset. */
    public synchronized long readQword(int off) {
        if (off >= froBytes && off < froBytes + 16 * faults.registers()) {
            int i = (off - froBytes) / 16;
            return faults.readRecord(i, ((off - froBytes) / 8) & 1);
        }
        if (off == iroBytes) return iva;
        if (off == iroBytes + 8) return iotlbReg;
        return switch (off) {
            case Reg.VER -> config.version();
            case Reg.CAP -> cap.raw();
            case Reg.ECAP -> ecap.raw();
            case Reg.GCMD -> (long) gsts << 32;                       // GCMD reads 0, GSTS in the upper dword
            case Reg.RTADDR -> rtaddr;
            case Reg.CCMD -> ccmd;
            case 0x30 -> (long) faults.readFsts() << 32;              // FSTS at 0x34
            case Reg.FECTL -> (faults.readFectl() & 0xFFFF_FFFFL) | ((long) faults.readFedata() << 32);
            case Reg.FEADDR -> (faults.readFeaddr() & 0xFFFF_FFFFL) | ((long) faults.readFeuaddr() << 32);
            case 0x60 -> (long) pmen << 32;                           // PMEN at 0x64
            case Reg.PLMBASE -> (plmbase & 0xFFFF_FFFFL) | ((long) plmlimit << 32);
            case Reg.PHMBASE -> phmbase;
            case Reg.PHMLIMIT -> phmlimit;
            default -> extension != null ? extension.readQword(off) : 0;
        };
    }

    private static long merge(long old, long value, long mask) {
        return (old & ~mask) | (value & mask);
    }

    public synchronized void writeQword(int off, long value, long mask) {
        boolean lo = (mask & 0xFFFF_FFFFL) != 0;
        boolean hi = (mask >>> 32) != 0;
        if (off >= froBytes && off < froBytes + 16 * faults.registers()) {
            int i = (off - froBytes) / 16;
            if ((((off - froBytes) / 8) & 1) == 1 && hi) faults.writeRecordHi(i, value & mask);
            return;
        }
        if (off == iroBytes) {
            // IVA_REG: ADDR 63:12, IH 6, AM 5:0 (bits 11:7 reserved).
            iva = merge(iva, value, mask) & (~0xFFFL | Reg.IVA_IH | Reg.IVA_AM_MASK);
            return;
        }
        if (off == iroBytes + 8) {
            writeIotlbReg(merge(iotlbReg, value, mask), hi);
            return;
        }
        switch (off) {
            case Reg.GCMD -> { if (lo) writeGcmd((int) merge(0, value, mask)); }
            case Reg.RTADDR -> {
                long keep = ecap.smts() ? ~0x3FFL : Reg.RTADDR_RTA_MASK;  // TTM (11:10) only with scalable mode
                rtaddr = merge(rtaddr, value, mask) & keep & addressAndTtmMask();
            }
            case Reg.CCMD -> writeCcmd(merge(ccmd, value, mask), hi);
            case 0x30 -> {
                if (hi) {
                    faults.writeFsts((int) (value >>> 32));
                    if (extension != null) extension.faultStatusWritten((int) (value >>> 32));
                }
            }
            case Reg.FECTL -> {
                if ((mask & 0xFFFF_FFFFL) != 0) faults.writeFectl((int) merge(faults.readFectl(), value, mask));
                if (hi) faults.writeFedata((int) (merge((long) faults.readFedata() << 32, value, mask) >>> 32));
            }
            case Reg.FEADDR -> {
                if (lo) faults.writeFeaddr((int) merge(faults.readFeaddr() & 0xFFFF_FFFFL, value, mask));
                if (hi) faults.writeFeuaddr((int) (merge((long) faults.readFeuaddr() << 32, value, mask) >>> 32));
            }
            case 0x60 -> { if (hi) writePmen((int) (merge((long) pmen << 32, value, mask) >>> 32)); }
            case Reg.PLMBASE -> {
                if (!cap.plmr()) return;
                long v = merge((plmbase & 0xFFFF_FFFFL) | ((long) plmlimit << 32), value, mask) & ~PMR_LOW_BITS_64;
                plmbase = (int) v;
                plmlimit = (int) (v >>> 32);
            }
            case Reg.PHMBASE -> { if (cap.phmr()) phmbase = merge(phmbase, value, mask) & ~PMR_GRANULE_MASK & hawMask(); }
            case Reg.PHMLIMIT -> { if (cap.phmr()) phmlimit = merge(phmlimit, value, mask) & ~PMR_GRANULE_MASK & hawMask(); }
            default -> { if (extension != null) extension.writeQword(off, value, mask); }
        }
    }

    private static final long PMR_LOW_BITS_64 = PMR_GRANULE_MASK | (PMR_GRANULE_MASK << 32);

    private long hawMask() {
        return (1L << config.hostAddressWidth()) - 1;
    }

    private long addressAndTtmMask() {
        return hawMask() | Reg.RTADDR_TTM_MASK;
    }

    /** GCMD (11.4.4): each write is compared with GSTS to find the one command being issued. */
    private void writeGcmd(int cmd) {
        int st = gsts;
        // SRTP: latch the root table pointer (and its TTM) and report RTPS.
        if ((cmd & Reg.GCMD_SRTP) != 0) {
            boolean wasScalable = scalable;
            rootTable = rtaddr;
            translationEpoch.bump();
            st |= Reg.GSTS_RTPS;
            boolean nowScalable = ecap.smts() && translationTableMode() != TTM_LEGACY;
            mru = null;
            if (nowScalable != wasScalable) {
                // A change of translation mode: no entry of the other mode's format may be used.
                long stamp = drain.writeLock();
                try {
                    scalable = nowScalable;
                    contextCache.invalidateAll();
                    pasidCache.invalidateAll();
                    iotlb.invalidateAll();
                } finally {
                    drain.unlockWrite(stamp);
                }
            }
            if (cap.esrtps()) {
                long stamp = drain.writeLock();
                try {
                    contextCache.invalidateAll();
                    pasidCache.invalidateAll();
                    iotlb.invalidateAll();
                } finally {
                    drain.unlockWrite(stamp);
                }
            }
        }
        // TE: enable or disable DMA remapping.
        if (((cmd ^ st) & Reg.GCMD_TE) != 0) {
            long stamp = drain.writeLock();
            try {
                st = (st & ~Reg.GSTS_TES) | (cmd & Reg.GCMD_TE);
                gsts = st;
                translationEpoch.bump();
            } finally {
                drain.unlockWrite(stamp);
            }
        }
        // WBF: the model has no write buffer, so a flush completes at once and WBFS reads 0 again.
        gsts = st;
        if (extension != null) gsts = extension.command(cmd, gsts);
    }

    private void writeCcmd(long v, boolean hiWritten) {
        ccmd = v;
        if (!hiWritten || (v & Reg.CCMD_ICC) == 0) return;
        if ((gsts & Reg.GSTS_QIES) != 0) return; // 6.5.2: register invalidation is not used while QI is on
        int cirg = (int) ((v >>> Reg.CCMD_CIRG_SHIFT) & 3);
        int fm = (int) ((v >>> Reg.CCMD_FM_SHIFT) & 3);
        int sid = (int) ((v >>> Reg.CCMD_SID_SHIFT) & 0xFFFF);
        int did = (int) (v & 0xFFFF);
        int caig = invalidateContextCache(cirg, did, sid, fm);
        ccmd = (v & ~Reg.CCMD_ICC & ~(3L << Reg.CCMD_CAIG_SHIFT)) | ((long) caig << Reg.CCMD_CAIG_SHIFT);
    }

    private void writeIotlbReg(long v, boolean hiWritten) {
        iotlbReg = v;
        if (!hiWritten || (v & Reg.IOTLB_IVT) == 0) return;
        if ((gsts & Reg.GSTS_QIES) != 0) return;
        int iirg = (int) ((v >>> Reg.IOTLB_IIRG_SHIFT) & 3);
        int did = (int) ((v >>> Reg.IOTLB_DID_SHIFT) & 0xFFFF);
        int am = (int) (iva & Reg.IVA_AM_MASK);
        int iaig = invalidateIotlb(iirg, did, iva & ~0xFFFL, am, (iva & Reg.IVA_IH) != 0);
        iotlbReg = (v & ~Reg.IOTLB_IVT & ~(3L << Reg.IOTLB_IAIG_SHIFT)) | ((long) iaig << Reg.IOTLB_IAIG_SHIFT);
    }

    private void writePmen(int v) {
        if (!cap.plmr() && !cap.phmr()) return;
        long stamp = drain.writeLock();
        try {
            pmen = (v & Reg.PMEN_EPM) | ((v & Reg.PMEN_EPM) != 0 ? Reg.PMEN_PRS : 0);
        } finally {
            drain.unlockWrite(stamp);
        }
    }

    /**
     * Registers beyond the legacy DMA-remapping set (queued invalidation, interrupt remapping,
     * page requests) are served by an extension block when the unit advertises them.
     */
    public interface RegisterExtension {
        long readQword(int offset);

        void writeQword(int offset, long value, long mask);

        /** Runs the GCMD commands this block owns and returns the new GSTS. */
        int command(int gcmd, int gsts);

        /**
         * Called after software wrote FSTS (its RW1C bits already applied), e.g. so the invalidation
         * queue resumes once IQE is cleared (6.5.2.10).
         */
        default void faultStatusWritten(int value) {}

        /** Power-on reset of this block's registers. */
        default void reset() {}
    }

    private RegisterExtension extension;

    public synchronized void setRegisterExtension(RegisterExtension ext) {
        this.extension = ext;
    }

    /** Power-on reset of the register state and caches (11.4: reset values). */
    public synchronized void reset() {
        gsts = 0;
        rtaddr = 0;
        rootTable = 0;
        ccmd = 0;
        iotlbReg = 0;
        iva = 0;
        pmen = 0;
        plmbase = plmlimit = 0;
        phmbase = phmlimit = 0;
        faults.reset();
        if (extension != null) extension.reset();
        scalable = false;
        mru = null;
        contextCache.invalidateAll();
        pasidCache.invalidateAll();
        iotlb.invalidateAll();
    }

    // =========================================================================================
    // Statistics
    // =========================================================================================

    /** Counters of the unit. */
    public record Stats(long dmaRequests, long dmaReadBytes, long dmaWriteBytes, long blockedRequests, long pmrBlocked,
                        long walks, long interruptRequests, long faultsRecorded, long faultsSuppressed,
                        long faultOverflows, SetAssociativeCache.CacheStats iotlb,
                        SetAssociativeCache.CacheStats contextCache) {}

    public Stats stats() {
        long fast = fastReads;
        return new Stats(dmaRequests + fast, dmaReadBytes, dmaWriteBytes, blockedRequests.sum(),
                pmrBlocked.sum(), walks.sum(), interruptRequests.sum(), faults.recordedCount(),
                faults.suppressedCount(), faults.overflowCount(), iotlb.stats().withMoreHits(fast),
                contextCache.stats().withMoreHits(fast));
    }
}

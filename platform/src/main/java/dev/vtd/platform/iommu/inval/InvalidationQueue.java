package dev.vtd.platform.iommu.inval;

import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.ContextCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.Decoded;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.DeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IecInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PageGroupResponse;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidDeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PasidIotlbInvalidate;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.concurrent.atomic.LongAdder;

/**
 * Queued invalidation (VT-d spec 6.5.2, registers 11.4.7): the invalidation queue in memory at
 * IQA, its head (IQH, advanced by the unit) and tail (IQT, written by software), the invalidation
 * completion status (ICS.IWC) and event (IECTL/IEDATA/IEADDR/IEUADDR), and IQERCD.
 *
 * <p>Descriptors are fetched and executed synchronously when software writes IQT (and when the
 * queue is enabled or an IQE is cleared), so IQH equals IQT on return unless the queue stopped at
 * an invalid descriptor. Every invalidation completes its drain before the next descriptor is
 * fetched: once an invalidation wait completes, no DMA or interrupt request is still using an
 * entry invalidated before it.
 *
 * <p>Register access arrives through the owning {@link RemappingUnit}, which serializes it.
 */
public final class InvalidationQueue {
    // IQA (11.4.7.3): IQA 63:12, DW 11, QS 2:0.
    public static final long IQA_DW = 1L << 11;
    public static final long IQA_QS_MASK = 0x7;
    // IQH / IQT (11.4.7.1/2): offset in 18:4.
    public static final long IQ_OFFSET_MASK = 0x7FFF0L;
    public static final long IQT_DW_RESERVED = 1L << 4;
    // ICS (11.4.7.4): IWC bit 0.
    public static final int ICS_IWC = 1;
    // IQERCD (11.4.7.x): IQEI 3:0, ITESID 47:32, ICESID 63:48.
    public static final int IQERCD_ITESID_SHIFT = 32;
    public static final int IQERCD_ICESID_SHIFT = 48;

    /** Where IEC invalidations go (the interrupt-remapping block's interrupt entry cache). */
    public interface InterruptEntryCache {
        void invalidateAll();

        /** Invalidates the 2^mask entries of the aligned block containing index. */
        void invalidate(int index, int mask);
    }

    /** Where page-request drains go (PD in a wait descriptor, with ECAP.PDS). */
    public interface PageRequestDrain {
        void drain();
    }

    private final RemappingUnit unit;
    private final PhysicalMemory memory;
    private final InvalidationDescriptor.Support support;
    private final DeviceTlbRegistry deviceTlbs;
    private final boolean wideSupported;
    private volatile InterruptEntryCache iec;
    private volatile PageRequestDrain pageRequestDrain;

    private long iqa;            // as written
    private long activeIqa;      // latched by QIE
    private long iqh;
    private long iqt;
    private int ics;
    private int iectl = Reg.ECTL_IM;
    private int iedata, ieaddr, ieuaddr;
    private long iqercd;

    private final LongAdder[] byType = new LongAdder[16];
    private final LongAdder waitsCompleted = new LongAdder();
    private final LongAdder waitsAborted = new LongAdder();
    private final LongAdder queueErrors = new LongAdder();
    private long eventsSent;

    public InvalidationQueue(RemappingUnit unit, DeviceTlbRegistry deviceTlbs) {
        this.unit = unit;
        this.memory = unit.memory();
        this.deviceTlbs = deviceTlbs;
        this.wideSupported = unit.ecap().smts();
        this.support = new InvalidationDescriptor.Support(unit.ecap().dt(), unit.ecap().ir(), unit.ecap().smts(),
                pageDrainSupported(unit), unit.cap().mamv(), unit.config().hostAddressWidth(), unit.ecap().prs());
        for (int i = 0; i < byType.length; i++) byType[i] = new LongAdder();
    }

    private static boolean pageDrainSupported(RemappingUnit unit) {
        return dev.vtd.platform.iommu.regs.Ecap.PDS.get(unit.ecap().raw()) != 0;
    }

    public void setInterruptEntryCache(InterruptEntryCache c) { this.iec = c; }
    public void setPageRequestDrain(PageRequestDrain d) { this.pageRequestDrain = d; }
    public DeviceTlbRegistry deviceTlbs() { return deviceTlbs; }

    /** True for the register offsets this block serves. */
    public static boolean owns(int off) {
        return off >= Reg.IQH && off <= Reg.IQERCD;
    }

    private boolean enabled() {
        return (unit.gsts() & Reg.GSTS_QIES) != 0;
    }

    private boolean wide() {
        return (activeIqa & IQA_DW) != 0;
    }

    private int descriptorBytes() {
        return wide() ? 32 : 16;
    }

    /** Queue length in bytes: 2^QS 4 KiB pages. */
    private long queueBytes() {
        return 4096L << (activeIqa & IQA_QS_MASK);
    }

    private long hawMask() {
        return (1L << unit.config().hostAddressWidth()) - 1;
    }

    // ---- registers ---------------------------------------------------------------------------

    public synchronized long readQword(int off) {
        return switch (off) {
            case Reg.IQH -> iqh;
            case Reg.IQT -> iqt;
            case Reg.IQA -> iqa;
            case 0x98 -> (long) ics << 32;                                       // ICS at 0x9C
            case Reg.IECTL -> (iectl & 0xFFFF_FFFFL) | ((long) iedata << 32);
            case Reg.IEADDR -> (ieaddr & 0xFFFF_FFFFL) | ((long) ieuaddr << 32);
            case Reg.IQERCD -> iqercd;
            default -> 0;
        };
    }

    public synchronized void writeQword(int off, long value, long mask) {
        boolean lo = (mask & 0xFFFF_FFFFL) != 0;
        boolean hi = (mask >>> 32) != 0;
        switch (off) {
            case Reg.IQT -> {
                iqt = merge(iqt, value, mask) & IQ_OFFSET_MASK;
                if (enabled()) process();
            }
            case Reg.IQA -> {
                long keep = ~0xFFFL & hawMask() | IQA_QS_MASK | (wideSupported ? IQA_DW : 0);
                iqa = merge(iqa, value, mask) & keep;
            }
            case 0x98 -> {
                if (hi && (((value >>> 32) & ICS_IWC) != 0) && (ics & ICS_IWC) != 0) {
                    ics &= ~ICS_IWC;
                    iectl &= ~Reg.ECTL_IP;          // 11.4.7.5: clearing IWC services the pending condition
                }
            }
            case Reg.IECTL -> {
                if (lo) {
                    iectl = (iectl & Reg.ECTL_IP) | ((int) value & Reg.ECTL_IM);
                    if ((iectl & Reg.ECTL_IM) == 0 && (iectl & Reg.ECTL_IP) != 0) sendEvent();
                }
                if (hi) iedata = (int) (merge((long) iedata << 32, value, mask) >>> 32);
            }
            case Reg.IEADDR -> {
                if (lo) ieaddr = (int) merge(ieaddr & 0xFFFF_FFFFL, value, mask) & ~3;
                if (hi) ieuaddr = (int) (merge((long) ieuaddr << 32, value, mask) >>> 32);
            }
            default -> { }                                                       // IQH, IQERCD: read-only
        }
    }

    private static long merge(long old, long value, long mask) {
        return (old & ~mask) | (value & mask);
    }

    /** GCMD.QIE (11.4.4): enable latches IQA and starts fetching; disable resets IQH to 0. */
    public synchronized int command(int gcmd, int gsts) {
        boolean want = (gcmd & Reg.GCMD_QIE) != 0;
        boolean on = (gsts & Reg.GSTS_QIES) != 0;
        if (want == on) return gsts;
        if (want) {
            activeIqa = iqa;
            iqh = 0;
            unit.setStatusBits(Reg.GSTS_QIES, true);
            process();
            return gsts | Reg.GSTS_QIES;
        }
        iqh = 0;
        unit.setStatusBits(Reg.GSTS_QIES, false);
        return gsts & ~Reg.GSTS_QIES;
    }

    /** Resumes the queue when software clears IQE (spec 6.5.2.10: fetching restarts at IQH). */
    public synchronized void faultStatusWritten(int value) {
        if ((value & Reg.FSTS_IQE) != 0 && enabled()) process();
    }

    public synchronized void reset() {
        iqa = activeIqa = iqh = iqt = 0;
        ics = 0;
        iectl = Reg.ECTL_IM;
        iedata = ieaddr = ieuaddr = 0;
        iqercd = 0;
    }

    // ---- processing --------------------------------------------------------------------------

    /** Fetches and executes descriptors from IQH up to IQT, stopping at the first invalid one. */
    private void process() {
        if (unit.faults().queueErrorPending(Reg.FSTS_IQE)) return;       // stopped until software clears IQE
        int size = descriptorBytes();
        long bytes = queueBytes();
        if (wide() && (iqt & IQT_DW_RESERVED) != 0 || iqt >= bytes) {
            queueError(QueueErrorInfo.INVALID_TAIL);
            return;
        }
        long base = activeIqa & ~0xFFFL;
        long budget = bytes / size;                                          // at most one lap
        while (iqh != iqt && budget-- > 0) {
            // 6.5.2: with RTADDR.TTM = 01b (scalable mode) only 256-bit descriptors are valid.
            if (!wide() && unit.translationTableMode() == 1) {
                queueError(QueueErrorInfo.INVALID_WIDTH);
                return;
            }
            long addr = base + iqh;
            if (!memory.isRam(addr, size)) {
                queueError(QueueErrorInfo.FETCH_ERROR);
                return;
            }
            long q0 = memory.read64(addr), q1 = memory.read64(addr + 8);
            long q2 = size == 32 ? memory.read64(addr + 16) : 0, q3 = size == 32 ? memory.read64(addr + 24) : 0;
            Decoded d = InvalidationDescriptor.decode(q0, q1, q2, q3, support);
            if (d.error() != null) {
                queueError(d.error());
                return;
            }
            byType[d.descriptor().type()].increment();
            execute(d.descriptor());
            iqh = (iqh + size) % bytes;
        }
    }

    private void queueError(QueueErrorInfo why) {
        queueErrors.increment();
        iqercd = (iqercd & ~0xFL) | why.code;
        unit.faults().setQueueError(Reg.FSTS_IQE);
    }

    private void execute(InvalidationDescriptor d) {
        switch (d) {
            case ContextCacheInvalidate c -> unit.invalidateContextCache(c.granularity(), c.domainId(), c.sourceId(),
                    c.functionMask());
            case IotlbInvalidate t -> {
                unit.invalidateIotlb(t.granularity(), t.domainId(), t.address(), t.addressMask(), t.invalidationHint());
                if (t.drainReads() || t.drainWrites()) unit.drainInFlight();
            }
            case DeviceTlbInvalidate t -> deviceTlbInvalidate(t);
            case IecInvalidate e -> {
                InterruptEntryCache c = iec;
                if (c != null) {
                    // IM above ECAP.MHMV is undefined (6.5.2.7): invalidate everything, a safe superset.
                    if (!e.indexSelective() || e.indexMask() > unit.ecap().mhmv()) c.invalidateAll();
                    else c.invalidate(e.index(), e.indexMask());
                }
            }
            case InvalidationWait w -> invalidationWait(w);
            case PasidIotlbInvalidate p -> unit.invalidatePasidIotlb(p.granularity(), p.domainId(), p.pasid(), p.address(),
                    p.addressMask());
            case PasidCacheInvalidate p -> unit.invalidatePasidCache(p.granularity(), p.domainId(), p.pasid());
            case PasidDeviceTlbInvalidate t -> {
                long size = t.rangeSize();
                deviceTlbInvalidate(t.sourceId(), new DeviceTlb.DeviceTlbInvalidationRequest(t.sourceId(),
                        t.physicalFunctionSid(), t.address() & ~(size - 1), size, t.pasid(), t.global()));
            }
            case PageGroupResponse r -> {
                // 7.5.1: the response goes to the endpoint (PCIe PRG Response message).
                DeviceTlb tlb = deviceTlbs.lookup(r.requesterId());
                if (tlb != null) tlb.pageGroupResponse(r);
            }
        }
    }

    private void deviceTlbInvalidate(DeviceTlbInvalidate t) {
        long size = t.rangeSize();
        deviceTlbInvalidate(t.sourceId(), new DeviceTlb.DeviceTlbInvalidationRequest(t.sourceId(),
                t.physicalFunctionSid(), t.address() & ~(size - 1), size));
    }

    private void deviceTlbInvalidate(int sid, DeviceTlb.DeviceTlbInvalidationRequest request) {
        DeviceTlb tlb = deviceTlbs.lookup(sid);
        if (tlb == null) return;                                  // nothing cached for that requester
        DeviceTlb.Completion c = tlb.invalidate(request);
        switch (c) {
            case DONE -> { }
            case TIMEOUT -> {
                if (!unit.faults().queueErrorPending(Reg.FSTS_ITE)) {
                    iqercd = (iqercd & ~(0xFFFFL << IQERCD_ITESID_SHIFT))
                            | ((long) (sid & 0xFFFF) << IQERCD_ITESID_SHIFT);
                }
                unit.faults().setQueueError(Reg.FSTS_ITE);
            }
            case ERROR -> {
                if (!unit.faults().queueErrorPending(Reg.FSTS_ICE)) {
                    iqercd = (iqercd & ~(0xFFFFL << IQERCD_ICESID_SHIFT))
                            | ((long) (sid & 0xFFFF) << IQERCD_ICESID_SHIFT);
                }
                unit.faults().setQueueError(Reg.FSTS_ICE);
            }
        }
    }

    /**
     * 6.5.2.8: every earlier descriptor has completed (they ran synchronously and drained), so
     * the wait completes now: status write, then the completion interrupt. While ITE is pending
     * (a device-TLB invalidation timed out) wait descriptors are aborted: no status, no interrupt.
     */
    private void invalidationWait(InvalidationWait w) {
        if (unit.faults().queueErrorPending(Reg.FSTS_ITE)) {
            waitsAborted.increment();
            return;
        }
        unit.drainInFlight();
        if (w.pageRequestDrain()) {
            PageRequestDrain p = pageRequestDrain;
            if (p != null) p.drain();
        }
        if (w.statusWrite()) memory.write32(w.statusAddress(), w.statusData());   // the unit's own write, untranslated
        if (w.interruptFlag() && (ics & ICS_IWC) == 0) {
            ics |= ICS_IWC;
            iectl |= Reg.ECTL_IP;
            if ((iectl & Reg.ECTL_IM) == 0) sendEvent();
        }
        waitsCompleted.increment();
    }

    private void sendEvent() {
        iectl &= ~Reg.ECTL_IP;
        eventsSent++;
        unit.interruptSink().deliver(((long) ieuaddr << 32) | (ieaddr & 0xFFFF_FFFFL), iedata);
    }

    // ---- statistics --------------------------------------------------------------------------

    /** Counters: descriptors executed per type, waits completed/aborted, queue errors, events. */
    public record Stats(long[] descriptorsByType, long waitsCompleted, long waitsAborted, long queueErrors,
                        long eventsSent) {
        public long descriptors() {
            long n = 0;
            for (long v : descriptorsByType) n += v;
            return n;
        }
    }

    public synchronized Stats stats() {
        long[] t = new long[byType.length];
        for (int i = 0; i < t.length; i++) t[i] = byType[i].sum();
        return new Stats(t, waitsCompleted.sum(), waitsAborted.sum(), queueErrors.sum(), eventsSent);
    }
}

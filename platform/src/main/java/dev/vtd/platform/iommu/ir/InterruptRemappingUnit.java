package dev.vtd.platform.iommu.ir;

import dev.vtd.platform.interrupt.InterruptMessage;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.cache.Keyed;
import dev.vtd.platform.iommu.cache.SetAssociativeCache;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.inval.InvalidationQueue;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

/**
 * Interrupt remapping (VT-d spec chapter 5, 9.10-9.12): the interrupt-remapping table at IRTA
 * (2^(S+1) 128-bit IRTEs, EIME selecting 32-bit x2APIC destinations), GCMD.SIRTP/IRE/CFI with
 * GSTS.IRTPS/IRES/CFIS, the interrupt entry cache (IEC) invalidated by IEC descriptors, the
 * remapping of each interrupt request with its faults 0x20-0x26, and posted interrupts (CAP.PI).
 *
 * <p>Concurrency: a remap holds a shared lock from its IEC lookup until the interrupt is delivered;
 * an IEC invalidation takes it exclusively, so once the invalidation completes no interrupt remapped
 * through an invalidated entry is still in flight (6.5.5).
 */
public final class InterruptRemappingUnit implements RemappingUnit.InterruptRemapping,
        InvalidationQueue.InterruptEntryCache {
    // IRTA (11.4.8.x): IRTA 63:12, EIME 11, S 3:0.
    public static final long IRTA_EIME = 1L << 11;
    public static final long IRTA_S_MASK = 0xF;
    public static final int IRTE_SIZE = 16;
    // Posted-interrupt descriptor (9.12): PIR 255:0, ON 256, SN 257, NV 279:272, NDST 319:288.
    public static final int PID_SIZE = 64;
    public static final int PID_CONTROL_OFFSET = 32;
    public static final long PID_ON = 1L;
    public static final long PID_SN = 1L << 1;
    public static final int PID_NV_SHIFT = 16;
    public static final int PID_NDST_SHIFT = 32;

    private final RemappingUnit unit;
    private final PhysicalMemory memory;
    private final boolean eimSupported;
    private final boolean postedSupported;
    private final int haw;
    private final SetAssociativeCache<IecEntry> iec;
    private final StampedLock drain = new StampedLock();
    private final ThreadLocal<int[]> remapDepth = ThreadLocal.withInitial(() -> new int[1]);

    private long irta;                      // as written
    private volatile long activeIrta;       // latched by SIRTP

    private final LongAdder remapped = new LongAdder();
    private final LongAdder posted = new LongAdder();
    private final LongAdder notifications = new LongAdder();
    private final LongAdder blocked = new LongAdder();
    private final LongAdder compatibilityPassed = new LongAdder();
    private final LongAdder postedAccessErrors = new LongAdder();

    /** One cached IRTE, keyed by its interrupt index. */
    public record IecEntry(long cacheKey, int index, Irte irte) implements Keyed {}

    public InterruptRemappingUnit(RemappingUnit unit, int iecEntries) {
        this.unit = unit;
        this.memory = unit.memory();
        this.eimSupported = unit.ecap().eim();
        this.postedSupported = unit.cap().pi();
        this.haw = unit.config().hostAddressWidth();
        this.iec = new SetAssociativeCache<>("interrupt-entry-cache", iecEntries, 4);
    }

    public SetAssociativeCache<IecEntry> interruptEntryCache() { return iec; }

    public static boolean owns(int off) {
        return off == Reg.IRTA;
    }

    private long hawMask() {
        return (1L << haw) - 1;
    }

    /** Table size in entries: 2^(S+1). */
    public int tableEntries() {
        return 2 << (activeIrta & IRTA_S_MASK);
    }

    public long tableAddress() {
        return activeIrta & ~0xFFFL;
    }

    public boolean extendedInterruptMode() {
        return (activeIrta & IRTA_EIME) != 0;
    }

    // ---- registers ---------------------------------------------------------------------------

    public synchronized long readQword(int off) {
        return off == Reg.IRTA ? irta : 0;
    }

    public synchronized void writeQword(int off, long value, long mask) {
        if (off != Reg.IRTA) return;
        long keep = (~0xFFFL & hawMask()) | IRTA_S_MASK | (eimSupported ? IRTA_EIME : 0);
        irta = ((irta & ~mask) | (value & mask)) & keep;
    }

    /** GCMD.SIRTP (one-shot), IRE and CFI (11.4.4). */
    public synchronized int command(int gcmd, int gsts) {
        int st = gsts;
        if ((gcmd & Reg.GCMD_SIRTP) != 0) {
            activeIrta = irta;
            st |= Reg.GSTS_IRTPS;
            // CAP.ESIRTPS: SIRTP also invalidates the interrupt entry cache.
            if (unit.cap().esirtps()) invalidateAll();
        }
        if (((gcmd ^ st) & Reg.GCMD_IRE) != 0) {
            long stamp = writeLockUnlessRemapping();
            try {
                st = (st & ~Reg.GSTS_IRES) | (gcmd & Reg.GCMD_IRE);
                unit.setStatusBits(Reg.GSTS_IRES, (st & Reg.GSTS_IRES) != 0);
            } finally {
                if (stamp != 0) drain.unlockWrite(stamp);
            }
        }
        if (((gcmd ^ st) & Reg.GCMD_CFI) != 0) {
            st = (st & ~Reg.GSTS_CFIS) | (gcmd & Reg.GCMD_CFI);
        }
        return st;
    }

    public synchronized void reset() {
        irta = activeIrta = 0;
        iec.invalidateAll();
    }

    // ---- interrupt entry cache ---------------------------------------------------------------

    @Override
    public void invalidateAll() {
        long stamp = writeLockUnlessRemapping();
        try {
            iec.invalidateAll();
        } finally {
            if (stamp != 0) drain.unlockWrite(stamp);
        }
    }

    @Override
    public void invalidate(int index, int mask) {
        int m = Math.min(mask, 16);
        int first = (index & 0xFFFF) >>> m;
        long stamp = writeLockUnlessRemapping();
        try {
            iec.invalidateIf(e -> (e.index() >>> m) == first);
        } finally {
            if (stamp != 0) drain.unlockWrite(stamp);
        }
    }

    /** Exclusive drain lock, except on a thread that is itself delivering a remapped interrupt. */
    private long writeLockUnlessRemapping() {
        return remapDepth.get()[0] > 0 ? 0 : drain.writeLock();
    }

    // ---- remapping (5.1.4) -------------------------------------------------------------------

    @Override
    public void remap(int sourceId, long address, int data) {
        int sid = sourceId & 0xFFFF;
        int[] depth = remapDepth.get();
        long stamp = drain.readLock();
        depth[0]++;
        try {
            remapLocked(sid, new MsiMessage(address, data));
        } finally {
            depth[0]--;
            drain.unlockRead(stamp);
        }
    }

    private void remapLocked(int sid, MsiMessage msi) {
        boolean eime = extendedInterruptMode();
        if (!msi.remappable()) {
            // 5.1.2.1: compatibility format passes through only with GSTS.CFIS and EIME = 0.
            if (!eime && (unit.gsts() & Reg.GSTS_CFIS) != 0) {
                compatibilityPassed.increment();
                unit.interruptSink().deliver(msi.address(), msi.data());
            } else {
                block(sid, 0, FaultReason.IR_COMPAT_BLOCKED, false);
            }
            return;
        }
        int index = msi.interruptIndex();
        if (msi.hasReservedFields()) {
            block(sid, index, FaultReason.IR_REQUEST_RESERVED, false);
            return;
        }
        if (index >= tableEntries()) {
            block(sid, index, FaultReason.IR_INDEX_TOO_LARGE, false);
            return;
        }
        Irte irte = entry(index);
        if (irte == null) {
            block(sid, index, FaultReason.IR_TABLE_ACCESS, false);
            return;
        }
        if (!irte.present()) {
            block(sid, index, FaultReason.IR_IRTE_NOT_PRESENT, false);
            return;
        }
        if (irte.hasReservedBits(eime, postedSupported, haw)) {
            block(sid, index, FaultReason.IR_IRTE_RESERVED, irte.fpd());
            return;
        }
        if (!sourceValid(irte, sid)) {
            block(sid, index, FaultReason.IR_SID_MISMATCH, irte.fpd());
            return;
        }
        if (irte.posted()) {
            post(irte, eime);
        } else {
            remapped.increment();
            unit.interruptSink().deliver(new InterruptMessage(irte.apicId(eime), irte.vector(), irte.deliveryMode(),
                    irte.logicalDestination(), irte.redirectionHint(), irte.levelTriggered(), eime, false));
        }
    }

    /** The IRTE for an index: from the IEC, else read from the table (null if the table is not in RAM). */
    private Irte entry(int index) {
        long key = index;
        IecEntry cached = iec.get(key);
        if (cached != null) return cached.irte();
        long epoch = iec.epoch();
        long addr = tableAddress() + (long) index * IRTE_SIZE;
        if (!memory.isRam(addr, IRTE_SIZE)) return null;
        Irte irte = Irte.decode(memory.read64(addr), memory.read64(addr + 8));
        // Only entries that can be used are cached; faulting entries are re-read each time.
        if (irte.present() && !irte.hasReservedBits(extendedInterruptMode(), postedSupported, haw)) {
            iec.put(new IecEntry(key, index, irte), epoch);
        }
        return irte;
    }

    /**
     * 9.10 SVT/SQ: 01b compares the requester ID with SID under the SQ mask of function bits;
     * 10b requires the requester's bus within SID[15:8]..SID[7:0]. The requester ID checked is the
     * one the request carries, i.e. already the alias a PCIe-to-PCI bridge substitutes.
     */
    public static boolean sourceValid(Irte irte, int requester) {
        return switch (irte.svt()) {
            case Irte.SVT_NONE -> true;
            case Irte.SVT_SID -> {
                int ignore = switch (irte.sq()) {
                    case 0 -> 0;
                    case 1 -> 0b100;
                    case 2 -> 0b110;
                    default -> 0b111;
                };
                yield (requester & ~ignore & 0xFFFF) == (irte.sid() & ~ignore & 0xFFFF);
            }
            case Irte.SVT_BUS_RANGE -> {
                int bus = requester >>> 8, start = irte.sid() >>> 8, end = irte.sid() & 0xFF;
                yield start <= bus && bus <= end;
            }
            default -> false;
        };
    }

    private void block(int sid, int index, FaultReason reason, boolean fpd) {
        blocked.increment();
        unit.faults().report(Fault.interrupt(sid, index, reason), fpd);
    }

    /**
     * 5.2.3 posted-interrupt processing: set PIR[vector]; then, unless ON is already set or
     * (SN = 1 and URG = 0), set ON and send the notification event NV to NDST. Each step is an
     * atomic update of the descriptor, so concurrent posting and the CPU's own clearing of ON/PIR
     * never lose a request.
     */
    private void post(Irte irte, boolean eime) {
        long pda = irte.descriptorAddress();
        if (!memory.isRam(pda, PID_SIZE)) {
            postedAccessErrors.increment();
            return;
        }
        posted.increment();
        int v = irte.vector();
        memory.getAndOr64(pda + (v >>> 6) * 8L, 1L << (v & 63));
        long ctl = pda + PID_CONTROL_OFFSET;
        while (true) {
            long c = memory.read64(ctl);
            if ((c & PID_ON) != 0) return;                                  // a notification is already pending
            if ((c & PID_SN) != 0 && !irte.urgent()) return;                // suppressed
            if (memory.compareAndSet64(ctl, c, c | PID_ON)) {
                int nv = (int) ((c >>> PID_NV_SHIFT) & 0xFF);
                int ndstRaw = (int) (c >>> PID_NDST_SHIFT);
                int ndst = eime ? ndstRaw : (ndstRaw >>> 8) & 0xFF;           // xAPIC: NDST[15:8]
                notifications.increment();
                unit.interruptSink().deliver(InterruptMessage.notification(nv, ndst, eime));
                return;
            }
        }
    }

    // ---- statistics --------------------------------------------------------------------------

    public record Stats(long remapped, long posted, long notifications, long blocked, long compatibilityPassed,
                        long postedAccessErrors, SetAssociativeCache.CacheStats iec) {}

    public Stats stats() {
        return new Stats(remapped.sum(), posted.sum(), notifications.sum(), blocked.sum(), compatibilityPassed.sum(),
                postedAccessErrors.sum(), iec.stats());
    }
}

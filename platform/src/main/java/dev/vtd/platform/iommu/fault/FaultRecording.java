package dev.vtd.platform.iommu.fault;

import dev.vtd.platform.interrupt.InterruptSink;
import dev.vtd.platform.iommu.regs.Reg;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Primary fault logging and the fault event (VT-d spec 7.3 and 11.4.9): the CAP.NFR fault recording
 * registers (FRCD) filled in turn from FSTS.FRI, PPF as the OR of their F bits, PFO when the
 * register at FRI is still full, the RW1C status bits, and the fault-event interrupt from
 * FECTL/FEDATA/FEADDR/FEUADDR with IM/IP semantics.
 *
 * <p>The IQE, ICE and ITE status bits of FSTS also live here (set by the invalidation queue) since
 * they share FSTS and raise the same fault event.
 */
public final class FaultRecording {
    private final int count;
    private final long[] lo;
    private final long[] hi;
    private final InterruptSink sink;
    private int fsts;     // PFO, AFO, APF, IQE, ICE, ITE (PPF and FRI are computed)
    private int fri;      // FSTS.FRI: the record holding the first pending fault (valid while PPF)
    private int next;     // where hardware records the next fault (internal)
    private int fectl = Reg.ECTL_IM;
    private int fedata;
    private int feaddr;
    private int feuaddr;
    private long recorded, suppressed, overflowed, eventsSent;
    private final List<Consumer<Fault>> listeners = new ArrayList<>();
    private final List<Fault> history = new ArrayList<>();
    private static final int HISTORY_LIMIT = 4096;

    public FaultRecording(int numberOfRecords, InterruptSink sink) {
        this.count = Math.max(1, numberOfRecords);
        this.lo = new long[count];
        this.hi = new long[count];
        this.sink = sink;
    }

    public synchronized void reset() {
        java.util.Arrays.fill(lo, 0);
        java.util.Arrays.fill(hi, 0);
        fsts = 0;
        fri = 0;
        next = 0;
        fectl = Reg.ECTL_IM;
        fedata = feaddr = feuaddr = 0;
    }

    /** Called with each fault as it is recorded (e.g. by the host driver's fault handler or a tracer). */
    public synchronized void addListener(Consumer<Fault> l) {
        listeners.add(l);
    }

    /** Every fault condition the unit detected, recorded or not (bounded history for tools). */
    public synchronized List<Fault> history() {
        return List.copyOf(history);
    }

    /**
     * A fault condition detected by the unit. With {@code fpd} (fault processing disabled in the
     * context, PASID or IRT entry) it is not recorded and raises no event.
     */
    public void report(Fault f, boolean fpd) {
        List<Consumer<Fault>> ls;
        synchronized (this) {
            if (history.size() >= HISTORY_LIMIT) history.removeFirst();
            history.add(f);
            if (fpd) {
                suppressed++;
                return;
            }
            int before = pendingConditions();
            boolean anyPending = ppf();
            if ((fsts & Reg.FSTS_PFO) != 0) {
                // 7.3.1 step 1: while PFO is 1 nothing is recorded in any register, free or not; F, PPF, FRI and
                // the fault event stay as they are until software clears PFO.
                overflowed++;
            } else if ((hi[next] & Reg.FRCD_HI_F) != 0) {
                // 7.3.1: the next register still holds an unserviced fault: overflow, drop this one.
                fsts |= Reg.FSTS_PFO;
                overflowed++;
            } else {
                lo[next] = f.faultInfo() & ~0xFFFL;
                hi[next] = encodeHi(f);
                // 11.4.9.1: FRI names the register of the first pending fault, latched when PPF sets.
                if (!anyPending) fri = next;
                next = (next + 1) % count;
                recorded++;
            }
            if (before == 0) raiseEvent();
            ls = List.copyOf(listeners);
        }
        for (Consumer<Fault> l : ls) l.accept(f);
    }

    static long encodeHi(Fault f) {
        long v = Reg.FRCD_HI_F
                | (f.read() ? Reg.FRCD_HI_T : 0)
                | ((long) (f.addressType() & 3) << Reg.FRCD_HI_AT_SHIFT)
                | ((long) (f.pasid() & 0xFFFFF) << Reg.FRCD_HI_PV_SHIFT)
                | ((long) (f.reason().code & 0xFF) << Reg.FRCD_HI_FR_SHIFT)
                | (f.pasidPresent() ? Reg.FRCD_HI_PP : 0)
                | (f.exe() ? Reg.FRCD_HI_EXE : 0)
                | (f.priv() ? Reg.FRCD_HI_PRIV : 0)
                | (f.sourceId() & 0xFFFF);
        return v;
    }

    /** Sets an invalidation-queue error status bit (IQE, ICE, ITE) and raises the fault event. */
    public synchronized void setQueueError(int fstsBit) {
        int before = pendingConditions();
        fsts |= fstsBit;
        if (before == 0) raiseEvent();
    }

    public synchronized boolean queueErrorPending(int fstsBit) {
        return (fsts & fstsBit) != 0;
    }

    private boolean ppf() {
        for (long h : hi) if ((h & Reg.FRCD_HI_F) != 0) return true;
        return false;
    }

    /** FSTS bits that make up the fault-event condition (PPF, PFO, IQE, ICE, ITE, AFO, APF). */
    private int pendingConditions() {
        return (fsts & Reg.FSTS_RW1C) | (ppf() ? Reg.FSTS_PPF : 0);
    }

    private void raiseEvent() {
        // 7.3.3: set IP; if the event is not masked, send the message and clear IP.
        fectl |= Reg.ECTL_IP;
        if ((fectl & Reg.ECTL_IM) == 0) sendEvent();
    }

    private void sendEvent() {
        fectl &= ~Reg.ECTL_IP;
        eventsSent++;
        sink.deliver(((long) feuaddr << 32) | (feaddr & 0xFFFF_FFFFL), fedata);
    }

    private void maybeClearIp() {
        // 11.4.9.2: IP is cleared when software clears every pending condition.
        if (pendingConditions() == 0) fectl &= ~Reg.ECTL_IP;
    }

    // ---- register interface ---------------------------------------------------------------

    public synchronized int readFsts() {
        return pendingConditions() | ((fri & 0xFF) << Reg.FSTS_FRI_SHIFT);
    }

    public synchronized void writeFsts(int value) {
        fsts &= ~(value & Reg.FSTS_RW1C);
        maybeClearIp();
    }

    public synchronized int readFectl() {
        return fectl;
    }

    public synchronized void writeFectl(int value) {
        fectl = (fectl & Reg.ECTL_IP) | (value & Reg.ECTL_IM);
        if ((fectl & Reg.ECTL_IM) == 0 && (fectl & Reg.ECTL_IP) != 0) sendEvent();
    }

    public synchronized int readFedata() { return fedata; }
    public synchronized void writeFedata(int v) { fedata = v; }
    public synchronized int readFeaddr() { return feaddr; }
    public synchronized void writeFeaddr(int v) { feaddr = v & ~3; }
    public synchronized int readFeuaddr() { return feuaddr; }
    public synchronized void writeFeuaddr(int v) { feuaddr = v; }

    public int registers() {
        return count;
    }

    /** Qword {@code half} (0 = bits 63:0, 1 = bits 127:64) of fault recording register i. */
    public synchronized long readRecord(int i, int half) {
        if (i < 0 || i >= count) return 0;
        return half == 0 ? lo[i] : hi[i];
    }

    /** A write to the upper qword: F (bit 127) is RW1C; everything else is read-only. */
    public synchronized void writeRecordHi(int i, long value) {
        if (i < 0 || i >= count) return;
        if ((value & Reg.FRCD_HI_F) != 0) {
            hi[i] &= ~Reg.FRCD_HI_F;
            maybeClearIp();
        }
    }

    public synchronized long recordedCount() { return recorded; }
    public synchronized long suppressedCount() { return suppressed; }
    public synchronized long overflowCount() { return overflowed; }
    public synchronized long eventsSent() { return eventsSent; }

    /** Decodes fault recording register i, or null if its F bit is clear. */
    public synchronized RecordedFault decodeRecord(int i) {
        if (i < 0 || i >= count || (hi[i] & Reg.FRCD_HI_F) == 0) return null;
        return RecordedFault.decode(i, lo[i], hi[i]);
    }

    /** One fault recording register's content (11.4.9.3). */
    public record RecordedFault(int index, long faultInfo, int sourceId, boolean read, int addressType,
                                boolean pasidPresent, int pasid, int reasonCode) {
        public static RecordedFault decode(int index, long lo, long hi) {
            return new RecordedFault(index, lo & ~0xFFFL, (int) (hi & 0xFFFF), (hi & Reg.FRCD_HI_T) != 0,
                    (int) ((hi >>> Reg.FRCD_HI_AT_SHIFT) & 3), (hi & Reg.FRCD_HI_PP) != 0,
                    (int) ((hi >>> Reg.FRCD_HI_PV_SHIFT) & 0xFFFFF), (int) ((hi >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF));
        }

        public Fault toFault() {
            FaultReason r = FaultReason.of(reasonCode);
            return new Fault(sourceId, faultInfo, read, addressType, pasidPresent, pasid, false, false,
                    r == null ? FaultReason.SOFTWARE : r);
        }
    }
}

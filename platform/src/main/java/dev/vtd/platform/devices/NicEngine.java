package dev.vtd.platform.devices;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.PciFunction;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * The queue engine of one NIC function (a PF or a VF): igb-style register block with legacy
 * 16-byte descriptors. Transmit: a tail doorbell makes the engine fetch descriptors from TDH to TDT
 * by DMA, read their buffers by DMA, hand complete frames (EOP) to the wire and write DD back
 * for descriptors with RS. Receive: a frame takes the descriptors at RDH (buffer size 2048), is
 * written by DMA, and the descriptors are written back with length, DD and EOP; with no free
 * descriptors the frame is dropped and counted in MPC. Queue n's events set cause bit n in EICR;
 * an unmasked cause sends MSI-X vector n (MSI-X), MSI vector 0 (MSI) or asserts INTx.
 */
public final class NicEngine {
    // Register offsets (BAR0), as on 82576/I350 where they exist: the NIC's programming interface for drivers.
    public static final int CTRL = 0x0000;
    public static final int STATUS = 0x0008;
    public static final int RCTL = 0x0100;
    public static final int TCTL = 0x0400;
    public static final int EICS = 0x1520;
    public static final int EIMS = 0x1524;
    public static final int EIMC = 0x1528;
    public static final int EICR = 0x1580;
    public static final int MPC = 0x4010;
    public static final int GPRC = 0x4074;
    public static final int GPTC = 0x4080;
    public static final int GORCL = 0x4088;
    public static final int GOTCL = 0x4090;
    public static final int RAL0 = 0x5400;
    public static final int RAH0 = 0x5404;
    public static final int RX_QUEUE_BASE = 0xC000;
    public static final int TX_QUEUE_BASE = 0xE000;
    public static final int QUEUE_STRIDE = 0x40;
    /** A virtual function's queue registers (82576/I350 VF layout: RDBAL0 0x2800, TDBAL0 0x3800). */
    public static final int VF_RX_QUEUE_BASE = 0x2800;
    public static final int VF_TX_QUEUE_BASE = 0x3800;
    public static final int Q_BAL = 0x00;
    public static final int Q_BAH = 0x04;
    public static final int Q_LEN = 0x08;
    public static final int Q_HEAD = 0x10;
    public static final int Q_TAIL = 0x18;
    public static final int Q_DCTL = 0x28;

    public static final int CTRL_RST = 1 << 26;
    public static final int STATUS_LINK_UP = 1 << 1;
    public static final int RCTL_EN = 1 << 1;
    public static final int TCTL_EN = 1 << 1;
    public static final int DCTL_ENABLE = 1 << 25;
    public static final int RAH_AV = 1 << 31;

    public static final int DESC_SIZE = 16;
    public static final int TX_CMD_EOP = 1 << 0;
    public static final int TX_CMD_RS = 1 << 3;
    public static final int DESC_STA_DD = 1 << 0;
    public static final int RX_STA_EOP = 1 << 1;
    public static final int RX_BUFFER_SIZE = 2048;
    public static final int MAX_FRAME = 16384;
    public static final long TX_LATENCY_NS = 1_000;

    private final PciFunction fn;
    private final VirtualClock clock;
    private final int queues;
    private final Consumer<byte[]> wire;
    private int ctrl, rctl, tctl, eims, eicr, ral, rah;
    private final int[][] rxq;
    private final int[][] txq;
    private final ByteArrayOutputStream[] partial;
    private long mpcReg, gprcReg, gptcReg, gorcReg, gotcReg;
    private long rxPackets, txPackets, rxBytes, txBytes, missed, dmaErrors;

    private final boolean vf;
    private final int rxBase;
    private final int txBase;

    NicEngine(PciFunction fn, VirtualClock clock, int queues, Consumer<byte[]> wire) {
        this(fn, clock, queues, wire, false);
    }

    /** With {@code vf}: the VF register layout, and no RCTL/TCTL gate (the PF owns those). */
    NicEngine(PciFunction fn, VirtualClock clock, int queues, Consumer<byte[]> wire, boolean vf) {
        this.vf = vf;
        this.rxBase = vf ? VF_RX_QUEUE_BASE : RX_QUEUE_BASE;
        this.txBase = vf ? VF_TX_QUEUE_BASE : TX_QUEUE_BASE;
        this.fn = fn;
        this.clock = clock;
        this.queues = queues;
        this.wire = wire;
        rxq = new int[queues][QUEUE_STRIDE / 4];
        txq = new int[queues][QUEUE_STRIDE / 4];
        partial = new ByteArrayOutputStream[queues];
        for (int i = 0; i < queues; i++) partial[i] = new ByteArrayOutputStream();
    }

    synchronized void reset() {
        ctrl = rctl = tctl = eims = eicr = ral = rah = 0;
        for (int[] q : rxq) java.util.Arrays.fill(q, 0);
        for (int[] q : txq) java.util.Arrays.fill(q, 0);
        for (ByteArrayOutputStream p : partial) p.reset();
        mpcReg = gprcReg = gptcReg = gorcReg = gotcReg = 0;
        fn.setIntx(false);
    }

    // ---- statistics (running totals; the registers clear on read) -------------------------

    synchronized long rxPackets() { return rxPackets; }
    synchronized long txPackets() { return txPackets; }
    synchronized long rxBytes() { return rxBytes; }
    synchronized long txBytes() { return txBytes; }
    synchronized long missedPackets() { return missed; }
    synchronized long dmaErrors() { return dmaErrors; }

    /** The receive address the PF assigns a VF (igb does it through the PF-VF mailbox). */
    synchronized void assignMac(long mac) {
        ral = (int) mac;
        rah = RAH_AV | (int) ((mac >>> 32) & 0xFFFF);
    }

    synchronized long mac() {
        return (rah & RAH_AV) == 0 ? -1 : (ral & 0xFFFF_FFFFL) | (long) (rah & 0xFFFF) << 32;
    }

    MmioDevice registers(long size) {
        return new MmioDevice() {
            @Override
            public long read(long offset, int sz) {
                return sz == 4 && (offset & 3) == 0 && offset >= 0 && offset < size ? readReg((int) offset) & 0xFFFF_FFFFL
                        : (sz >= 8 ? -1L : (1L << (8 * sz)) - 1);
            }

            @Override
            public void write(long offset, int sz, long value) {
                if (sz == 4 && (offset & 3) == 0 && offset >= 0 && offset < size) writeReg((int) offset, (int) value);
            }

            @Override
            public long length() {
                return size;
            }
        };
    }

    private static int clamp(long v) {
        return (int) Math.min(v, 0xFFFF_FFFFL);
    }

    synchronized int readReg(int off) {
        int[] q = queueRegs(off);
        if (q != null) return q[(off & (QUEUE_STRIDE - 1)) / 4];
        switch (off) {
            case CTRL: return ctrl;
            case STATUS: return STATUS_LINK_UP;
            case RCTL: return rctl;
            case TCTL: return tctl;
            case EIMS: return eims;
            case EICR: {
                int v = eicr;
                eicr = 0; // read to clear
                updateIntx();
                return v;
            }
            case MPC: { int v = clamp(mpcReg); mpcReg = 0; return v; }
            case GPRC: { int v = clamp(gprcReg); gprcReg = 0; return v; }
            case GPTC: { int v = clamp(gptcReg); gptcReg = 0; return v; }
            case GORCL: { int v = clamp(gorcReg); gorcReg = 0; return v; }
            case GOTCL: { int v = clamp(gotcReg); gotcReg = 0; return v; }
            case RAL0: return ral;
            case RAH0: return rah;
            default: return 0;
        }
    }

    private int[] queueRegs(int off) {
        if (off >= rxBase && off < rxBase + queues * QUEUE_STRIDE) return rxq[(off - rxBase) / QUEUE_STRIDE];
        if (off >= txBase && off < txBase + queues * QUEUE_STRIDE) return txq[(off - txBase) / QUEUE_STRIDE];
        return null;
    }

    void writeReg(int off, int v) {
        int txDoorbell = -1;
        int fire = 0;
        boolean doReset = false;
        synchronized (this) {
            int[] q = queueRegs(off);
            if (q != null) {
                int r = (off & (QUEUE_STRIDE - 1)) / 4;
                boolean isTx = off >= txBase;
                int qi = ((off - (isTx ? txBase : rxBase)) / QUEUE_STRIDE);
                switch (off & (QUEUE_STRIDE - 1)) {
                    case Q_BAL -> q[r] = v & ~0x7F;          // 128-byte aligned ring
                    case Q_BAH, Q_DCTL -> q[r] = v;
                    case Q_LEN -> q[r] = v & 0x000F_FF80;    // multiple of 128 bytes
                    case Q_HEAD, Q_TAIL -> {
                        q[r] = v & 0xFFFF;
                        if (isTx && (off & (QUEUE_STRIDE - 1)) == Q_TAIL) txDoorbell = qi;
                    }
                    default -> { }
                }
            } else {
                switch (off) {
                    case CTRL -> {
                        ctrl = v & ~CTRL_RST;
                        doReset = (v & CTRL_RST) != 0;
                    }
                    case RCTL -> rctl = v;
                    case TCTL -> tctl = v;
                    case EICS -> {
                        eicr |= v;
                        fire = v;
                    }
                    case EIMS -> {
                        eims |= v;
                        fire = eicr & v;
                    }
                    case EIMC -> eims &= ~v;
                    case EICR -> eicr &= ~v;
                    case RAL0 -> ral = v;
                    case RAH0 -> rah = v & (RAH_AV | 0xFFFF);
                    default -> { }
                }
            }
        }
        if (doReset) {
            reset();
            return;
        }
        if (fire != 0) signal(fire);
        else updateIntx();
        if (txDoorbell >= 0) {
            int qi = txDoorbell;
            clock.schedule(TX_LATENCY_NS, () -> processTx(qi));
        }
    }

    // ---- transmit --------------------------------------------------------------------------

    private static long ringBase(int[] q) {
        return (q[Q_BAL / 4] & 0xFFFF_FFFFL) | (long) q[Q_BAH / 4] << 32;
    }

    void processTx(int qi) {
        boolean raised = false;
        for (int guard = 0; guard < 65536; guard++) {
            long descAddr;
            synchronized (this) {
                int[] q = txq[qi];
                int size = q[Q_LEN / 4] / DESC_SIZE;
                if ((!vf && (tctl & TCTL_EN) == 0) || (q[Q_DCTL / 4] & DCTL_ENABLE) == 0 || size == 0) break;
                int head = q[Q_HEAD / 4] % size;
                int tail = q[Q_TAIL / 4];
                if (tail >= size || head == tail) break;
                descAddr = ringBase(q) + (long) head * DESC_SIZE;
            }
            byte[] d = new byte[DESC_SIZE];
            if (!fn.dma().readFully(descAddr, d)) {
                synchronized (this) { dmaErrors++; }
                break;
            }
            long buf = le64(d, 0);
            int len = le16(d, 8);
            int cmd = d[11] & 0xFF;
            byte[] data = new byte[len];
            boolean ok = len == 0 || fn.dma().readFully(buf, data);
            byte[] frame = null;
            synchronized (this) {
                if (!ok) dmaErrors++;
                ByteArrayOutputStream p = partial[qi];
                if (ok && p.size() + len <= MAX_FRAME) p.write(data, 0, len);
                else p.reset();
                if ((cmd & TX_CMD_EOP) != 0) {
                    if (p.size() > 0) frame = p.toByteArray();
                    p.reset();
                }
                int[] q = txq[qi];
                int size = q[Q_LEN / 4] / DESC_SIZE;
                if (size > 0) q[Q_HEAD / 4] = (q[Q_HEAD / 4] % size + 1) % size;
                if (frame != null) {
                    txPackets++;
                    gptcReg++;
                    txBytes += frame.length;
                    gotcReg += frame.length;
                }
            }
            if ((cmd & TX_CMD_RS) != 0) {
                fn.dma().writeFully(descAddr + 12, new byte[] {(byte) DESC_STA_DD});
                raised = true;
            }
            if (frame != null) wire.accept(frame);
        }
        if (raised) cause(1 << qi);
    }

    // ---- receive ---------------------------------------------------------------------------

    /** A frame from the wire for queue {@code qi}; returns true if it was stored. */
    boolean receive(int qi, byte[] frame) {
        int needed = Math.max(1, (frame.length + RX_BUFFER_SIZE - 1) / RX_BUFFER_SIZE);
        long base;
        int head, size;
        synchronized (this) {
            int[] q = rxq[qi];
            size = q[Q_LEN / 4] / DESC_SIZE;
            if ((!vf && (rctl & RCTL_EN) == 0) || (q[Q_DCTL / 4] & DCTL_ENABLE) == 0 || size == 0) {
                missed++;
                mpcReg++;
                return false;
            }
            head = q[Q_HEAD / 4] % size;
            int tail = q[Q_TAIL / 4] % size;
            int free = (tail - head + size) % size;
            if (free < needed) {
                missed++;
                mpcReg++;
                return false;
            }
            base = ringBase(q);
        }
        boolean ok = true;
        for (int i = 0; i < needed && ok; i++) {
            long descAddr = base + (long) ((head + i) % size) * DESC_SIZE;
            byte[] d = new byte[DESC_SIZE];
            if (!fn.dma().readFully(descAddr, d)) { ok = false; break; }
            int from = i * RX_BUFFER_SIZE;
            int n = Math.min(RX_BUFFER_SIZE, frame.length - from);
            if (fn.dma().write(le64(d, 0), MemorySegment.ofArray(frame), from, n) < n) { ok = false; break; }
            byte[] wb = new byte[8];
            wb[0] = (byte) n;
            wb[1] = (byte) (n >>> 8);
            wb[4] = (byte) (DESC_STA_DD | (i == needed - 1 ? RX_STA_EOP : 0));
            if (!fn.dma().writeFully(descAddr + 8, wb)) ok = false;
        }
        synchronized (this) {
            int[] q = rxq[qi];
            q[Q_HEAD / 4] = (head + needed) % size;
            if (!ok) {
                dmaErrors++;
            } else {
                rxPackets++;
                gprcReg++;
                rxBytes += frame.length;
                gorcReg += frame.length;
            }
        }
        cause(1 << qi);
        return ok;
    }

    // ---- interrupts ------------------------------------------------------------------------

    private void cause(int bits) {
        synchronized (this) {
            eicr |= bits;
        }
        signal(bits);
    }

    private void signal(int bits) {
        int pending;
        synchronized (this) {
            pending = eicr & eims & bits;
        }
        if (pending == 0) {
            updateIntx();
            return;
        }
        if (fn.msix() != null && fn.msix().enabled()) {
            for (int v = 0; v < 32; v++) {
                if ((pending >>> v & 1) == 0 || v >= fn.msix().vectors()) continue;
                synchronized (this) { eicr &= ~(1 << v); } // auto-clear on MSI-X (EIAC)
                fn.msix().signal(v);
            }
        } else if (fn.msi() != null && fn.msi().enabled()) {
            fn.msi().signal(0);
        } else {
            updateIntx();
        }
    }

    private void updateIntx() {
        boolean level;
        synchronized (this) {
            level = (eicr & eims) != 0;
        }
        boolean msgs = (fn.msix() != null && fn.msix().enabled()) || (fn.msi() != null && fn.msi().enabled());
        if (fn.interruptPin() != 0) fn.setIntx(level && !msgs);
    }

    static long le64(byte[] b, int o) {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | (b[o + i] & 0xFF);
        return v;
    }

    static int le16(byte[] b, int o) {
        return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8;
    }
}

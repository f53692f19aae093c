package dev.vtd.platform.devices;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.PciFunction;

/**
 * The programming interface of a one-channel DMA engine, shared by the device models that have one
 * (the conventional-PCI copy engine, the GPU's copy engine): an ID register, two 64-bit address
 * registers (written as 32-bit halves), a length, a control register (start, interrupt enable and the
 * model's own bits) and a status register (busy, done, aborted; done and aborted are RW1C), and
 * optionally a bytes-moved register. Registers are 32-bit; other accesses read all ones and are
 * dropped. Address and length are latched only while idle. A started transfer runs on the virtual
 * clock after the model's latency; on completion the engine signals MSI when enabled, else holds
 * INTx asserted until software clears done/aborted. What a transfer does is the model's.
 */
final class DmaChannel implements MmioDevice {
    static final int STS_BUSY = 1 << 0;
    static final int STS_DONE = 1 << 1;
    static final int STS_ABORTED = 1 << 2;
    static final int NONE = -1;

    /** Register offsets and control bits of one model (offsets relative to the register BAR). */
    record Layout(long size, int idOffset, int idValue, int addrA, int addrB, int length, int control, int status,
                  int bytesMoved, int ctlStart, int ctlIrq, int ctlLatched, int maxLength, long latencyNs) {}

    /** The model's transfer: returns the bytes moved, {@code length} when it completed. */
    @FunctionalInterface
    interface Transfer {
        long run(long addrA, long addrB, int length, int control);
    }

    private final Layout layout;
    private final PciFunction fn;
    private final VirtualClock clock;
    private final Transfer transfer;
    private long addrA, addrB;
    private int length, control, status, moved;

    DmaChannel(Layout layout, PciFunction fn, VirtualClock clock, Transfer transfer) {
        this.layout = layout;
        this.fn = fn;
        this.clock = clock;
        this.transfer = transfer;
    }

    synchronized void reset() {
        addrA = addrB = 0;
        length = control = status = moved = 0;
    }

    synchronized int status() {
        return status;
    }

    @Override
    public long length() {
        return layout.size();
    }

    @Override
    public long read(long off, int size) {
        if (size != 4 || (off & 3) != 0 || off < 0 || off >= layout.size()) {
            return size >= 8 ? -1L : (1L << (8 * Math.max(1, size))) - 1;
        }
        int o = (int) off;
        synchronized (this) {
            int v;
            if (o == layout.idOffset()) v = layout.idValue();
            else if (o == layout.addrA()) v = (int) addrA;
            else if (o == layout.addrA() + 4) v = (int) (addrA >>> 32);
            else if (o == layout.addrB()) v = (int) addrB;
            else if (o == layout.addrB() + 4) v = (int) (addrB >>> 32);
            else if (o == layout.length()) v = length;
            else if (o == layout.control()) v = control;
            else if (o == layout.status()) v = status;
            else if (o == layout.bytesMoved()) v = moved;
            else v = 0;
            return v & 0xFFFF_FFFFL;
        }
    }

    private static long setLow(long r, int v) {
        return (r & ~0xFFFF_FFFFL) | (v & 0xFFFF_FFFFL);
    }

    private static long setHigh(long r, int v) {
        return (r & 0xFFFF_FFFFL) | (long) v << 32;
    }

    @Override
    public void write(long off, int size, long value) {
        if (size != 4 || (off & 3) != 0 || off < 0 || off >= layout.size()) return;
        int o = (int) off;
        int v = (int) value;
        boolean start = false;
        synchronized (this) {
            boolean busy = (status & STS_BUSY) != 0;
            if (o == layout.addrA()) { if (!busy) addrA = setLow(addrA, v); }
            else if (o == layout.addrA() + 4) { if (!busy) addrA = setHigh(addrA, v); }
            else if (o == layout.addrB()) { if (!busy) addrB = setLow(addrB, v); }
            else if (o == layout.addrB() + 4) { if (!busy) addrB = setHigh(addrB, v); }
            else if (o == layout.length()) { if (!busy) length = v; }
            else if (o == layout.control()) {
                control = v & (layout.ctlIrq() | layout.ctlLatched());
                if ((v & layout.ctlStart()) != 0 && !busy) {
                    status = (status | STS_BUSY) & ~(STS_DONE | STS_ABORTED);
                    start = true;
                }
            } else if (o == layout.status()) {
                status &= ~(v & (STS_DONE | STS_ABORTED));
            }
        }
        if (start) clock.schedule(layout.latencyNs(), this::run);
        updateIntx();
    }

    private void run() {
        long a, b;
        int n, ctl;
        synchronized (this) {
            if ((status & STS_BUSY) == 0) return;
            a = addrA;
            b = addrB;
            ctl = control;
            n = length < 0 || length > layout.maxLength() ? -1 : length;
        }
        long done = n < 0 ? 0 : n == 0 ? 0 : transfer.run(a, b, n, ctl);
        boolean ok = n >= 0 && done == n;
        boolean irq;
        synchronized (this) {
            moved = (int) Math.max(0, done);
            status = (status & ~STS_BUSY) | (ok ? STS_DONE : STS_ABORTED);
            irq = (control & layout.ctlIrq()) != 0;
        }
        if (irq && msiEnabled()) fn.msi().signal(0);
        updateIntx();
    }

    private boolean msiEnabled() {
        return fn.msi() != null && fn.msi().enabled();
    }

    /** INTx is asserted while a completion with interrupt enabled is unacknowledged and MSI is off. */
    private void updateIntx() {
        boolean level;
        synchronized (this) {
            level = (control & layout.ctlIrq()) != 0 && (status & (STS_DONE | STS_ABORTED)) != 0;
        }
        fn.setIntx(level && !msiEnabled());
    }
}

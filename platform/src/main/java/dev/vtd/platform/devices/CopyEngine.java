package dev.vtd.platform.devices;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;

import java.lang.foreign.MemorySegment;

/**
 * A simple memory-to-memory DMA engine on conventional PCI (256-byte config space, no PCIe
 * capability), the kind of device that sits behind a PCIe-to-PCI bridge. Not a real product: it
 * uses QEMU's test vendor ID 1234 with device ID 0x11f0 and class 08/80/00 (other system
 * peripheral). Its interrupt is INTA, optionally also a 32-bit single-vector MSI capability; built
 * without MSI it is the "INTx only" device that shares a line.
 *
 * <p>BAR0 (4 KiB memory, also BAR1 256 bytes I/O with the same registers): 0x00 ID, 0x08 source
 * (64-bit), 0x10 destination (64-bit), 0x18 length, 0x1C control (bit 0 start, bit 1 interrupt on
 * completion), 0x20 status (bit 0 busy, bit 1 done, bit 2 aborted; done/aborted are RW1C), 0x24
 * bytes copied. A copy of up to 1 MiB completes {@link #LATENCY_NS} after start; the device reads
 * the source by DMA then writes the destination. INTx is asserted while status has done or
 * aborted set with the interrupt enabled (level); with MSI enabled a message is sent instead.
 */
public final class CopyEngine {
    public static final int VENDOR_ID = 0x1234;
    public static final int DEVICE_ID = 0x11f0;
    public static final int CLASS_CODE = 0x088000;
    public static final int ID_VALUE = 0xC0DE_0001;
    public static final int REG_ID = 0x00;
    public static final int REG_SRC = 0x08;
    public static final int REG_DST = 0x10;
    public static final int REG_LEN = 0x18;
    public static final int REG_CONTROL = 0x1C;
    public static final int REG_STATUS = 0x20;
    public static final int REG_COPIED = 0x24;
    public static final int CTL_START = 1 << 0;
    public static final int CTL_IRQ = 1 << 1;
    public static final int STS_BUSY = 1 << 0;
    public static final int STS_DONE = 1 << 1;
    public static final int STS_ABORTED = 1 << 2;
    public static final int MAX_LENGTH = 1 << 20;
    public static final long LATENCY_NS = 10_000;

    private final PciFunction fn;
    private final VirtualClock clock;
    private long src, dst;
    private int len, control, status, copied;

    public CopyEngine(String name, VirtualClock clock, boolean withMsi) {
        this.clock = clock;
        fn = new PciFunction(name, PciIds.of(VENDOR_ID, DEVICE_ID, CLASS_CODE, 1).withSubsystem(VENDOR_ID, DEVICE_ID), false);
        Registers regs = new Registers();
        fn.addMemoryBar(0, 4096, false, false, regs);
        fn.addIoBar(1, 256, new dev.vtd.platform.bus.PortIoDevice() {
            @Override
            public long in(int port, int size) {
                return regs.read(port & 0xFF, size);
            }

            @Override
            public void out(int port, int size, long value) {
                regs.write(port & 0xFF, size, value);
            }
        });
        if (withMsi) fn.addCapability(new MsiCapability(1, false, false));
        fn.setInterruptPin(1);
        fn.setResetHandler(this::reset);
    }

    public PciFunction function() {
        return fn;
    }

    private synchronized void reset() {
        src = dst = 0;
        len = control = status = copied = 0;
    }

    public synchronized int status() {
        return status;
    }

    private final class Registers implements MmioDevice {
        @Override
        public long length() {
            return 4096;
        }

        @Override
        public long read(long off, int size) {
            if (size != 4 || (off & 3) != 0) return size >= 8 ? -1L : (1L << (8 * size)) - 1;
            synchronized (CopyEngine.this) {
                return switch ((int) off) {
                    case REG_ID -> ID_VALUE;
                    case REG_SRC -> (int) src;
                    case REG_SRC + 4 -> (int) (src >>> 32);
                    case REG_DST -> (int) dst;
                    case REG_DST + 4 -> (int) (dst >>> 32);
                    case REG_LEN -> len;
                    case REG_CONTROL -> control;
                    case REG_STATUS -> status;
                    case REG_COPIED -> copied;
                    default -> 0;
                } & 0xFFFF_FFFFL;
            }
        }

        @Override
        public void write(long off, int size, long value) {
            if (size != 4 || (off & 3) != 0) return;
            int v = (int) value;
            boolean start = false;
            synchronized (CopyEngine.this) {
                boolean busy = (status & STS_BUSY) != 0;
                switch ((int) off) {
                    case REG_SRC -> { if (!busy) src = (src & ~0xFFFF_FFFFL) | (v & 0xFFFF_FFFFL); }
                    case REG_SRC + 4 -> { if (!busy) src = (src & 0xFFFF_FFFFL) | (long) v << 32; }
                    case REG_DST -> { if (!busy) dst = (dst & ~0xFFFF_FFFFL) | (v & 0xFFFF_FFFFL); }
                    case REG_DST + 4 -> { if (!busy) dst = (dst & 0xFFFF_FFFFL) | (long) v << 32; }
                    case REG_LEN -> { if (!busy) len = v; }
                    case REG_CONTROL -> {
                        control = v & CTL_IRQ;
                        if ((v & CTL_START) != 0 && !busy) {
                            status = (status | STS_BUSY) & ~(STS_DONE | STS_ABORTED);
                            start = true;
                        }
                    }
                    case REG_STATUS -> status &= ~(v & (STS_DONE | STS_ABORTED));
                    default -> { }
                }
            }
            if (start) clock.schedule(LATENCY_NS, CopyEngine.this::run);
            updateIntx();
        }
    }

    private void run() {
        long s, d;
        int n;
        synchronized (this) {
            if ((status & STS_BUSY) == 0) return;
            s = src;
            d = dst;
            n = len < 0 || len > MAX_LENGTH ? -1 : len;
        }
        int done = 0;
        boolean ok = n >= 0;
        if (ok && n > 0) {
            byte[] buf = new byte[n];
            long r = fn.dma().read(s, MemorySegment.ofArray(buf), 0, n);
            long w = fn.dma().write(d, MemorySegment.ofArray(buf), 0, r);
            done = (int) w;
            ok = r == n && w == n;
        }
        boolean irq;
        synchronized (this) {
            copied = done;
            status = (status & ~STS_BUSY) | (ok ? STS_DONE : STS_ABORTED);
            irq = (control & CTL_IRQ) != 0;
        }
        if (irq && fn.msi() != null && fn.msi().enabled()) fn.msi().signal(0);
        updateIntx();
    }

    private void updateIntx() {
        boolean level;
        synchronized (this) {
            level = (control & CTL_IRQ) != 0 && (status & (STS_DONE | STS_ABORTED)) != 0;
        }
        fn.setIntx(level && (fn.msi() == null || !fn.msi().enabled()));
    }
}

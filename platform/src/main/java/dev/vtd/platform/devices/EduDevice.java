package dev.vtd.platform.devices;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.AtsCapability;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.PcieCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;

import java.lang.foreign.MemorySegment;

/**
 * QEMU's educational PCI device "edu" (hw/misc/edu.c, docs/specs/edu.rst), as QEMU's qtest and the
 * conformance harness drive it: 1234:11e8, class 00ff, revision 0x10, subsystem 1af4:1100 (QEMU's
 * default), conventional PCI, BAR0 1 MiB memory, MSI (64-bit, 1 vector, no masking) at 0x40,
 * INTA.
 *
 * <p>Registers (BAR0): below 0x80 only dword accesses, from 0x80 dword or qword; anything else
 * reads all ones and is ignored. Factorial completes {@link #FACTORIAL_DELAY_NS} after the write;
 * a DMA completes {@link #DMA_DELAY_NS} (100 ms) of virtual time after the command. DMA addresses
 * are masked with dma_mask (default 28 bits). A transfer whose device side does not lie inside the
 * 4 KiB buffer at 0x40000 is not performed (the command still completes). When a DMA read from
 * memory is aborted upstream, the buffer bytes from the first aborted byte on become zero (what
 * QEMU yields; harness scenario s07).
 *
 * <p>Optionally ({@link #withAts}) the edu is a PCI Express function with an ATS capability (not
 * something QEMU's edu has; the default edu's configuration space stays QEMU's): 4 KiB
 * configuration space, a PCI Express capability after the MSI one, ATS at 0x100. While software
 * has set ATS Enable, the DMA engine takes each page's translation from its device-TLB, asking the
 * remapping unit with a translation request on a miss, and moves the data with translated
 * requests (PCIe ATS, VT-d spec 4.1); a page the translation does not allow ends the transfer as
 * an upstream abort does. With ATS disabled the engine issues untranslated requests as usual.
 */
public final class EduDevice {
    public static final int VENDOR_ID = 0x1234;
    public static final int DEVICE_ID = 0x11e8;
    public static final int CLASS_CODE = 0x00FF00;
    public static final int REVISION = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x1af4;
    public static final int SUBSYSTEM_ID = 0x1100;
    public static final long BAR0_SIZE = 1 << 20;
    public static final int MSI_OFFSET = 0x40;
    /** With ATS: the PCI Express capability follows MSI; ATS is the first extended capability. */
    public static final int PCIE_OFFSET = 0x50;
    public static final int ATS_OFFSET = 0x100;
    /** With ATS: Invalidate Queue Depth field 0 (32 requests), and the device-TLB's size. */
    public static final int ATS_QUEUE_DEPTH = 0;
    public static final int ATS_TLB_ENTRIES = 16;

    public static final int REG_IDENT = 0x00;
    public static final int REG_LIVENESS = 0x04;
    public static final int REG_FACTORIAL = 0x08;
    public static final int REG_STATUS = 0x20;
    public static final int REG_IRQ_STATUS = 0x24;
    public static final int REG_IRQ_RAISE = 0x60;
    public static final int REG_IRQ_ACK = 0x64;
    public static final int REG_DMA_SRC = 0x80;
    public static final int REG_DMA_DST = 0x88;
    public static final int REG_DMA_COUNT = 0x90;
    public static final int REG_DMA_CMD = 0x98;

    public static final int IDENT = 0x010000ed;
    public static final int STATUS_COMPUTING = 0x01;
    public static final int STATUS_IRQ_FACTORIAL = 0x80;
    public static final int IRQ_FACTORIAL = 0x001;
    public static final int IRQ_DMA = 0x100;
    public static final int DMA_CMD_RUN = 0x1;
    public static final int DMA_CMD_TO_RAM = 0x2;
    public static final int DMA_CMD_IRQ = 0x4;
    public static final long DMA_BUFFER_ADDRESS = 0x40000;
    public static final int DMA_BUFFER_SIZE = 4096;
    public static final long DEFAULT_DMA_MASK = (1L << 28) - 1;
    public static final long DMA_DELAY_NS = 100_000_000L;
    public static final long FACTORIAL_DELAY_NS = 1_000L;

    private final PciFunction fn;
    private final VirtualClock clock;
    private final long dmaMask;
    private final byte[] buffer = new byte[DMA_BUFFER_SIZE];

    private int liveness;
    private int factorial;
    private int status;
    private int irqStatus;
    private long dmaSrc, dmaDst, dmaCount, dmaCmd;
    private long generation;
    private long rejectedTransfers;

    public EduDevice(String name, VirtualClock clock) {
        this(name, clock, DEFAULT_DMA_MASK);
    }

    public EduDevice(String name, VirtualClock clock, long dmaMask) {
        this(name, clock, dmaMask, false, false);
    }

    /**
     * An edu that is a PCI Express endpoint with an ATS capability (and a device-TLB of
     * {@link #ATS_TLB_ENTRIES} translations); {@code rootComplexIntegrated} for one on a root
     * bus (Device/Port Type 1001b), else a PCI Express endpoint (0000b).
     */
    public static EduDevice withAts(String name, VirtualClock clock, long dmaMask, boolean rootComplexIntegrated) {
        return new EduDevice(name, clock, dmaMask, true, rootComplexIntegrated);
    }

    private EduDevice(String name, VirtualClock clock, long dmaMask, boolean ats, boolean rootComplexIntegrated) {
        this.clock = clock;
        this.dmaMask = dmaMask;
        fn = new PciFunction(name, new PciIds(VENDOR_ID, DEVICE_ID, CLASS_CODE, REVISION, SUBSYSTEM_VENDOR_ID, SUBSYSTEM_ID), ats);
        fn.addMemoryBar(0, BAR0_SIZE, false, false, new Registers());
        fn.addCapability(new MsiCapability(1, true, false), MSI_OFFSET);
        if (ats) {
            fn.addCapability(new PcieCapability(rootComplexIntegrated ? PcieCapability.TYPE_RC_INTEGRATED_ENDPOINT
                    : PcieCapability.TYPE_ENDPOINT), PCIE_OFFSET);
            fn.addCapability(new AtsCapability(ATS_QUEUE_DEPTH, ATS_TLB_ENTRIES), ATS_OFFSET);
        }
        fn.setInterruptPin(1);
        fn.setResetHandler(this::reset);
    }

    public PciFunction function() {
        return fn;
    }

    public long dmaMask() {
        return dmaMask;
    }

    /** The ATS capability (whose {@link AtsCapability#deviceTlb() device-TLB} the engine uses), or null. */
    public AtsCapability ats() {
        return fn.ats();
    }

    /** Copy of the 4 KiB DMA buffer. */
    public synchronized byte[] buffer() {
        return buffer.clone();
    }

    public synchronized void setBuffer(int offset, byte[] data) {
        System.arraycopy(data, 0, buffer, offset, data.length);
    }

    /** Transfers not performed because they did not fit the buffer. */
    public synchronized long rejectedTransfers() {
        return rejectedTransfers;
    }

    private synchronized void reset() {
        liveness = factorial = status = irqStatus = 0;
        dmaSrc = dmaDst = dmaCount = dmaCmd = 0;
        generation++;
        java.util.Arrays.fill(buffer, (byte) 0);
    }

    private final class Registers implements MmioDevice {
        @Override
        public long length() {
            return BAR0_SIZE;
        }

        @Override
        public long read(long addr, int size) {
            long ones = size >= 8 ? -1L : (1L << (8 * size)) - 1;
            if (addr < 0 || addr >= BAR0_SIZE || (addr < 0x80 ? size != 4 : size != 4 && size != 8)) return ones;
            long v;
            synchronized (EduDevice.this) {
                v = switch ((int) addr) {
                    case REG_IDENT -> IDENT;
                    case REG_LIVENESS -> liveness;
                    case REG_FACTORIAL -> factorial;
                    case REG_STATUS -> status;
                    case REG_IRQ_STATUS -> irqStatus;
                    case REG_DMA_SRC -> dmaSrc;
                    case REG_DMA_DST -> dmaDst;
                    case REG_DMA_COUNT -> dmaCount;
                    case REG_DMA_CMD -> dmaCmd;
                    default -> -1L;
                };
            }
            if (addr != REG_DMA_SRC && addr != REG_DMA_DST && addr != REG_DMA_COUNT && addr != REG_DMA_CMD) v &= 0xFFFF_FFFFL;
            return v & ones;
        }

        @Override
        public void write(long addr, int size, long value) {
            if (addr < 0 || addr >= BAR0_SIZE || (addr < 0x80 ? size != 4 : size != 4 && size != 8)) return;
            if (size == 4) value &= 0xFFFF_FFFFL;
            switch ((int) addr) {
                case REG_LIVENESS -> { synchronized (EduDevice.this) { liveness = ~(int) value; } }
                case REG_FACTORIAL -> startFactorial((int) value);
                case REG_STATUS -> {
                    synchronized (EduDevice.this) {
                        // Only "raise interrupt after factorial" is writable.
                        status = (status & ~STATUS_IRQ_FACTORIAL) | ((int) value & STATUS_IRQ_FACTORIAL);
                    }
                }
                case REG_IRQ_RAISE -> raiseIrq((int) value);
                case REG_IRQ_ACK -> lowerIrq((int) value);
                case REG_DMA_SRC -> { synchronized (EduDevice.this) { if ((dmaCmd & DMA_CMD_RUN) == 0) dmaSrc = value; } }
                case REG_DMA_DST -> { synchronized (EduDevice.this) { if ((dmaCmd & DMA_CMD_RUN) == 0) dmaDst = value; } }
                case REG_DMA_COUNT -> { synchronized (EduDevice.this) { if ((dmaCmd & DMA_CMD_RUN) == 0) dmaCount = value; } }
                case REG_DMA_CMD -> startDma(value);
                default -> { }
            }
        }
    }

    private void startFactorial(int n) {
        long gen;
        synchronized (this) {
            if ((status & STATUS_COMPUTING) != 0) return;
            factorial = n;
            status |= STATUS_COMPUTING;
            gen = generation;
        }
        clock.schedule(FACTORIAL_DELAY_NS, () -> finishFactorial(gen));
    }

    private void finishFactorial(long gen) {
        boolean irq;
        synchronized (this) {
            if (gen != generation) return;
            int r = 1;
            for (int v = factorial; v != 0; v--) r *= v; // 32-bit wrap, as the device computes
            factorial = r;
            status &= ~STATUS_COMPUTING;
            irq = (status & STATUS_IRQ_FACTORIAL) != 0;
        }
        if (irq) raiseIrq(IRQ_FACTORIAL);
    }

    private void startDma(long cmd) {
        long gen;
        synchronized (this) {
            if ((cmd & DMA_CMD_RUN) == 0 || (dmaCmd & DMA_CMD_RUN) != 0) return;
            dmaCmd = cmd;
            gen = generation;
        }
        clock.schedule(DMA_DELAY_NS, () -> finishDma(gen));
    }

    private static boolean inBuffer(long start, long count) {
        long end = start + count;
        return count >= 0 && end >= start && start >= DMA_BUFFER_ADDRESS && end <= DMA_BUFFER_ADDRESS + DMA_BUFFER_SIZE;
    }

    private void finishDma(long gen) {
        long cmd, src, dst, cnt;
        synchronized (this) {
            if (gen != generation || (dmaCmd & DMA_CMD_RUN) == 0) return;
            cmd = dmaCmd;
            src = dmaSrc;
            dst = dmaDst;
            cnt = dmaCount;
        }
        boolean toRam = (cmd & DMA_CMD_TO_RAM) != 0;
        long devSide = toRam ? src : dst;
        if (!inBuffer(devSide, cnt)) {
            synchronized (this) { rejectedTransfers++; }
        } else if (cnt > 0) {
            int bufOff = (int) (devSide - DMA_BUFFER_ADDRESS);
            int n = (int) cnt;
            AtsCapability ats = fn.ats();
            boolean translated = ats != null && ats.enabled();
            if (toRam) {
                byte[] out;
                synchronized (this) { out = java.util.Arrays.copyOfRange(buffer, bufOff, bufOff + n); }
                MemorySegment seg = MemorySegment.ofArray(out);
                if (translated) ats.deviceTlb().dma(AtsPort.NO_PASID, false, dst & dmaMask, seg, 0, n, true);
                else fn.dma().write(dst & dmaMask, seg, 0, n);
            } else {
                byte[] in = new byte[n];
                MemorySegment seg = MemorySegment.ofArray(in);
                long got = translated ? ats.deviceTlb().dma(AtsPort.NO_PASID, false, src & dmaMask, seg, 0, n, false)
                        : fn.dma().read(src & dmaMask, seg, 0, n);
                // Bytes past an upstream abort are zero (QEMU behaviour); the array starts zeroed.
                if (got < n) java.util.Arrays.fill(in, (int) Math.max(0, got), n, (byte) 0);
                synchronized (this) { System.arraycopy(in, 0, buffer, bufOff, n); }
            }
        }
        boolean irq;
        synchronized (this) {
            if (gen != generation) return;
            dmaCmd &= ~DMA_CMD_RUN;
            irq = (dmaCmd & DMA_CMD_IRQ) != 0;
        }
        if (irq) raiseIrq(IRQ_DMA);
    }

    private void raiseIrq(int bits) {
        boolean any;
        synchronized (this) {
            irqStatus |= bits;
            any = irqStatus != 0;
        }
        if (!any) return;
        MsiCapability msi = fn.msi();
        if (msi.enabled()) msi.signal(0);
        else fn.setIntx(true);
    }

    private void lowerIrq(int bits) {
        boolean none;
        synchronized (this) {
            irqStatus &= ~bits;
            none = irqStatus == 0;
        }
        if (none && !fn.msi().enabled()) fn.setIntx(false);
    }
}

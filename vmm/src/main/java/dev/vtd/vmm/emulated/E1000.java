package dev.vtd.vmm.emulated;

import dev.vtd.vmm.virtio.DriverMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * An Intel 82540EM ("e1000", PCI 8086:100E) as a VMM emulates it: the guest's every register access
 * is a VM exit that lands here ({@link #mmioRead}, {@link #mmioWrite}); the device model copies
 * packets between its legacy descriptor rings in guest memory and the host's network, and raises its
 * interrupt line through the VMM. Registers and descriptor formats follow the PCI/PCI-X Family of
 * Gigabit Ethernet Controllers Software Developer's Manual (8254x), chapters 3 and 13.
 *
 * <p>Counted exactly, for the I/O-path comparison: register accesses (each one exit), packets, the
 * copies the model makes and their bytes, interrupts raised.
 *
 * <p>Hostile input: ring registers are masked as the hardware masks them; a descriptor whose buffer
 * is not guest memory drops that packet (counted); a tail write processes at most one ring's worth of
 * descriptors; nothing the guest programs throws.
 */
public final class E1000 {
    public static final int VENDOR_ID = 0x8086, DEVICE_ID = 0x100E;
    public static final int BAR0_SIZE = 0x2_0000;

    // Registers (8254x SDM 13.4).
    public static final int CTRL = 0x0000, STATUS = 0x0008, ICR = 0x00C0, ICS = 0x00C8, IMS = 0x00D0, IMC = 0x00D8,
            RCTL = 0x0100, TCTL = 0x0400, RDBAL = 0x2800, RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818,
            TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810, TDT = 0x3818, MPC = 0x4010, GPRC = 0x4074,
            GPTC = 0x4080, RAL0 = 0x5400, RAH0 = 0x5404;
    public static final int CTRL_RST = 1 << 26;
    public static final int STATUS_FD = 1, STATUS_LU = 1 << 1, STATUS_SPEED_1000 = 2 << 6;
    public static final int RCTL_EN = 1 << 1, RCTL_BSIZE_SHIFT = 16, RCTL_BSEX = 1 << 25, RCTL_SECRC = 1 << 26;
    public static final int TCTL_EN = 1 << 1;
    /** ICR causes (13.4.17). */
    public static final int ICR_TXDW = 1, ICR_TXQE = 1 << 1, ICR_LSC = 1 << 2, ICR_RXO = 1 << 6, ICR_RXT0 = 1 << 7,
            ICR_INT_ASSERTED = 1 << 31;
    /** Legacy descriptors (3.2.3, 3.3.3): 16 bytes; status DD (bit 0) and EOP (bit 1); TX command EOP (0), RS (3). */
    public static final int DESC_BYTES = 16, STA_DD = 1, STA_EOP = 2, CMD_EOP = 1, CMD_RS = 1 << 3;
    public static final int MAX_FRAME = 16_384;

    private final DriverMemory guest;
    private final Consumer<byte[]> wire;
    private final Runnable interrupt;
    private final int[] regs = new int[BAR0_SIZE / 4];
    private final List<byte[]> txFrame = new ArrayList<>();

    private long registerAccesses, rxPackets, txPackets, copies, bytesCopied, interrupts, dmaErrors;

    /**
     * @param guest     the guest's memory (descriptor rings and buffers)
     * @param wire      where transmitted frames go
     * @param interrupt raises the device's interrupt (the VMM injects it)
     */
    public E1000(DriverMemory guest, Consumer<byte[]> wire, Runnable interrupt) {
        this.guest = guest;
        this.wire = wire;
        this.interrupt = interrupt;
        reset();
    }

    private void reset() {
        java.util.Arrays.fill(regs, 0);
        regs[STATUS / 4] = STATUS_FD | STATUS_LU | STATUS_SPEED_1000;
        regs[RAL0 / 4] = 0x1200_5452;        // QEMU's default MAC 52:54:00:12:34:56, little-endian
        regs[RAH0 / 4] = 0x8000_5634;        // its last two bytes and AV (address valid, bit 31)
        txFrame.clear();
    }

    /** A guest read of BAR0 (one VM exit). */
    public long mmioRead(long offset, int size) {
        registerAccesses++;
        if (offset < 0 || offset + size > BAR0_SIZE || size != 4 || (offset & 3) != 0) return size == 8 ? -1L : 0xFFFF_FFFFL;
        int r = (int) offset;
        int v = regs[r / 4];
        if (r == ICR) regs[ICR / 4] = 0;             // read to clear (13.4.17)
        return Integer.toUnsignedLong(v);
    }

    /** A guest write of BAR0 (one VM exit). */
    public void mmioWrite(long offset, int size, long value) {
        registerAccesses++;
        if (offset < 0 || offset + size > BAR0_SIZE || size != 4 || (offset & 3) != 0) return;
        int r = (int) offset, v = (int) value;
        switch (r) {
            case CTRL -> {
                if ((v & CTRL_RST) != 0) reset();
                else regs[CTRL / 4] = v;
            }
            case STATUS, MPC, GPRC, GPTC -> { }                       // read-only (statistics clear on read in hardware)
            case ICR -> regs[ICR / 4] &= ~v;                          // write 1 to clear
            case ICS -> raise(v);
            case IMS -> {
                regs[IMS / 4] |= v;
                update();
            }
            case IMC -> regs[IMS / 4] &= ~v;
            case RDLEN, TDLEN -> regs[r / 4] = v & 0xF_FF80;          // multiple of 128 bytes
            case RDBAL, TDBAL -> regs[r / 4] = v & ~0xF;              // 16-byte aligned
            case RDH, RDT, TDH -> regs[r / 4] = v & 0xFFFF;
            case TDT -> {
                regs[TDT / 4] = v & 0xFFFF;
                transmit();
            }
            default -> regs[r / 4] = v;
        }
    }

    private int count(int lenReg) {
        return regs[lenReg / 4] / DESC_BYTES;
    }

    private long ring(int lo, int hi) {
        return Integer.toUnsignedLong(regs[lo / 4]) | (long) regs[hi / 4] << 32;
    }

    private int rxBufferSize() {
        int bsize = regs[RCTL / 4] >>> RCTL_BSIZE_SHIFT & 3;
        boolean bsex = (regs[RCTL / 4] & RCTL_BSEX) != 0;
        int base = switch (bsize) {
            case 0 -> 2048;
            case 1 -> 1024;
            case 2 -> 512;
            default -> 256;
        };
        return bsex && bsize != 0 ? base * 16 : base;
    }

    /**
     * A frame arrives from the network: written into the next receive descriptors' buffers (as many
     * as it needs, EOP on the last), RDH advanced, RXT0 raised; with no free descriptor it is missed (MPC).
     *
     * @return true if the frame reached the guest
     */
    public boolean receive(byte[] frame) {
        if ((regs[RCTL / 4] & RCTL_EN) == 0 || frame.length == 0 || frame.length > MAX_FRAME) return false;
        int n = count(RDLEN);
        if (n == 0) return false;
        int head = regs[RDH / 4] % n, tail = regs[RDT / 4] % n;
        int buf = rxBufferSize();
        int needed = (frame.length + buf - 1) / buf;
        int free = (tail - head + n) % n;
        if (free < needed) {
            regs[MPC / 4]++;
            raise(ICR_RXO);
            return false;
        }
        long base = ring(RDBAL, RDBAH);
        for (int k = 0, off = 0; k < needed; k++) {
            long desc = base + (long) head * DESC_BYTES;
            boolean[] ok = {true};
            long addr = guest.read64(desc, ok);
            int len = Math.min(buf, frame.length - off);
            boolean last = k == needed - 1;
            if (!ok[0] || !guest.write(addr, frame, off, len)) {
                dmaErrors++;
                writeRxStatus(desc, 0, STA_DD | STA_EOP);
                regs[RDH / 4] = (head + 1) % n;
                raise(ICR_RXT0);
                return false;
            }
            copies++;
            bytesCopied += len;
            writeRxStatus(desc, len, STA_DD | (last ? STA_EOP : 0));
            off += len;
            head = (head + 1) % n;
        }
        regs[RDH / 4] = head;
        regs[GPRC / 4]++;
        rxPackets++;
        raise(ICR_RXT0);
        return true;
    }

    private void writeRxStatus(long desc, int len, int status) {
        guest.write16(desc + 8, len);
        guest.write16(desc + 10, 0);
        guest.write(desc + 12, new byte[]{(byte) status, 0, 0, 0}, 0, 4);
    }

    /** Processes transmit descriptors from TDH up to TDT (at most one ring's worth). */
    private void transmit() {
        if ((regs[TCTL / 4] & TCTL_EN) == 0) return;
        int n = count(TDLEN);
        if (n == 0) return;
        long base = ring(TDBAL, TDBAH);
        int head = regs[TDH / 4] % n, tail = regs[TDT / 4] % n;
        boolean done = false;
        for (int k = 0; k < n && head != tail; k++) {
            long desc = base + (long) head * DESC_BYTES;
            boolean[] ok = {true};
            long addr = guest.read64(desc, ok);
            long lenCmd = guest.read32(desc + 8);
            int len = (int) (lenCmd & 0xFFFF), cmd = (int) (lenCmd >>> 24 & 0xFF);
            byte[] data = new byte[len];
            if (!ok[0] || lenCmd < 0 || !guest.read(addr, data, 0, len)) {
                dmaErrors++;
                txFrame.clear();
            } else {
                copies++;
                bytesCopied += len;
                txFrame.add(data);
                if ((cmd & CMD_EOP) != 0) emit();
            }
            if ((cmd & CMD_RS) != 0) guest.write(desc + 12, new byte[]{STA_DD}, 0, 1);
            head = (head + 1) % n;
            done = true;
        }
        regs[TDH / 4] = head;
        if (done) raise(ICR_TXDW | ICR_TXQE);
    }

    private void emit() {
        int total = 0;
        for (byte[] b : txFrame) total += b.length;
        if (total > MAX_FRAME) {
            txFrame.clear();
            return;
        }
        byte[] frame = new byte[total];
        int at = 0;
        for (byte[] b : txFrame) {
            System.arraycopy(b, 0, frame, at, b.length);
            at += b.length;
        }
        txFrame.clear();
        txPackets++;
        regs[GPTC / 4]++;
        wire.accept(frame);
    }

    private void raise(int causes) {
        regs[ICR / 4] |= causes;
        update();
    }

    private void update() {
        if ((regs[ICR / 4] & regs[IMS / 4]) != 0) {
            regs[ICR / 4] |= ICR_INT_ASSERTED;
            interrupts++;
            interrupt.run();
        }
    }

    public long registerAccesses() { return registerAccesses; }
    public long rxPackets() { return rxPackets; }
    public long txPackets() { return txPackets; }
    public long copies() { return copies; }
    public long bytesCopied() { return bytesCopied; }
    public long interrupts() { return interrupts; }
    public long dmaErrors() { return dmaErrors; }
}

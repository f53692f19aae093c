package dev.vtd.platform.devices;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PcieCapability;
import dev.vtd.platform.pci.PowerManagementCapability;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * A large-BAR GPU-like PCIe endpoint modelled on an NVIDIA Tesla V100 PCIe 16 GB (10de:1db4,
 * class 03/02/00 3D controller): BAR0 16 MiB registers (32-bit), BAR1 16 GiB 64-bit prefetchable
 * aperture onto video memory, BAR3 32 MiB 64-bit prefetchable (reads zero). PM at 0x60, MSI at
 * 0x68 (64-bit, 1 vector), PCIe endpoint at 0x78 (FLR). Video memory is sparse (4 KiB pages on
 * first write).
 *
 * <p>A copy engine moves data between system memory (by DMA) and video memory: BAR0 0x000 ID,
 * 0x100 system address (64-bit), 0x108 video memory offset (64-bit), 0x110 length (max 1 MiB),
 * 0x114 control (bit 0 start, bit 1 direction 1 = video memory to system memory, bit 2 interrupt),
 * 0x118 status (bit 0 busy, bit 1 done RW1C, bit 2 aborted RW1C).
 */
public final class GpuDevice {
    public static final int VENDOR_ID = 0x10de;
    public static final int DEVICE_ID = 0x1db4;
    public static final int CLASS_CODE = 0x030200;
    public static final long BAR0_SIZE = 16L << 20;
    public static final long VRAM_SIZE = 16L << 30;
    public static final long BAR3_SIZE = 32L << 20;
    public static final int REG_ID = 0x000;
    public static final int REG_SYS_ADDR = 0x100;
    public static final int REG_VRAM_OFFSET = 0x108;
    public static final int REG_LENGTH = 0x110;
    public static final int REG_CONTROL = 0x114;
    public static final int REG_STATUS = 0x118;
    public static final int CTL_START = 1 << 0;
    public static final int CTL_TO_SYSTEM = 1 << 1;
    public static final int CTL_IRQ = 1 << 2;
    public static final int STS_BUSY = 1 << 0;
    public static final int STS_DONE = 1 << 1;
    public static final int STS_ABORTED = 1 << 2;
    public static final int ID_VALUE = 0x140000a1; // GV100 boot ID style value
    public static final int MAX_LENGTH = 1 << 20;
    public static final long LATENCY_NS = 5_000;
    private static final int PAGE = 4096;

    private final PciFunction fn;
    private final DmaChannel channel;
    private final Map<Long, byte[]> vram = new HashMap<>();

    static final DmaChannel.Layout LAYOUT = new DmaChannel.Layout(BAR0_SIZE, REG_ID, ID_VALUE, REG_SYS_ADDR,
            REG_VRAM_OFFSET, REG_LENGTH, REG_CONTROL, REG_STATUS, DmaChannel.NONE, CTL_START, CTL_IRQ, CTL_TO_SYSTEM,
            MAX_LENGTH, LATENCY_NS);

    public GpuDevice(String name, VirtualClock clock) {
        fn = new PciFunction(name, new PciIds(VENDOR_ID, DEVICE_ID, CLASS_CODE, 0xa1, VENDOR_ID, 0x1214), true);
        channel = new DmaChannel(LAYOUT, fn, clock, this::transfer);
        fn.addMemoryBar(0, BAR0_SIZE, false, false, channel);
        fn.addMemoryBar(1, VRAM_SIZE, true, true, new Aperture());
        fn.addMemoryBar(3, BAR3_SIZE, true, true, new MmioDevice() {
            @Override public long read(long offset, int size) { return 0; }
            @Override public void write(long offset, int size, long value) { }
            @Override public long length() { return BAR3_SIZE; }
        });
        fn.addCapability(new PowerManagementCapability(), 0x60);
        fn.addCapability(new MsiCapability(1, true, false), 0x68);
        fn.addCapability(new PcieCapability(PcieCapability.TYPE_ENDPOINT).withFlr().withLink(3, 16), 0x78);
        fn.setInterruptPin(1);
        fn.setResetHandler(channel::reset);
    }

    public PciFunction function() {
        return fn;
    }

    /** Bytes of video memory (test/diagnostic view). */
    public synchronized byte[] readVram(long offset, int len) {
        byte[] out = new byte[len];
        for (int i = 0; i < len; i++) out[i] = vramByte(offset + i);
        return out;
    }

    public synchronized void writeVram(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) setVramByte(offset + i, data[i]);
    }

    private byte vramByte(long off) {
        if (off < 0 || off >= VRAM_SIZE) return (byte) 0xFF;
        byte[] p = vram.get(off / PAGE);
        return p == null ? 0 : p[(int) (off % PAGE)];
    }

    private void setVramByte(long off, byte b) {
        if (off < 0 || off >= VRAM_SIZE) return;
        vram.computeIfAbsent(off / PAGE, k -> new byte[PAGE])[(int) (off % PAGE)] = b;
    }

    private final class Aperture implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if (size != 1 && size != 2 && size != 4 && size != 8) return -1L;
            synchronized (GpuDevice.this) {
                long v = 0;
                for (int i = size - 1; i >= 0; i--) v = (v << 8) | (vramByte(offset + i) & 0xFF);
                return v;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (size != 1 && size != 2 && size != 4 && size != 8) return;
            synchronized (GpuDevice.this) {
                for (int i = 0; i < size; i++) setVramByte(offset + i, (byte) (value >>> (8 * i)));
            }
        }

        @Override
        public long length() {
            return VRAM_SIZE;
        }
    }

    /** Copies between system memory (by DMA) and video memory; the bytes moved. */
    private long transfer(long sys, long off, int n, int control) {
        if (off < 0 || off + n > VRAM_SIZE) return -1;
        if ((control & CTL_TO_SYSTEM) != 0) {
            return fn.dma().write(sys, MemorySegment.ofArray(readVram(off, n)), 0, n);
        }
        byte[] data = new byte[n];
        long got = fn.dma().read(sys, MemorySegment.ofArray(data), 0, n);
        writeVram(off, got == n ? data : java.util.Arrays.copyOf(data, (int) Math.max(0, got)));
        return got;
    }
}

package dev.vtd.platform.devices;

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
    private final DmaChannel channel;

    static final DmaChannel.Layout LAYOUT = new DmaChannel.Layout(4096, REG_ID, ID_VALUE, REG_SRC, REG_DST, REG_LEN,
            REG_CONTROL, REG_STATUS, REG_COPIED, CTL_START, CTL_IRQ, 0, MAX_LENGTH, LATENCY_NS);

    public CopyEngine(String name, VirtualClock clock, boolean withMsi) {
        fn = new PciFunction(name, PciIds.of(VENDOR_ID, DEVICE_ID, CLASS_CODE, 1).withSubsystem(VENDOR_ID, DEVICE_ID), false);
        channel = new DmaChannel(LAYOUT, fn, clock, this::copy);
        DmaChannel regs = channel;
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
        fn.setResetHandler(channel::reset);
    }

    public PciFunction function() {
        return fn;
    }

    public int status() {
        return channel.status();
    }

    /** Reads {@code n} bytes at src and writes them at dst, both by DMA; the bytes written. */
    private long copy(long src, long dst, int n, int control) {
        byte[] buf = new byte[n];
        long r = fn.dma().read(src, MemorySegment.ofArray(buf), 0, n);
        return fn.dma().write(dst, MemorySegment.ofArray(buf), 0, r);   // short when the read was
    }
}

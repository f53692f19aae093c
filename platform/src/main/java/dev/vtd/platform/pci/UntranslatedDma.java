package dev.vtd.platform.pci;

import dev.vtd.platform.bus.DmaPort;
import dev.vtd.platform.interrupt.InterruptSink;
import dev.vtd.platform.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;

/**
 * The upstream path of a device no remapping unit covers: DMA goes to physical memory as addressed,
 * and a dword write to the interrupt range 0xFEEx_xxxx is an interrupt message delivered to the
 * platform (VT-d spec 3.14: without remapping, such writes are compatibility-format interrupts).
 * Other accesses to the interrupt range are dropped.
 */
public final class UntranslatedDma implements DmaPort {
    public static final long INTERRUPT_BASE = 0xFEE0_0000L;
    public static final long INTERRUPT_SIZE = 0x10_0000L;

    private final PhysicalMemory memory;
    private final InterruptSink interrupts;

    public UntranslatedDma(PhysicalMemory memory, InterruptSink interrupts) {
        this.memory = memory;
        this.interrupts = interrupts;
    }

    private static boolean touchesInterruptRange(long address, long length) {
        return address < INTERRUPT_BASE + INTERRUPT_SIZE && INTERRUPT_BASE < address + length;
    }

    @Override
    public long read(int requesterId, long address, MemorySegment dst, long dstOffset, long length) {
        if (length <= 0) return 0;
        if (address < 0 || address + length > PhysicalMemory.MAX_ADDRESS || touchesInterruptRange(address, length)) return 0;
        memory.copyTo(address, dst, dstOffset, length);
        return length;
    }

    @Override
    public long write(int requesterId, long address, MemorySegment src, long srcOffset, long length) {
        if (length <= 0) return 0;
        if (touchesInterruptRange(address, length)) {
            if (length == 4 && (address & 3) == 0 && address >= INTERRUPT_BASE) {
                int data = src.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), srcOffset);
                if (interrupts != null) interrupts.deliver(address, data);
                return 4;
            }
            return 0;
        }
        if (address < 0 || address + length > PhysicalMemory.MAX_ADDRESS) return 0;
        memory.copyFrom(src, srcOffset, address, length);
        return length;
    }
}

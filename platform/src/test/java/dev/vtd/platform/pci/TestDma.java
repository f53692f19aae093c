package dev.vtd.platform.pci;

import dev.vtd.platform.bus.DmaPort;
import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A tiny stand-in for a remapping unit: translates a DMA address by adding an offset, can block
 * pages (the request stops at the first blocked page, as DmaPort specifies), records the requester
 * IDs it sees, and turns dword writes to 0xFEEx_xxxx into interrupts.
 */
public final class TestDma implements DmaPort {
    public record Access(int requesterId, long address, long length, boolean write) {}

    private final PhysicalMemory memory;
    private final long offset;
    private final Set<Long> blocked = new HashSet<>();
    public final InterruptRecorder interrupts = new InterruptRecorder();
    public final List<Access> log = new ArrayList<>();

    public TestDma(PhysicalMemory memory, long offset) {
        this.memory = memory;
        this.offset = offset;
    }

    public void block(long page) {
        blocked.add(page >>> 12);
    }

    private long allowed(long address, long length) {
        long n = 0;
        while (n < length) {
            long a = address + n;
            if (blocked.contains(a >>> 12)) return n;
            n += Math.min(length - n, 4096 - (a & 4095));
        }
        return n;
    }

    private static boolean interrupt(long address) {
        return (address & 0xFFF0_0000L) == 0xFEE0_0000L;
    }

    public synchronized List<Integer> requesterIds() {
        return log.stream().map(Access::requesterId).distinct().toList();
    }

    @Override
    public synchronized long read(int rid, long address, MemorySegment dst, long dstOffset, long length) {
        log.add(new Access(rid, address, length, false));
        long n = allowed(address, length);
        memory.copyTo(address + offset, dst, dstOffset, n);
        return n;
    }

    @Override
    public synchronized long write(int rid, long address, MemorySegment src, long srcOffset, long length) {
        log.add(new Access(rid, address, length, true));
        if (interrupt(address) && length == 4) {
            interrupts.deliver(address, src.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, srcOffset));
            return 4;
        }
        long n = allowed(address, length);
        memory.copyFrom(src, srcOffset, address + offset, n);
        return n;
    }
}

package dev.vtd.vmm.host;

import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Host RAM handed to guests: first-fit ranges of {@link #ALIGN} granularity taken from the machine's RAM at and
 * above {@link #GUEST_BASE} (8 GiB on the R630), or from the upper half of the largest RAM region on machines
 * with less memory, never overlapping what the kernel reserved (its page pool). Guest memory is therefore never
 * identity-mapped: a GPA differs from the HPA that backs it.
 */
public final class HostRam {
    public static final long GUEST_BASE = 8L << 30;
    public static final long ALIGN = 2L << 20;

    private record Range(long base, long size) {}

    private final List<Range> pool = new ArrayList<>();
    private final TreeMap<Long, Long> used = new TreeMap<>();

    public HostRam(PhysicalMemory memory, long reservedBase, long reservedEnd) {
        PhysicalMemory.Region largest = null;
        for (PhysicalMemory.Region r : memory.regions()) {
            if (largest == null || r.size() > largest.size()) largest = r;
            long b = Math.max(r.base(), GUEST_BASE);
            if (b < r.end()) addRange(b, r.end(), reservedBase, reservedEnd);
        }
        if (pool.isEmpty() && largest != null) {
            long half = alignUp(largest.base() + largest.size() / 2);
            addRange(half, largest.end(), reservedBase, reservedEnd);
        }
    }

    private void addRange(long base, long end, long resBase, long resEnd) {
        if (resEnd > base && resBase < end) {
            addRange(base, resBase, resBase, resBase);
            addRange(resEnd, end, resEnd, resEnd);
            return;
        }
        long b = alignUp(base), e = end & -ALIGN;
        if (e > b) pool.add(new Range(b, e - b));
    }

    private static long alignUp(long a) {
        return (a + ALIGN - 1) & -ALIGN;
    }

    /** Allocates {@code size} bytes (rounded up to 2 MiB), 1 GiB aligned when at least 1 GiB; the HPA. */
    public synchronized long allocate(long size) {
        if (size <= 0) throw new IllegalArgumentException("size " + size);
        long sz = alignUp(size);
        long align = sz >= (1L << 30) ? 1L << 30 : ALIGN;
        for (Range r : pool) {
            long at = (r.base + align - 1) & -align;
            while (at + sz <= r.base + r.size) {
                var below = used.floorEntry(at + sz - 1);
                if (below == null || below.getKey() + below.getValue() <= at) {
                    used.put(at, sz);
                    return at;
                }
                at = (below.getKey() + below.getValue() + align - 1) & -align;
            }
        }
        throw new VmmException(String.format("cannot set up guest memory 'pc.ram': Cannot allocate memory (%d MiB)",
                sz >> 20));
    }

    public synchronized void free(long hpa) {
        used.remove(hpa);
    }

    /** Bytes handed out. */
    public synchronized long allocated() {
        return used.values().stream().mapToLong(Long::longValue).sum();
    }
}

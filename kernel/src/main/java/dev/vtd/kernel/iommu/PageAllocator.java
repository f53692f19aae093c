package dev.vtd.kernel.iommu;

import dev.vtd.platform.memory.PhysicalMemory;

import java.util.BitSet;

/**
 * The kernel's page allocator over a region of host RAM reserved for it: 4 KiB pages handed out zeroed,
 * singly (page-table pages) or as naturally aligned power-of-two blocks (coherent DMA buffers, like
 * alloc_pages with an order). Every page handed out is counted until freed, so leaks show.
 */
public final class PageAllocator {
    public static final long PAGE = PhysicalMemory.PAGE_SIZE;

    private final PhysicalMemory memory;
    private final long base;
    private final int pages;
    private final BitSet used;
    private int inUse;
    private int searchFrom;
    private long allocations, frees;

    /** Pages [base, base + size) of {@code memory}; both 4 KiB aligned and RAM. */
    public PageAllocator(PhysicalMemory memory, long base, long size) {
        if ((base & (PAGE - 1)) != 0 || size <= 0 || (size & (PAGE - 1)) != 0 || size / PAGE > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(String.format("page pool base 0x%x size 0x%x: 4 KiB aligned, non-empty",
                    base, size));
        }
        if (!memory.isRam(base, size)) {
            throw new IllegalArgumentException(String.format("page pool 0x%x-0x%x is not RAM", base, base + size - 1));
        }
        this.memory = memory;
        this.base = base;
        this.pages = (int) (size / PAGE);
        this.used = new BitSet(pages);
    }

    public PhysicalMemory memory() { return memory; }
    public long base() { return base; }
    public long size() { return pages * PAGE; }

    /** One zeroed page. */
    public synchronized long allocPage() {
        int i = used.nextClearBit(searchFrom);
        if (i >= pages) i = used.nextClearBit(0);
        if (i >= pages) throw new IommuException("ENOMEM", "page pool of " + pages + " pages exhausted");
        used.set(i);
        searchFrom = i + 1;
        inUse++;
        allocations++;
        long pa = base + i * PAGE;
        memory.fill(pa, PAGE, (byte) 0);
        return pa;
    }

    /** 2^order zeroed, physically contiguous pages aligned to their size (relative to physical 0). */
    public synchronized long allocPages(int order) {
        if (order < 0 || order > 20) throw new IommuException("EINVAL", "page order " + order);
        if (order == 0) return allocPage();
        int n = 1 << order;
        long firstAligned = ((base + (n * PAGE) - 1) & -(n * PAGE));
        for (long pa = firstAligned; pa + n * PAGE <= base + size(); pa += n * PAGE) {
            int i = (int) ((pa - base) / PAGE);
            int next = used.nextSetBit(i);
            if (next < 0 || next >= i + n) {
                used.set(i, i + n);
                inUse += n;
                allocations++;
                memory.fill(pa, n * PAGE, (byte) 0);
                return pa;
            }
        }
        throw new IommuException("ENOMEM", "no free block of " + n + " pages");
    }

    public void freePage(long pa) {
        freePages(pa, 0);
    }

    public synchronized void freePages(long pa, int order) {
        int n = 1 << order;
        if (pa < base || (pa & (PAGE - 1)) != 0 || pa + n * PAGE > base + size()) {
            throw new IllegalArgumentException(String.format("free of 0x%x (order %d) outside the pool", pa, order));
        }
        int i = (int) ((pa - base) / PAGE);
        for (int k = i; k < i + n; k++) {
            if (!used.get(k)) throw new IllegalStateException(String.format("double free of page 0x%x", base + k * PAGE));
        }
        used.clear(i, i + n);
        inUse -= n;
        frees++;
        if (i < searchFrom) searchFrom = i;
    }

    public synchronized boolean isAllocated(long pa) {
        return pa >= base && pa < base + size() && used.get((int) ((pa - base) / PAGE));
    }

    /** Pages handed out and not yet freed. */
    public synchronized int pagesInUse() { return inUse; }
    public synchronized int pagesFree() { return pages - inUse; }
    public synchronized long allocations() { return allocations; }
    public synchronized long frees() { return frees; }
}

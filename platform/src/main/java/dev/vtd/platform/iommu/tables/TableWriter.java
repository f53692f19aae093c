package dev.vtd.platform.iommu.tables;

import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Writes legacy-mode remapping structures into physical memory the way a driver would: a root
 * table, context tables created on demand, and second-stage page tables with intermediate tables
 * allocated from a page pool. For tests, benchmarks and tools; the host kernel model has its own
 * driver with freeing and invalidation.
 */
public final class TableWriter {
    private final PhysicalMemory memory;
    private final long poolEnd;
    private long next;
    private long rootTable = -1;

    /** Allocates table pages from [poolBase, poolBase + poolSize). */
    public TableWriter(PhysicalMemory memory, long poolBase, long poolSize) {
        this.memory = memory;
        this.next = (poolBase + 0xFFF) & ~0xFFFL;
        this.poolEnd = poolBase + poolSize;
    }

    public PhysicalMemory memory() {
        return memory;
    }

    /** A zeroed 4 KiB page from the pool. */
    public long allocPage() {
        if (next + PhysicalMemory.PAGE_SIZE > poolEnd) throw new IllegalStateException("table page pool exhausted");
        long p = next;
        next += PhysicalMemory.PAGE_SIZE;
        memory.fill(p, PhysicalMemory.PAGE_SIZE, (byte) 0);
        return p;
    }

    /** The root table (allocated on first use). */
    public long rootTable() {
        if (rootTable < 0) rootTable = allocPage();
        return rootTable;
    }

    /** Writes the context entry for a source ID, creating the bus's context table if needed. */
    public void setContext(int sourceId, ContextEntry ce) {
        long rootAddr = rootTable() + (long) (sourceId >>> 8) * RootEntry.SIZE;
        RootEntry re = RootEntry.decode(memory.read64(rootAddr), memory.read64(rootAddr + 8));
        long ctp;
        if (re.present()) {
            ctp = re.contextTablePointer();
        } else {
            ctp = allocPage();
            RootEntry nre = RootEntry.of(ctp);
            memory.write64(rootAddr, nre.lo());
            memory.write64(rootAddr + 8, nre.hi());
        }
        long ctxAddr = ctp + (long) (sourceId & 0xFF) * ContextEntry.SIZE;
        memory.write64(ctxAddr, ce.lo());
        memory.write64(ctxAddr + 8, ce.hi());
    }

    /** Physical address of the context entry for a source ID, or -1 if its bus has no context table. */
    public long contextEntryAddress(int sourceId) {
        long rootAddr = rootTable() + (long) (sourceId >>> 8) * RootEntry.SIZE;
        RootEntry re = RootEntry.decode(memory.read64(rootAddr), memory.read64(rootAddr + 8));
        return re.present() ? re.contextTablePointer() + (long) (sourceId & 0xFF) * ContextEntry.SIZE : -1;
    }

    /**
     * Maps iova to pa with a page of 2^pageShift bytes (12, 21 or 30) in the tables rooted at
     * slptptr; intermediate entries get R and W.
     *
     * @return the physical address of the leaf entry written
     */
    public long map(long slptptr, int levels, long iova, long pa, int pageShift, boolean read, boolean write) {
        int leafLevel = (pageShift - 12) / 9 + 1;
        long table = slptptr;
        for (int level = levels; level > leafLevel; level--) {
            long addr = table + ((iova >>> SlPte.shiftOfLevel(level)) & 0x1FF) * 8;
            long pte = memory.read64(addr);
            if (!SlPte.present(pte) || (pte & SlPte.PS) != 0) {
                long t = allocPage();
                pte = SlPte.table(t, true, true);
                memory.write64(addr, pte);
            }
            table = pte & SlPte.ADDR_MASK;
        }
        long addr = table + ((iova >>> SlPte.shiftOfLevel(leafLevel)) & 0x1FF) * 8;
        memory.write64(addr, SlPte.leaf(pa, read, write, leafLevel > 1));
        return addr;
    }

    /** The address of the entry at {@code level} on the walk of iova, or -1 if the walk stops above it. */
    public long entryAddress(long slptptr, int levels, long iova, int level) {
        long table = slptptr;
        for (int l = levels; l >= level; l--) {
            long addr = table + ((iova >>> SlPte.shiftOfLevel(l)) & 0x1FF) * 8;
            if (l == level) return addr;
            long pte = memory.read64(addr);
            if (!SlPte.present(pte) || (pte & SlPte.PS) != 0) return -1;
            table = pte & SlPte.ADDR_MASK;
        }
        return -1;
    }
}

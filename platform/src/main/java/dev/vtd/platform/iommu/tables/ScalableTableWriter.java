package dev.vtd.platform.iommu.tables;

import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Writes scalable-mode remapping structures into physical memory the way a driver would: the
 * scalable-mode root table with lower and upper context tables created on demand (9.2, 9.4),
 * PASID directories and tables (9.5, 9.6), first-stage page tables (9.7) and, through
 * {@link TableWriter}, second-stage ones. For tests, benchmarks and tools.
 */
public final class ScalableTableWriter {
    private final PhysicalMemory memory;
    private final TableWriter pages;
    private long rootTable = -1;

    public ScalableTableWriter(PhysicalMemory memory, long poolBase, long poolSize) {
        this.memory = memory;
        this.pages = new TableWriter(memory, poolBase, poolSize);
    }

    public PhysicalMemory memory() { return memory; }

    /** The allocator shared with second-stage mapping ({@link TableWriter#map}). */
    public TableWriter secondStage() { return pages; }

    public long allocPage() { return pages.allocPage(); }

    public long rootTable() {
        if (rootTable < 0) rootTable = pages.allocPage();
        return rootTable;
    }

    /** Address of the 256-bit context entry for sid, creating its half of the bus's root entry if needed. */
    public long contextEntryAddress(int sid) {
        long rootAddr = rootTable() + (long) (sid >>> 8) * SmRootEntry.SIZE;
        SmRootEntry re = SmRootEntry.decode(memory.read64(rootAddr), memory.read64(rootAddr + 8));
        int devfn = sid & 0xFF;
        if (!re.present(devfn)) {
            long t = pages.allocPage();
            boolean upper = devfn >= SmRootEntry.UPPER_DEVFN;
            re = new SmRootEntry(re.lowerPresent() || !upper, upper ? re.lowerContextTablePointer() : t,
                    re.upperPresent() || upper, upper ? t : re.upperContextTablePointer(), 0, 0);
            memory.write64(rootAddr, re.lo());
            memory.write64(rootAddr + 8, re.hi());
        }
        return re.contextEntryAddress(devfn);
    }

    public void setContext(int sid, SmContextEntry ce) {
        long a = contextEntryAddress(sid);
        long[] q = ce.encode();
        for (int i = 0; i < 4; i++) memory.write64(a + 8L * i, q[i]);
    }

    /** Address of the PASID-table entry for pasid under a directory, creating its PASID table if needed. */
    public long pasidEntryAddress(long pasidDir, int pasid) {
        long dirAddr = pasidDir + (long) PasidDirEntry.directoryIndex(pasid) * PasidDirEntry.SIZE;
        PasidDirEntry de = PasidDirEntry.decode(memory.read64(dirAddr));
        if (!de.present()) {
            de = PasidDirEntry.of(pages.allocPage());
            memory.write64(dirAddr, de.encode());
        }
        return de.entryAddress(pasid);
    }

    public void setPasidEntry(long pasidDir, int pasid, PasidEntry pe) {
        long a = pasidEntryAddress(pasidDir, pasid);
        long[] q = pe.encode();
        for (int i = 0; i < 8; i++) memory.write64(a + 8L * i, q[i]);
    }

    /**
     * Maps va to pa with a page of 2^pageShift bytes (12, 21, 30) in the first-stage tables
     * rooted at flptptr (4 or 5 levels); intermediate entries get R/W and U/S.
     *
     * @return the physical address of the leaf entry written
     */
    public long mapFirstStage(long flptptr, int levels, long va, long pa, int pageShift, boolean write, boolean user,
                              boolean executeDisable) {
        int leafLevel = (pageShift - 12) / 9 + 1;
        long table = flptptr;
        for (int level = levels; level > leafLevel; level--) {
            long addr = table + ((va >>> FlPte.shiftOfLevel(level)) & 0x1FF) * 8;
            long pte = memory.read64(addr);
            if (!FlPte.present(pte) || (FlPte.mayBeLarge(level) && (pte & FlPte.PS) != 0)) {
                pte = FlPte.table(pages.allocPage(), true, true);
                memory.write64(addr, pte);
            }
            table = pte & FlPte.ADDR_MASK;
        }
        long addr = table + ((va >>> FlPte.shiftOfLevel(leafLevel)) & 0x1FF) * 8;
        memory.write64(addr, FlPte.leaf(pa, write, user, leafLevel > 1, executeDisable));
        return addr;
    }

    /** The address of the first-stage entry at {@code level} on the walk of va, or -1 if the walk stops above it. */
    public long firstStageEntryAddress(long flptptr, int levels, long va, int level) {
        long table = flptptr;
        for (int l = levels; l >= level; l--) {
            long addr = table + ((va >>> FlPte.shiftOfLevel(l)) & 0x1FF) * 8;
            if (l == level) return addr;
            long pte = memory.read64(addr);
            if (!FlPte.present(pte) || (FlPte.mayBeLarge(l) && (pte & FlPte.PS) != 0)) return -1;
            table = pte & FlPte.ADDR_MASK;
        }
        return -1;
    }
}

package dev.vtd.platform.iommu.walk;

/** Sees each paging-structure entry a walk reads: for tools that show a page walk step by step. */
@FunctionalInterface
public interface WalkObserver {
    /**
     * @param level   paging level of the entry (5 = PML5E ... 1 = PTE)
     * @param address physical address the entry was read from
     * @param entry   the 64-bit entry
     */
    void entry(int level, long address, long entry);
}

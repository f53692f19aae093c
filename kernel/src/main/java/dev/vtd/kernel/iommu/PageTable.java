package dev.vtd.kernel.iommu;

import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A domain's second-stage page tables (VT-d spec 9.8), built and torn down by the driver in host memory:
 * 4 KiB leaves, and 2 MiB / 1 GiB leaves (PS = 1) where the unit supports them (CAP.SLLPS) and both
 * addresses and the remaining length allow. Non-leaf entries carry R and W (permissions are decided at the
 * leaf), as Linux's dma_pte entries do.
 *
 * <p>The driver keeps a count of present entries per table page. A table page that becomes empty on unmap is
 * unlinked and put on the caller's freelist: its memory must not be reused until the IOTLB (and any
 * paging-structure cache) no longer holds translations through it, so the caller frees the freelist after the
 * invalidation. Unmapping part of a superpage splits it into a table of smaller leaves first.
 */
public final class PageTable {
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    static final int ENTRIES = 512;
    static final long PAGE = PhysicalMemory.PAGE_SIZE;

    private final PhysicalMemory memory;
    private final PageAllocator pages;
    private final int levels;
    private final int maxLeafLevel;
    private final long root;
    /** Present entries per table page (root included). */
    private final Map<Long, Integer> present = new HashMap<>();
    private final long[] leavesByLevel = new long[6];

    /**
     * @param levels          paging levels (3, 4 or 5: AGAW + 2)
     * @param superpageLevels 0 (4 KiB only), 1 (up to 2 MiB) or 2 (up to 1 GiB): fls(CAP.SLLPS & 3)
     */
    public PageTable(PhysicalMemory memory, PageAllocator pages, int levels, int superpageLevels) {
        if (levels < 3 || levels > 5) throw new IllegalArgumentException("paging levels " + levels);
        this.memory = memory;
        this.pages = pages;
        this.levels = levels;
        this.maxLeafLevel = 1 + Math.max(0, Math.min(2, superpageLevels));
        this.root = pages.allocPage();
        present.put(root, 0);
    }

    public long root() { return root; }
    public int levels() { return levels; }
    /** Largest leaf: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB). */
    public int maxLeafLevel() { return maxLeafLevel; }

    /** Table pages currently owned by these tables, root included. */
    public synchronized int tablePages() { return present.size(); }

    /** Leaves currently present at a level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB). */
    public synchronized long leaves(int level) { return leavesByLevel[level]; }

    /** Bytes covered by one entry at a level. */
    public static long levelSize(int level) {
        return 1L << SlPte.shiftOfLevel(level);
    }

    private static int index(long iova, int level) {
        return (int) ((iova >>> SlPte.shiftOfLevel(level)) & (ENTRIES - 1));
    }

    /** The largest leaf level both addresses are aligned to and the length fills. */
    private int leafLevelFor(long iova, long pa, long size) {
        for (int l = maxLeafLevel; l > 1; l--) {
            long s = levelSize(l);
            if (((iova | pa) & (s - 1)) == 0 && size >= s) return l;
        }
        return 1;
    }

    private long pteOf(int prot, long pa, int level) {
        return SlPte.leaf(pa, (prot & PROT_READ) != 0, (prot & PROT_WRITE) != 0, level > 1);
    }

    private static boolean isLeaf(long pte, int level) {
        return level == 1 || (pte & SlPte.PS) != 0;
    }

    /**
     * Maps [iova, iova + size) to [pa, pa + size); all three 4 KiB aligned, prot not empty. A page already
     * mapped anywhere in the range is an EEXIST error and leaves the tables as they were.
     */
    public synchronized void map(long iova, long pa, long size, int prot) {
        if (((iova | pa | size) & (PAGE - 1)) != 0 || size <= 0 || (prot & (PROT_READ | PROT_WRITE)) == 0) {
            throw new IommuException("EINVAL", String.format("map iova 0x%x pa 0x%x size 0x%x prot %d", iova, pa,
                    size, prot));
        }
        long done = 0;
        try {
            while (done < size) {
                done += mapOne(iova + done, pa + done, size - done, prot);
            }
        } catch (IommuException e) {
            if (done > 0) {
                java.util.ArrayList<Long> freed = new java.util.ArrayList<>();
                unmap(iova, done, freed);
                for (long p : freed) pages.freePage(p);
            }
            throw e;
        }
    }

    /** Maps one leaf (as large as allowed) at iova; returns its size. */
    private long mapOne(long iova, long pa, long remaining, int prot) {
        int target = leafLevelFor(iova, pa, remaining);
        long table = root;
        for (int level = levels; ; level--) {
            long slot = table + (long) index(iova, level) * 8;
            long pte = memory.read64(slot);
            if (level == target) {
                if (SlPte.present(pte)) {
                    if (isLeaf(pte, level)) {
                        throw new IommuException("EEXIST", String.format(
                                "DMA PTE for vPFN 0x%x already set (to %x not %x)", iova >>> 12, pte,
                                pteOf(prot, pa, level)));
                    }
                    // A table already lives here (smaller mappings nearby): map at the next level down.
                    target = level - 1;
                    table = pte & SlPte.ADDR_MASK;
                    continue;
                }
                memory.write64(slot, pteOf(prot, pa, level));
                present.merge(table, 1, Integer::sum);
                leavesByLevel[level]++;
                return levelSize(level);
            }
            if (!SlPte.present(pte)) {
                long next = pages.allocPage();
                present.put(next, 0);
                memory.write64(slot, SlPte.table(next, true, true));
                present.merge(table, 1, Integer::sum);
                table = next;
            } else if (isLeaf(pte, level)) {
                throw new IommuException("EEXIST", String.format(
                        "DMA PTE for vPFN 0x%x already set (to %x not %x)", iova >>> 12, pte, pteOf(prot, pa, target)));
            } else {
                table = pte & SlPte.ADDR_MASK;
            }
        }
    }

    /**
     * Unmaps whatever is mapped in [iova, iova + size) (4 KiB aligned), splitting superpages that straddle
     * the range ends. Table pages that become empty are unlinked and added to {@code freelist}.
     *
     * @return bytes that were mapped and now are not
     */
    public synchronized long unmap(long iova, long size, List<Long> freelist) {
        if (((iova | size) & (PAGE - 1)) != 0 || size <= 0) {
            throw new IommuException("EINVAL", String.format("unmap iova 0x%x size 0x%x", iova, size));
        }
        long end = iova + size;   // exclusive
        return clear(root, levels, 0, iova, end, freelist);
    }

    private long clear(long table, int level, long tableBase, long start, long end, List<Long> freelist) {
        long span = levelSize(level);
        long first = Math.max(start, tableBase);
        long tableEnd = tableBase + span * ENTRIES;
        long last = Math.min(end, tableEnd);
        long unmapped = 0;
        for (long a = first & -span; a < last; a += span) {
            long slot = table + (long) index(a, level) * 8;
            long pte = memory.read64(slot);
            if (!SlPte.present(pte)) continue;
            boolean covered = a >= start && a + span <= end;
            if (isLeaf(pte, level)) {
                if (covered) {
                    memory.write64(slot, 0);
                    present.merge(table, -1, Integer::sum);
                    leavesByLevel[level]--;
                    unmapped += span;
                    continue;
                }
                pte = split(slot, pte, level);
            }
            long child = pte & SlPte.ADDR_MASK;
            unmapped += clear(child, level - 1, a, start, end, freelist);
            if (present.getOrDefault(child, 0) == 0) {
                memory.write64(slot, 0);
                present.merge(table, -1, Integer::sum);
                present.remove(child);
                freelist.add(child);
            }
        }
        return unmapped;
    }

    /** Replaces a superpage leaf by a table of 512 leaves one level down with the same permissions. */
    private long split(long slot, long pte, int level) {
        long next = pages.allocPage();
        long base = pte & SlPte.ADDR_MASK;
        long keep = pte & (SlPte.R | SlPte.W);
        long childSize = levelSize(level - 1);
        long psBit = level - 1 > 1 ? SlPte.PS : 0;
        for (int i = 0; i < ENTRIES; i++) {
            memory.write64(next + i * 8L, ((base + i * childSize) & SlPte.ADDR_MASK) | keep | psBit);
        }
        present.put(next, ENTRIES);
        leavesByLevel[level]--;
        leavesByLevel[level - 1] += ENTRIES;
        long table = SlPte.table(next, true, true);
        memory.write64(slot, table);
        return table;
    }

    /** The physical address iova translates to, or -1 when unmapped. */
    public synchronized long iovaToPhys(long iova) {
        long table = root;
        for (int level = levels; level >= 1; level--) {
            long pte = memory.read64(table + (long) index(iova, level) * 8);
            if (!SlPte.present(pte)) return -1;
            if (isLeaf(pte, level)) return (pte & SlPte.ADDR_MASK) + (iova & (levelSize(level) - 1));
            table = pte & SlPte.ADDR_MASK;
        }
        return -1;
    }

    /** The leaf's permissions (PROT_*) for iova, or 0 when unmapped. */
    public synchronized int protAt(long iova) {
        long table = root;
        for (int level = levels; level >= 1; level--) {
            long pte = memory.read64(table + (long) index(iova, level) * 8);
            if (!SlPte.present(pte)) return 0;
            if (isLeaf(pte, level)) {
                return ((pte & SlPte.R) != 0 ? PROT_READ : 0) | ((pte & SlPte.W) != 0 ? PROT_WRITE : 0);
            }
            table = pte & SlPte.ADDR_MASK;
        }
        return 0;
    }

    /** Unmaps everything and gives every table page, root included, to {@code freelist}. */
    public synchronized void destroy(List<Long> freelist) {
        clear(root, levels, 0, 0, levelSize(levels) * ENTRIES, freelist);
        present.remove(root);
        freelist.add(root);
    }
}

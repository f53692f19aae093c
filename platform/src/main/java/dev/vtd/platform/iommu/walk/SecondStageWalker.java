package dev.vtd.platform.iommu.walk;

import dev.vtd.platform.iommu.cache.IotlbEntry;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.tables.Bits;
import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Second-stage page walk (VT-d spec 3.7 and 9.8) over 3, 4 or 5 levels. The effective
 * permission is the AND of R and W over every level; a not-present entry (R = W = 0) ends the walk;
 * large pages are honoured where CAP.SLLPS allows, otherwise PS is a reserved bit.
 *
 * <p>Bounded: at most {@code levels} memory reads per walk, whatever the tables contain.
 */
public final class SecondStageWalker {
    /** Outcome of one walk: a translation (possibly without the requested permission) or a fault. */
    public record Result(IotlbEntry entry, FaultReason fault, boolean cacheableNotPresent) {
        static Result fault(FaultReason r) {
            return new Result(null, r, false);
        }
    }

    private final PhysicalMemory memory;
    private final int hostAddressWidth;
    private final int sllps;
    private final boolean snoopControl;

    /**
     * @param hostAddressWidth HAW: address bits at and above it in an entry are reserved
     * @param sllps            CAP.SLLPS (bit 0: 2 MiB, bit 1: 1 GiB)
     * @param snoopControl     ECAP.SC (SNP in a leaf is reserved without it)
     */
    public SecondStageWalker(PhysicalMemory memory, int hostAddressWidth, int sllps, boolean snoopControl) {
        this.memory = memory;
        this.hostAddressWidth = hostAddressWidth;
        this.sllps = sllps;
        this.snoopControl = snoopControl;
    }

    /**
     * Walks from {@code root} for {@code iova}.
     *
     * @param isWrite the request type (decides 0x5 vs 0x6 for a not-present entry)
     */
    public Result walk(long root, int levels, long iova, int domainId, boolean isWrite, WalkObserver observer) {
        long table = root;
        long perms = SlPte.R | SlPte.W;
        long haw = Bits.addressMask(hostAddressWidth);
        for (int level = levels; level >= 1; level--) {
            int shift = SlPte.shiftOfLevel(level);
            long pteAddr = table + ((iova >>> shift) & 0x1FF) * 8;
            if (!memory.isRam(pteAddr, 8)) {
                // 7.1.3 reason 0x7: the table referenced by SLPTPTR or a paging entry cannot be accessed.
                return Result.fault(FaultReason.NEXT_TABLE_INVALID);
            }
            long pte = memory.read64(pteAddr);
            if (observer != null) observer.entry(level, pteAddr, pte);
            if (!SlPte.present(pte)) {
                return new Result(null, isWrite ? FaultReason.PTE_WRITE : FaultReason.PTE_READ, true);
            }
            boolean large = level > 1 && (pte & SlPte.PS) != 0;
            if (reserved(pte, level, large, haw)) return Result.fault(FaultReason.PTE_RESERVED);
            perms &= pte;
            if (level == 1 || large) {
                return new Result(IotlbEntry.of(domainId, iova, pte & SlPte.ADDR_MASK, shift,
                        (perms & SlPte.R) != 0, (perms & SlPte.W) != 0), null, false);
            }
            table = pte & SlPte.ADDR_MASK;
        }
        return Result.fault(FaultReason.PTE_RESERVED); // levels outside 1..5 never reach here
    }

    private boolean reserved(long pte, int level, boolean large, long hawMask) {
        // Address bits at or above HAW (up to bit 51) are reserved in every entry (9.8).
        if ((pte & SlPte.ADDR_MASK & ~hawMask) != 0) return true;
        if (large) {
            if (level >= 4) return true;                                 // PS is reserved in SL-PML4E / SL-PML5E
            if (level == 3 && (sllps & 2) == 0) return true;             // 1 GiB pages not supported
            if (level == 2 && (sllps & 1) == 0) return true;             // 2 MiB pages not supported
            long low = Bits.range(SlPte.shiftOfLevel(level) - 1, 12);    // a large page's address is size-aligned
            if ((pte & low) != 0) return true;
        }
        boolean leaf = level == 1 || large;
        return leaf && !snoopControl && (pte & SlPte.SNP) != 0;          // SNP is reserved when ECAP.SC = 0
    }
}

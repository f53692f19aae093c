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
    private final boolean deviceTlb;

    /**
     * @param hostAddressWidth HAW: address bits at and above it in an entry are reserved
     * @param sllps            CAP.SLLPS (bit 0: 2 MiB, bit 1: 1 GiB)
     * @param snoopControl     ECAP.SC (SNP in a leaf is reserved without it)
     * @param deviceTlb        ECAP.DT (TM in a leaf is reserved without it)
     */
    public SecondStageWalker(PhysicalMemory memory, int hostAddressWidth, int sllps, boolean snoopControl,
                             boolean deviceTlb) {
        this.memory = memory;
        this.hostAddressWidth = hostAddressWidth;
        this.sllps = sllps;
        this.snoopControl = snoopControl;
        this.deviceTlb = deviceTlb;
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

    /**
     * A scalable-mode second-stage walk (3.7, 9.8) with the scalable-mode fault reasons:
     * SLPTPTR table not accessible 0x7B, other table not accessible 0x78, an entry with R = W = 0
     * 0x79, reserved bits 0x7A, an address at or above HAW 0x84. The effective R/W is the AND over
     * all levels; the caller checks the request against it. With {@code slade} (PASID entry SLADE,
     * ECAP.SLADS) and a request the translation permits, A is set in every entry and D in the leaf
     * for a write; when the walk is not snooped a needed update faults with 0x7C instead.
     */
    public ScalableResult walkScalable(long root, int levels, long iova, boolean isWrite, boolean slade, boolean snooped,
                                       WalkObserver observer) {
        long table = root;
        long perms = SlPte.R | SlPte.W;
        long haw = Bits.addressMask(hostAddressWidth);
        long[] addrs = slade ? new long[levels] : null;
        long[] values = slade ? new long[levels] : null;
        int n = 0;
        for (int level = levels; level >= 1; level--) {
            int shift = SlPte.shiftOfLevel(level);
            long pteAddr = table + ((iova >>> shift) & 0x1FF) * 8;
            if (!memory.isRam(pteAddr, 8)) {
                return ScalableResult.fault(level == levels ? FaultReason.SM_SL_PTR_INVALID : FaultReason.SM_SL_ACCESS);
            }
            long pte = memory.read64(pteAddr);
            if (observer != null) observer.entry(level, pteAddr, pte);
            if (!SlPte.present(pte)) return new ScalableResult(FaultReason.SM_SL_PERMISSION, true, 0, 0, false, false, false);
            boolean large = level > 1 && (pte & SlPte.PS) != 0;
            if ((pte & SlPte.ADDR_MASK & ~haw) != 0) return ScalableResult.fault(FaultReason.SM_SL_BEYOND_MAX);
            if (reserved(pte, level, large, haw)) return ScalableResult.fault(FaultReason.SM_SL_RESERVED);
            perms &= pte;
            if (slade) {
                addrs[n] = pteAddr;
                values[n] = pte;
            }
            n++;
            if (level == 1 || large) {
                boolean r = (perms & SlPte.R) != 0, w = (perms & SlPte.W) != 0;
                boolean dirty = (pte & SlPte.D) != 0;
                if (slade && (isWrite ? w : r)) {
                    for (int i = 0; i < n; i++) {
                        long bits = SlPte.A | (isWrite && i == n - 1 ? SlPte.D : 0);
                        if ((values[i] & bits) == bits) continue;
                        if (!snooped) return ScalableResult.fault(FaultReason.SM_SL_AD_NOSNOOP);
                        setBits(addrs[i], values[i], bits);
                    }
                    dirty |= isWrite;
                }
                return new ScalableResult(null, false, pte & SlPte.ADDR_MASK & ~Bits.addressMask(shift), shift, r, w,
                        dirty || !slade);
            }
            table = pte & SlPte.ADDR_MASK;
        }
        return ScalableResult.fault(FaultReason.SM_SL_RESERVED);
    }

    /** ORs A/D bits into an entry unless software changed it meanwhile (bounded retries). */
    private void setBits(long addr, long seen, long bits) {
        long keep = ~(SlPte.A | SlPte.D);
        for (int attempt = 0; attempt < 4; attempt++) {
            long cur = memory.read64(addr);
            if ((cur & keep) != (seen & keep)) return;
            if (memory.compareAndSet64(addr, cur, cur | bits)) return;
        }
    }

    /**
     * Outcome of a scalable-mode second-stage walk. {@code dirtyDone}: a write through this
     * translation needs no further D update (D already set, or A/D tracking off).
     */
    public record ScalableResult(FaultReason fault, boolean notPresent, long outputBase, int pageShift, boolean read,
                                 boolean write, boolean dirtyDone) {
        static ScalableResult fault(FaultReason r) {
            return new ScalableResult(r, false, 0, 0, false, false, false);
        }
    }

    private boolean reserved(long pte, int level, boolean large, long hawMask) {
        // Address bits at or above HAW (up to bit 51) are reserved in every entry (9.8).
        if ((pte & SlPte.ADDR_MASK & ~hawMask) != 0) return true;
        if (large) {
            if (level >= 4) return true;                                 // PS is reserved in SL-PML4E / SL-PML5E
            if (level == 3 && (sllps & 2) == 0) return true;             // 1 GiB pages not supported
            if (level == 2 && (sllps & 1) == 0) return true;             // 2 MiB pages not supported
        }
        return (pte & SlPte.reservedMask(level, large, snoopControl, deviceTlb)) != 0;
    }
}

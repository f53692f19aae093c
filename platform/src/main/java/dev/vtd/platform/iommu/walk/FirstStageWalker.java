package dev.vtd.platform.iommu.walk;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.tables.Bits;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * First-stage page walk (VT-d spec 3.6 and 9.7): 4- or 5-level IA-32e paging with 4 KiB, 2 MiB
 * and (with CAP.FL1GP) 1 GiB pages. The walk collects the entries and the combined attributes
 * (R/W and U/S ANDed, XD ORed over every level); {@link #check} decides a request's access and
 * {@link #updateAccessedDirty} sets A (every entry) and D (leaf, writes) atomically afterwards.
 *
 * <p>For nested translation every entry address is a guest-physical address that a
 * {@link TableAccess} translates through the second stage first (3.8).
 *
 * <p>Bounded: at most {@code levels} entries per walk.
 */
public final class FirstStageWalker {
    /** Resolves the address of a first-stage entry to a host-physical address. */
    public interface TableAccess {
        /**
         * @param address   address of the entry as the previous level (or FLPTPTR) gives it
         * @param level     level of the entry (5 or 4 for the root table)
         * @param root      true for the entry in the table FLPTPTR points at
         * @param forUpdate true when the entry is about to be written (A/D update)
         * @return the host-physical address, or {@code -1 - reason code} when the access faults
         */
        long resolve(long address, int level, boolean root, boolean forUpdate);
    }

    /** Direct access (first-stage only): entries live at their host-physical address. */
    public static TableAccess direct(PhysicalMemory memory) {
        return (a, level, root, forUpdate) -> memory.isRam(a, 8) ? a : -1 - FaultReason.SM_FL_ACCESS.code;
    }

    /** The outcome of a walk: the leaf and its combined attributes, or the fault that ended it. */
    public record Result(FaultReason fault, boolean notPresent, long outputBase, int pageShift, boolean write,
                         boolean user, boolean executeDisable, boolean global, boolean dirty, int count,
                         long[] entryAddress, long[] entryValue, int[] entryLevel) {
        static Result fault(FaultReason r, boolean notPresent) {
            return new Result(r, notPresent, 0, 0, false, false, false, false, false, 0, null, null, null);
        }
    }

    private final PhysicalMemory memory;
    private final int outputWidth;
    private final boolean oneGig;

    /**
     * @param outputWidth address bits an entry may hold (HAW; MGAW for the guest-physical
     *                    addresses of nested translation); bits above are reserved
     * @param oneGig      CAP.FL1GP: PS in an FL-PDPE maps a 1 GiB page (else reserved)
     */
    public FirstStageWalker(PhysicalMemory memory, int outputWidth, boolean oneGig) {
        this.memory = memory;
        this.outputWidth = outputWidth;
        this.oneGig = oneGig;
    }

    /** Canonical address check for a paging depth (3.6.1): bits 63:47 (63:56) equal bit 47 (56). */
    public static boolean canonical(long va, int levels) {
        int top = levels == 5 ? 56 : 47;
        long upper = va >> top;
        return upper == 0 || upper == -1;
    }

    /**
     * Walks from {@code flptptr} for {@code va}. {@code nxe}: XD is honoured (else reserved).
     */
    public Result walk(long flptptr, int levels, long va, boolean nxe, TableAccess access, WalkObserver observer) {
        long table = flptptr;
        long addrReserved = ~Bits.addressMask(outputWidth) & FlPte.ADDR_MASK;
        boolean write = true, user = true, xd = false;
        long[] addrs = new long[levels];
        long[] values = new long[levels];
        int[] lvls = new int[levels];
        int n = 0;
        for (int level = levels; level >= 1; level--) {
            int shift = FlPte.shiftOfLevel(level);
            long entryAddr = table + ((va >>> shift) & 0x1FF) * 8;
            long hpa = access.resolve(entryAddr, level, level == levels, false);
            if (hpa < 0) return Result.fault(FaultReason.of((int) (-1 - hpa)), false);
            long pte = memory.read64(hpa);
            if (observer != null) observer.entry(level, hpa, pte);
            if (!FlPte.present(pte)) return Result.fault(FaultReason.SM_FL_NOT_PRESENT, true);
            boolean large = FlPte.mayBeLarge(level) && (pte & FlPte.PS) != 0;
            if (reserved(pte, level, large, nxe, addrReserved)) return Result.fault(FaultReason.SM_FL_RESERVED, false);
            addrs[n] = entryAddr;                                          // as resolved again for A/D
            values[n] = pte;
            lvls[n] = level;
            n++;
            write &= (pte & FlPte.RW) != 0;
            user &= (pte & FlPte.US) != 0;
            xd |= nxe && (pte & FlPte.XD) != 0;
            if (level == 1 || large) {
                long base = pte & FlPte.ADDR_MASK & ~Bits.addressMask(shift);
                return new Result(null, false, base, shift, write, user, xd, (pte & FlPte.G) != 0,
                        (pte & FlPte.D) != 0, n, addrs, values, lvls);
            }
            table = pte & FlPte.ADDR_MASK;
        }
        return Result.fault(FaultReason.SM_FL_RESERVED, false); // levels outside 1..5 never reach here
    }

    private boolean reserved(long pte, int level, boolean large, boolean nxe, long addrReserved) {
        if ((pte & addrReserved) != 0) return true;
        if (!nxe && (pte & FlPte.XD) != 0) return true;                   // XD reserved without NXE
        if ((pte & FlPte.PS) != 0 && level >= 4) return true;             // PS reserved in PML5E/PML4E
        if (large) {
            if (level == 3 && !oneGig) return true;                        // 1 GiB pages need CAP.FL1GP
            long low = Bits.range(FlPte.shiftOfLevel(level) - 1, 13);     // large-page address alignment
            return (pte & low) != 0;
        }
        return false;
    }

    /**
     * The access check of a first-stage translation (3.6.2): a user request needs U/S at every
     * level (0x81), an execute request no XD (0x82), a write R/W at every level unless it is a
     * supervisor write with WPE = 0 (0x85). Reads of a present page are always allowed.
     */
    public static FaultReason check(boolean entryWrite, boolean entryUser, boolean entryXd, boolean write,
                                    boolean privileged, boolean execute, boolean wpe) {
        if (!privileged && !entryUser) return FaultReason.SM_US_CLEAR;
        if (execute && entryXd) return FaultReason.SM_NO_EXECUTE;
        if (write && !entryWrite && (!privileged || wpe)) return FaultReason.SM_NO_WRITE;
        return null;
    }

    /**
     * Sets A in every entry of the walk and D in the leaf for a write (3.6.2), each with an atomic
     * compare-and-set that leaves the rest of the entry as software last wrote it.
     *
     * @param snooped false when the page walk is not snooped: an update that is needed then
     *                faults with 0x90 instead
     * @return null, or the fault that stopped the update
     */
    public FaultReason updateAccessedDirty(Result r, boolean write, boolean snooped, TableAccess access, long va) {
        for (int i = 0; i < r.count(); i++) {
            long bits = FlPte.A | (write && i == r.count() - 1 ? FlPte.D : 0);
            long old = r.entryValue()[i];
            if ((old & bits) == bits) continue;
            if (!snooped) return FaultReason.SM_FL_AD_NOSNOOP;
            // For nested translation the entry must be writable through the second stage (0x77).
            long hpa = access.resolve(r.entryAddress()[i], r.entryLevel()[i], false, true);
            if (hpa < 0) return FaultReason.of((int) (-1 - hpa));
            for (int attempt = 0; attempt < 4; attempt++) {
                long cur = memory.read64(hpa);
                if ((cur & ~(FlPte.A | FlPte.D)) != (old & ~(FlPte.A | FlPte.D))) break; // changed under us
                if (memory.compareAndSet64(hpa, cur, cur | bits)) break;
            }
        }
        return null;
    }
}

package dev.vtd.platform.iommu.tables;

/**
 * Scalable-mode PASID directory entry (VT-d spec 9.5): 64 bits; entry PASID[19:6] of the
 * directory points at a PASID table of 64 entries (PASID[5:0]).
 * P (0), FPD (1), reserved (11:2), SMPTBLPTR (63:12).
 */
public record PasidDirEntry(boolean present, boolean faultProcessingDisable, long tablePointer, long reserved) {
    public static final int SIZE = 8;
    public static final int PASIDS_PER_TABLE = 64;
    public static final int INDEX_SHIFT = 6;
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final long RESERVED = Bits.range(11, 2);
    public static final long SMPTBLPTR_MASK = ~0xFFFL;

    public static PasidDirEntry decode(long v) {
        return new PasidDirEntry((v & P) != 0, (v & FPD) != 0, v & SMPTBLPTR_MASK, v & RESERVED);
    }

    public static PasidDirEntry of(long table) {
        return new PasidDirEntry(true, false, table & SMPTBLPTR_MASK, 0);
    }

    public long encode() {
        return (present ? P : 0) | (faultProcessingDisable ? FPD : 0) | (tablePointer & SMPTBLPTR_MASK) | (reserved & RESERVED);
    }

    /** Directory index of a PASID (bits 19:6). */
    public static int directoryIndex(int pasid) {
        return pasid >>> INDEX_SHIFT;
    }

    /** Address of the PASID table entry for a PASID (bits 5:0 index the 64-entry table). */
    public long entryAddress(int pasid) {
        return tablePointer + (long) (pasid & (PASIDS_PER_TABLE - 1)) * PasidEntry.SIZE;
    }

    public boolean hasReservedBits(int hostAddressWidth) {
        return reserved != 0 || (tablePointer & ~Bits.addressMask(hostAddressWidth)) != 0;
    }
}

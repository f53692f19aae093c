package dev.vtd.platform.iommu.tables;

/** Bit helpers shared by the table-entry records. */
public final class Bits {
    private Bits() {}

    /** Mask of address bits below {@code width} (e.g. 46 -> bits 45:0). */
    public static long addressMask(int width) {
        return width >= 64 ? -1L : (1L << width) - 1;
    }

    /** Bits hi:lo set. */
    public static long range(int hi, int lo) {
        long m = hi == 63 ? -1L : (1L << (hi + 1)) - 1;
        return m & ~((1L << lo) - 1);
    }
}

package dev.vtd.platform.iommu.tables;

/**
 * Legacy-mode context entry (VT-d spec 9.3): 128 bits, one per device/function.
 * lo: P (0), FPD (1), TT (3:2), reserved (11:4), SLPTPTR (63:12);
 * hi: AW (2:0), AVAIL/ignored (6:3), reserved (7), DID (23:8), reserved (63:24).
 */
public record ContextEntry(boolean present, boolean faultProcessingDisable, int translationType,
                           long slptptr, int addressWidth, int domainId, long reservedLo, long reservedHi) {
    public static final int SIZE = 16;
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final int TT_SHIFT = 2;
    public static final long TT_MASK = 3L << TT_SHIFT;
    public static final long RESERVED_LO = Bits.range(11, 4);
    public static final long SLPTPTR_MASK = ~0xFFFL;
    public static final long AW_MASK = 7L;
    public static final long AVAIL_MASK = Bits.range(6, 3);
    public static final int DID_SHIFT = 8;
    public static final long DID_MASK = 0xFFFFL << DID_SHIFT;
    public static final long RESERVED_HI = (1L << 7) | Bits.range(63, 24);

    /** TT: untranslated requests only (9.3). */
    public static final int TT_UNTRANSLATED = 0;
    /** TT: untranslated, translated and translation requests (device-TLB). */
    public static final int TT_DEVICE_TLB = 1;
    /** TT: pass-through. */
    public static final int TT_PASS_THROUGH = 2;
    /** AW encodings: 1 = 39-bit/3-level, 2 = 48-bit/4-level, 3 = 57-bit/5-level. */
    public static final int AW_39 = 1, AW_48 = 2, AW_57 = 3;

    public static ContextEntry decode(long lo, long hi) {
        return new ContextEntry((lo & P) != 0, (lo & FPD) != 0, (int) ((lo & TT_MASK) >>> TT_SHIFT),
                lo & SLPTPTR_MASK, (int) (hi & AW_MASK), (int) ((hi & DID_MASK) >>> DID_SHIFT),
                lo & RESERVED_LO, hi & RESERVED_HI);
    }

    /** A present, translating entry. */
    public static ContextEntry translated(int domainId, long slptptr, int addressWidth) {
        return new ContextEntry(true, false, TT_UNTRANSLATED, slptptr & SLPTPTR_MASK, addressWidth, domainId, 0, 0);
    }

    public static ContextEntry passThrough(int domainId, int addressWidth) {
        return new ContextEntry(true, false, TT_PASS_THROUGH, 0, addressWidth, domainId, 0, 0);
    }

    public ContextEntry withFpd(boolean fpd) {
        return new ContextEntry(present, fpd, translationType, slptptr, addressWidth, domainId, reservedLo, reservedHi);
    }

    public ContextEntry withTranslationType(int tt) {
        return new ContextEntry(present, faultProcessingDisable, tt, slptptr, addressWidth, domainId, reservedLo, reservedHi);
    }

    public long lo() {
        return (present ? P : 0) | (faultProcessingDisable ? FPD : 0) | ((long) (translationType & 3) << TT_SHIFT)
                | (slptptr & SLPTPTR_MASK) | (reservedLo & RESERVED_LO);
    }

    public long hi() {
        return (addressWidth & AW_MASK) | ((long) (domainId & 0xFFFF) << DID_SHIFT) | (reservedHi & RESERVED_HI);
    }

    public long[] encode() {
        return new long[] {lo(), hi()};
    }

    /** Paging levels for the AW encoding (3, 4, 5), or 0 for a reserved encoding. */
    public int levels() {
        return levelsForAw(addressWidth);
    }

    public static int levelsForAw(int aw) {
        return aw >= 1 && aw <= 3 ? aw + 2 : 0;
    }

    /** Adjusted guest address width in bits for the AW encoding (39, 48, 57), or 0. */
    public int agawBits() {
        int l = levels();
        return l == 0 ? 0 : 12 + 9 * l;
    }

    /** Reserved bits set, including SLPTPTR bits at or above the host address width (for TT != pass-through). */
    public boolean hasReservedBits(int hostAddressWidth) {
        if (reservedLo != 0 || reservedHi != 0) return true;
        return translationType != TT_PASS_THROUGH && (slptptr & ~Bits.addressMask(hostAddressWidth)) != 0;
    }
}

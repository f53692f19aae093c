package dev.vtd.platform.iommu.tables;

/**
 * Legacy-mode root entry (VT-d spec 9.1): 128 bits, one per bus.
 * lo: P (0), reserved (11:1), CTP (63:12); hi: reserved (63:0).
 */
public record RootEntry(boolean present, long contextTablePointer, long reservedLo, long reservedHi) {
    public static final int SIZE = 16;
    public static final long P = 1L;
    public static final long CTP_MASK = ~0xFFFL;
    public static final long RESERVED_LO = 0xFFEL;

    public static RootEntry decode(long lo, long hi) {
        return new RootEntry((lo & P) != 0, lo & CTP_MASK, lo & RESERVED_LO, hi);
    }

    public static RootEntry of(long contextTablePointer) {
        return new RootEntry(true, contextTablePointer & CTP_MASK, 0, 0);
    }

    public long lo() {
        return (present ? P : 0) | (contextTablePointer & CTP_MASK) | (reservedLo & RESERVED_LO);
    }

    public long hi() {
        return reservedHi;
    }

    public long[] encode() {
        return new long[] {lo(), hi()};
    }

    /** True if any reserved bit is set, including CTP bits at or above the host address width. */
    public boolean hasReservedBits(int hostAddressWidth) {
        return reservedLo != 0 || reservedHi != 0 || (contextTablePointer & ~Bits.addressMask(hostAddressWidth)) != 0;
    }
}

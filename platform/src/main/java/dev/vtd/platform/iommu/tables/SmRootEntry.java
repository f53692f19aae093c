package dev.vtd.platform.iommu.tables;

/**
 * Scalable-mode root entry (VT-d spec 9.2): 128 bits, one per bus. The lower half points at the
 * context table for devfn 0x00-0x7F, the upper half at the one for devfn 0x80-0xFF.
 * lo: LP (0), reserved (11:1), LCTP (63:12); hi: UP (64), reserved (75:65), UCTP (127:76).
 */
public record SmRootEntry(boolean lowerPresent, long lowerContextTablePointer, boolean upperPresent,
                          long upperContextTablePointer, long reservedLo, long reservedHi) {
    public static final int SIZE = 16;
    /** LP / UP: present bit of each half. */
    public static final long P = 1L;
    public static final long CTP_MASK = ~0xFFFL;
    public static final long RESERVED = 0xFFEL;
    /** devfn at or above this uses the upper context table. */
    public static final int UPPER_DEVFN = 0x80;

    public static SmRootEntry decode(long lo, long hi) {
        return new SmRootEntry((lo & P) != 0, lo & CTP_MASK, (hi & P) != 0, hi & CTP_MASK, lo & RESERVED, hi & RESERVED);
    }

    /** A root entry with either half present when its pointer is non-negative (-1 = not present). */
    public static SmRootEntry of(long lctp, long uctp) {
        return new SmRootEntry(lctp >= 0, lctp >= 0 ? lctp & CTP_MASK : 0, uctp >= 0, uctp >= 0 ? uctp & CTP_MASK : 0, 0, 0);
    }

    public long lo() {
        return (lowerPresent ? P : 0) | (lowerContextTablePointer & CTP_MASK) | (reservedLo & RESERVED);
    }

    public long hi() {
        return (upperPresent ? P : 0) | (upperContextTablePointer & CTP_MASK) | (reservedHi & RESERVED);
    }

    public long[] encode() {
        return new long[] {lo(), hi()};
    }

    /** Present bit of the half covering this devfn. */
    public boolean present(int devfn) {
        return (devfn & 0xFF) >= UPPER_DEVFN ? upperPresent : lowerPresent;
    }

    /** Context table pointer of the half covering this devfn. */
    public long contextTablePointer(int devfn) {
        return (devfn & 0xFF) >= UPPER_DEVFN ? upperContextTablePointer : lowerContextTablePointer;
    }

    /** Address of the 256-bit context entry for devfn (each half's table has 128 entries). */
    public long contextEntryAddress(int devfn) {
        return contextTablePointer(devfn) + (long) (devfn & 0x7F) * SmContextEntry.SIZE;
    }

    /**
     * Reserved bits in the half covering devfn, including its pointer bits at or above HAW
     * (only the half in use is checked: the other half may be left not present and unused).
     */
    public boolean hasReservedBits(int devfn, int hostAddressWidth) {
        boolean upper = (devfn & 0xFF) >= UPPER_DEVFN;
        long rsv = upper ? reservedHi : reservedLo;
        long ptr = upper ? upperContextTablePointer : lowerContextTablePointer;
        return rsv != 0 || (ptr & ~Bits.addressMask(hostAddressWidth)) != 0;
    }
}

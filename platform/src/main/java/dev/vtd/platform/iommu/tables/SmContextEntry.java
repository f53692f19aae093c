package dev.vtd.platform.iommu.tables;

/**
 * Scalable-mode context entry (VT-d spec 9.4): 256 bits, 128 per context table (one half of a bus).
 * <pre>
 * qw0: P (0), FPD (1), DTE (2, device-TLB enable), PASIDE (3, requests with PASID enable),
 *      PRE (4, page request enable), reserved (8:5), PDTS (11:9, PASID directory has 2^(PDTS+7)
 *      entries), PASIDDIRPTR (63:12)
 * qw1: RID_PASID (19:0, the PASID used for requests without PASID), RID_PRIV (20, their
 *      privilege when ECAP.RPRIVS), reserved (63:21)
 * qw2, qw3: reserved
 * </pre>
 */
public record SmContextEntry(boolean present, boolean faultProcessingDisable, boolean deviceTlbEnable,
                             boolean pasidEnable, boolean pageRequestEnable, int pasidDirSize, long pasidDirPointer,
                             int ridPasid, boolean ridPriv, long reserved0, long reserved1, long q2, long q3) {
    public static final int SIZE = 32;
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final long DTE = 1L << 2;
    public static final long PASIDE = 1L << 3;
    public static final long PRE = 1L << 4;
    public static final long RESERVED0 = Bits.range(8, 5);
    public static final int PDTS_SHIFT = 9;
    public static final long PDTS_MASK = 7L << PDTS_SHIFT;
    public static final long PASIDDIRPTR_MASK = ~0xFFFL;
    public static final long RID_PASID_MASK = 0xFFFFFL;
    public static final long RID_PRIV = 1L << 20;
    public static final long RESERVED1 = Bits.range(63, 21);

    public static SmContextEntry decode(long q0, long q1, long q2, long q3) {
        return new SmContextEntry((q0 & P) != 0, (q0 & FPD) != 0, (q0 & DTE) != 0, (q0 & PASIDE) != 0, (q0 & PRE) != 0,
                (int) ((q0 & PDTS_MASK) >>> PDTS_SHIFT), q0 & PASIDDIRPTR_MASK, (int) (q1 & RID_PASID_MASK),
                (q1 & RID_PRIV) != 0, q0 & RESERVED0, q1 & RESERVED1, q2, q3);
    }

    public static SmContextEntry decode(long[] q) {
        return decode(q[0], q[1], q[2], q[3]);
    }

    /** A present entry pointing at a PASID directory of 2^(pdts+7) entries. */
    public static SmContextEntry of(long pasidDir, int pdts, int ridPasid) {
        return new SmContextEntry(true, false, false, false, false, pdts & 7, pasidDir & PASIDDIRPTR_MASK,
                ridPasid & (int) RID_PASID_MASK, false, 0, 0, 0, 0);
    }

    public SmContextEntry withDeviceTlb(boolean on) {
        return new SmContextEntry(present, faultProcessingDisable, on, pasidEnable, pageRequestEnable, pasidDirSize,
                pasidDirPointer, ridPasid, ridPriv, reserved0, reserved1, q2, q3);
    }

    public SmContextEntry withPasidEnable(boolean on) {
        return new SmContextEntry(present, faultProcessingDisable, deviceTlbEnable, on, pageRequestEnable, pasidDirSize,
                pasidDirPointer, ridPasid, ridPriv, reserved0, reserved1, q2, q3);
    }

    public SmContextEntry withPageRequest(boolean on) {
        return new SmContextEntry(present, faultProcessingDisable, deviceTlbEnable, pasidEnable, on, pasidDirSize,
                pasidDirPointer, ridPasid, ridPriv, reserved0, reserved1, q2, q3);
    }

    public SmContextEntry withFpd(boolean on) {
        return new SmContextEntry(present, on, deviceTlbEnable, pasidEnable, pageRequestEnable, pasidDirSize,
                pasidDirPointer, ridPasid, ridPriv, reserved0, reserved1, q2, q3);
    }

    public SmContextEntry withRidPriv(boolean on) {
        return new SmContextEntry(present, faultProcessingDisable, deviceTlbEnable, pasidEnable, pageRequestEnable,
                pasidDirSize, pasidDirPointer, ridPasid, on, reserved0, reserved1, q2, q3);
    }

    public long q0() {
        return (present ? P : 0) | (faultProcessingDisable ? FPD : 0) | (deviceTlbEnable ? DTE : 0)
                | (pasidEnable ? PASIDE : 0) | (pageRequestEnable ? PRE : 0) | (reserved0 & RESERVED0)
                | ((long) (pasidDirSize & 7) << PDTS_SHIFT) | (pasidDirPointer & PASIDDIRPTR_MASK);
    }

    public long q1() {
        return (ridPasid & RID_PASID_MASK) | (ridPriv ? RID_PRIV : 0) | (reserved1 & RESERVED1);
    }

    public long[] encode() {
        return new long[] {q0(), q1(), q2, q3};
    }

    /** Number of PASID directory entries: 2^(PDTS + 7). */
    public int pasidDirEntries() {
        return 1 << (pasidDirSize + 7);
    }

    /** Largest PASID this entry's PASID directory can reach (each directory entry covers 64 PASIDs). */
    public int maxPasid() {
        return pasidDirEntries() * PasidDirEntry.PASIDS_PER_TABLE - 1;
    }

    /**
     * Reserved bits set: qw0 8:5, qw1 63:21 (RID_PRIV too without ECAP.RPRIVS), qw2, qw3, and
     * PASIDDIRPTR bits at or above HAW.
     */
    public boolean hasReservedBits(int hostAddressWidth, boolean ridPrivSupported) {
        return reserved0 != 0 || reserved1 != 0 || q2 != 0 || q3 != 0 || (ridPriv && !ridPrivSupported)
                || (pasidDirPointer & ~Bits.addressMask(hostAddressWidth)) != 0;
    }
}

package dev.vtd.platform.iommu.prq;

/**
 * A page request descriptor as the unit writes it into the page request queue (VT-d spec 7.5.1.1):
 * 256 bits.
 * <pre>
 * qw0: type (7:0, 1 = page request), PP (8, PASID present), PDP (9, private data present),
 *      reserved (15:10), RID (31:16), PASID (51:32), ER (52, execute requested), PM (53, privileged
 *      mode requested), reserved (63:54)
 * qw1: RD (0), WR (1), LPIG (2, last page in group), PRGI (11:3, page request group index),
 *      ADDR (63:12)
 * qw2, qw3: private data
 * </pre>
 */
public record PageRequestDescriptor(int requesterId, boolean pasidPresent, int pasid, boolean execute,
                                    boolean privileged, boolean read, boolean write, boolean lastInGroup,
                                    int groupIndex, long address, boolean privateDataPresent, long privateData0,
                                    long privateData1) {
    public static final int SIZE = 32;
    public static final long TYPE_PAGE_REQUEST = 1;
    public static final long TYPE_MASK = 0xFF;
    public static final long PP = 1L << 8, PDP = 1L << 9;
    public static final int RID_SHIFT = 16, PASID_SHIFT = 32;
    public static final long PASID_MASK = 0xFFFFFL;
    public static final long ER = 1L << 52, PM = 1L << 53;
    public static final long RD = 1, WR = 1L << 1, LPIG = 1L << 2;
    public static final int PRGI_SHIFT = 3;
    public static final long PRGI_MASK = 0x1FF;
    public static final long ADDR_MASK = ~0xFFFL;

    public long[] encode() {
        long q0 = TYPE_PAGE_REQUEST | (pasidPresent ? PP : 0) | (privateDataPresent ? PDP : 0)
                | ((long) (requesterId & 0xFFFF) << RID_SHIFT) | ((pasid & PASID_MASK) << PASID_SHIFT)
                | (execute ? ER : 0) | (privileged ? PM : 0);
        long q1 = (read ? RD : 0) | (write ? WR : 0) | (lastInGroup ? LPIG : 0)
                | ((groupIndex & PRGI_MASK) << PRGI_SHIFT) | (address & ADDR_MASK);
        return new long[] {q0, q1, privateData0, privateData1};
    }

    public static PageRequestDescriptor decode(long q0, long q1, long q2, long q3) {
        return new PageRequestDescriptor((int) ((q0 >>> RID_SHIFT) & 0xFFFF), (q0 & PP) != 0,
                (int) ((q0 >>> PASID_SHIFT) & PASID_MASK), (q0 & ER) != 0, (q0 & PM) != 0, (q1 & RD) != 0,
                (q1 & WR) != 0, (q1 & LPIG) != 0, (int) ((q1 >>> PRGI_SHIFT) & PRGI_MASK), q1 & ADDR_MASK,
                (q0 & PDP) != 0, q2, q3);
    }
}

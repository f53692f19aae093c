package dev.vtd.platform.iommu.tables;

/**
 * Second-stage (second-level) paging entry (VT-d spec 9.8): SL-PML5E, SL-PML4E, SL-PDPE, SL-PDE, SL-PTE.
 * R (0), W (1), EMT (5:3), IPAT (6), PS (7, in PDPE/PDE: maps a 1 GiB / 2 MiB page), A (8), D (9),
 * SNP (11), ADDR (51:12), TM (62). Not present when R = W = 0.
 */
public final class SlPte {
    private SlPte() {}

    public static final long R = 1L;
    public static final long W = 1L << 1;
    public static final long EMT_MASK = 7L << 3;
    public static final long IPAT = 1L << 6;
    public static final long PS = 1L << 7;
    public static final long A = 1L << 8;
    public static final long D = 1L << 9;
    public static final long SNP = 1L << 11;
    public static final long ADDR_MASK = Bits.range(51, 12);
    public static final long TM = 1L << 62;

    /*
     * Reserved bits (9.8, "Format for Second-Stage Paging Entries"), besides address bits 51:HAW of every entry.
     * An entry that references a table (SL-PML5E, SL-PML4E, SL-PDPE and SL-PDE with PS = 0) has no SNP, TM or PS:
     * bits 7, 11 and 62 must be 0 whatever ECAP.SC and ECAP.DT say. A leaf has SNP (reserved when ECAP.SC = 0)
     * and TM (reserved when ECAP.DT = 0); a 2 MiB / 1 GiB leaf's address bits below its size are reserved.
     */
    /** Bits 7, 11 and 62: reserved in every entry that references a table. */
    public static final long TABLE_RESERVED = PS | SNP | TM;
    /** A 2 MiB leaf (SL-PDE with PS = 1): address bits 20:12. */
    public static final long LARGE_2M_RESERVED = Bits.range(20, 12);
    /** A 1 GiB leaf (SL-PDPE with PS = 1): address bits 29:12. */
    public static final long LARGE_1G_RESERVED = Bits.range(29, 12);

    /**
     * The reserved bits of an entry at {@code level} (1 = SL-PTE ... 5 = SL-PML5E) other than the address bits
     * at or above HAW; {@code large} when PS = 1 at level 2 or 3.
     */
    public static long reservedMask(int level, boolean large, boolean snoopControl, boolean deviceTlb) {
        if (level > 1 && !large) return level >= 4 ? TABLE_RESERVED : SNP | TM;   // PS = 0 here by definition
        long m = (snoopControl ? 0 : SNP) | (deviceTlb ? 0 : TM);
        if (large) m |= level == 2 ? LARGE_2M_RESERVED : LARGE_1G_RESERVED;
        return m;
    }

    public static boolean present(long pte) {
        return (pte & (R | W)) != 0;
    }

    /** A table entry pointing at the next-level table, with the given permissions. */
    public static long table(long nextTable, boolean read, boolean write) {
        return (nextTable & ADDR_MASK) | (read ? R : 0) | (write ? W : 0);
    }

    /** A leaf entry mapping a page at pa (PS set when {@code large}). */
    public static long leaf(long pa, boolean read, boolean write, boolean large) {
        return (pa & ADDR_MASK) | (read ? R : 0) | (write ? W : 0) | (large ? PS : 0);
    }

    /** Page-size shift of a level's leaf: level 1 = 12 (4 KiB), 2 = 21 (2 MiB), 3 = 30 (1 GiB), ... */
    public static int shiftOfLevel(int level) {
        return 12 + 9 * (level - 1);
    }

    public static String describe(long pte, int level) {
        StringBuilder sb = new StringBuilder(String.format("0x%016x", pte));
        if (!present(pte)) return sb.append(" not present").toString();
        sb.append(String.format(" addr=0x%x", pte & ADDR_MASK));
        sb.append((pte & R) != 0 ? " R" : " -").append((pte & W) != 0 ? "W" : "-");
        if (level > 1 && (pte & PS) != 0) sb.append(" PS");
        if ((pte & SNP) != 0) sb.append(" SNP");
        if ((pte & TM) != 0) sb.append(" TM");
        return sb.toString();
    }
}

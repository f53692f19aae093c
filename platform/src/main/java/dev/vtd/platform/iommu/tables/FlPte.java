package dev.vtd.platform.iommu.tables;

/**
 * First-stage paging entry (VT-d spec 9.7, the IA-32e 4- and 5-level format): FL-PML5E, FL-PML4E,
 * FL-PDPE, FL-PDE, FL-PTE.
 * P (0), R/W (1), U/S (2), PWT (3), PCD (4), A (5), D (6, leaf), PS (7, in PDPE/PDE: maps a 1 GiB /
 * 2 MiB page), G (8, leaf), PAT (12 in a large leaf; 7 in a 4 KiB leaf), ADDR (51:12), XD (63).
 * Bits 11:9 and 62:52 are ignored.
 */
public final class FlPte {
    private FlPte() {}

    public static final long P = 1L;
    public static final long RW = 1L << 1;
    public static final long US = 1L << 2;
    public static final long PWT = 1L << 3;
    public static final long PCD = 1L << 4;
    public static final long A = 1L << 5;
    public static final long D = 1L << 6;
    public static final long PS = 1L << 7;
    public static final long G = 1L << 8;
    public static final long PAT_LARGE = 1L << 12;
    public static final long ADDR_MASK = Bits.range(51, 12);
    public static final long XD = 1L << 63;

    public static boolean present(long pte) {
        return (pte & P) != 0;
    }

    /** A table entry pointing at the next-level table. */
    public static long table(long next, boolean write, boolean user) {
        return (next & ADDR_MASK) | P | (write ? RW : 0) | (user ? US : 0);
    }

    /** A leaf entry mapping a page at pa (PS set when {@code large}). */
    public static long leaf(long pa, boolean write, boolean user, boolean large, boolean executeDisable) {
        return (pa & ADDR_MASK) | P | (write ? RW : 0) | (user ? US : 0) | (large ? PS : 0)
                | (executeDisable ? XD : 0);
    }

    public static int shiftOfLevel(int level) {
        return SlPte.shiftOfLevel(level);
    }

    /** Levels whose entries may map a page (PS): 2 (2 MiB) and 3 (1 GiB). */
    public static boolean mayBeLarge(int level) {
        return level == 2 || level == 3;
    }

    public static String describe(long pte, int level) {
        StringBuilder sb = new StringBuilder(String.format("0x%016x", pte));
        if (!present(pte)) return sb.append(" not present").toString();
        boolean large = mayBeLarge(level) && (pte & PS) != 0;
        long addr = pte & ADDR_MASK & (large ? ~PAT_LARGE : -1L);
        sb.append(String.format(" addr=0x%x", addr));
        sb.append((pte & RW) != 0 ? " RW" : " RO").append((pte & US) != 0 ? " user" : " supervisor");
        if ((pte & A) != 0) sb.append(" A");
        if ((pte & D) != 0 && (level == 1 || large)) sb.append(" D");
        if (large) sb.append(level == 3 ? " PS(1G)" : " PS(2M)");
        if ((pte & G) != 0 && (level == 1 || large)) sb.append(" G");
        if ((pte & PWT) != 0) sb.append(" PWT");
        if ((pte & PCD) != 0) sb.append(" PCD");
        if ((pte & XD) != 0) sb.append(" XD");
        return sb.toString();
    }
}

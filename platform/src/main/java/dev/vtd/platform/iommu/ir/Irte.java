package dev.vtd.platform.iommu.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * An interrupt-remapping table entry (VT-d spec 9.10 remapped format, 9.11 posted format), 128
 * bits as two qwords. One record holds both formats; {@link #posted()} (IM, bit 15) says which
 * fields apply.
 *
 * <p>Remapped (IM = 0): P 0, FPD 1, DM 2, RH 3, TM 4, DLM 7:5, AVL 11:8, IM 15, V 23:16, DST 63:32,
 * SID 79:64, SQ 81:80, SVT 83:82. Posted (IM = 1): P, FPD, AVL, URG 14, IM, V, PDA_L 63:38 (address
 * bits 31:6), SID/SQ/SVT, PDA_H 127:96 (address bits 63:32).
 */
public record Irte(boolean present, boolean fpd, boolean posted, int vector, int sid, int sq, int svt, int avail,
                   // remapped format
                   boolean logicalDestination, boolean redirectionHint, boolean levelTriggered, int deliveryMode,
                   int destination,
                   // posted format
                   boolean urgent, long descriptorAddress,
                   long rawLo, long rawHi) {
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final long DM = 1L << 2;
    public static final long RH = 1L << 3;
    public static final long TM = 1L << 4;
    public static final int DLM_SHIFT = 5;
    public static final long DLM_MASK = 7L << DLM_SHIFT;
    public static final int AVL_SHIFT = 8;
    public static final long AVL_MASK = 0xFL << AVL_SHIFT;
    public static final long URG = 1L << 14;
    public static final long IM = 1L << 15;
    public static final int VECTOR_SHIFT = 16;
    public static final long VECTOR_MASK = 0xFFL << VECTOR_SHIFT;
    public static final int DST_SHIFT = 32;
    /** xAPIC mode: the 8-bit APIC ID sits in DST bits 15:8 (IRTE bits 47:40). */
    public static final int DST_XAPIC_SHIFT = 40;
    public static final long DST_XAPIC_MASK = 0xFFL << DST_XAPIC_SHIFT;
    public static final int PDA_LO_SHIFT = 38;
    public static final long PDA_LO_MASK = 0x3FF_FFFFL << PDA_LO_SHIFT;   // address bits 31:6
    // High qword.
    public static final long HI_SID_MASK = 0xFFFF;
    public static final int HI_SQ_SHIFT = 16;
    public static final int HI_SVT_SHIFT = 18;
    public static final int HI_PDA_SHIFT = 32;
    public static final int SVT_NONE = 0, SVT_SID = 1, SVT_BUS_RANGE = 2;

    /** Defined bits of the low qword in remapped format (xAPIC DST checked separately). */
    public static final long LO_REMAPPED_DEFINED = P | FPD | DM | RH | TM | DLM_MASK | AVL_MASK | IM | VECTOR_MASK
            | (0xFFFF_FFFFL << DST_SHIFT);
    public static final long LO_POSTED_DEFINED = P | FPD | AVL_MASK | URG | IM | VECTOR_MASK | PDA_LO_MASK;
    public static final long HI_REMAPPED_DEFINED = HI_SID_MASK | (3L << HI_SQ_SHIFT) | (3L << HI_SVT_SHIFT);
    public static final long HI_POSTED_DEFINED = HI_REMAPPED_DEFINED | (0xFFFF_FFFFL << HI_PDA_SHIFT);

    public static Irte decode(long lo, long hi) {
        boolean posted = (lo & IM) != 0;
        int sid = (int) (hi & HI_SID_MASK);
        int sq = (int) ((hi >>> HI_SQ_SHIFT) & 3);
        int svt = (int) ((hi >>> HI_SVT_SHIFT) & 3);
        long pda = (lo & PDA_LO_MASK) >>> (PDA_LO_SHIFT - 6) | ((hi >>> HI_PDA_SHIFT) << 32);
        return new Irte((lo & P) != 0, (lo & FPD) != 0, posted, (int) ((lo & VECTOR_MASK) >>> VECTOR_SHIFT), sid, sq,
                svt, (int) ((lo & AVL_MASK) >>> AVL_SHIFT), (lo & DM) != 0, (lo & RH) != 0, (lo & TM) != 0,
                (int) ((lo & DLM_MASK) >>> DLM_SHIFT), (int) (lo >>> DST_SHIFT), (lo & URG) != 0,
                posted ? pda : 0, lo, hi);
    }

    /** A present remapped-format entry. {@code destination} is the raw 32-bit DST field. */
    public static Irte remapped(int vector, int destination, boolean logical, boolean redirectionHint,
                                boolean level, int deliveryMode) {
        long lo = P | (logical ? DM : 0) | (redirectionHint ? RH : 0) | (level ? TM : 0)
                | ((long) (deliveryMode & 7) << DLM_SHIFT) | ((long) (vector & 0xFF) << VECTOR_SHIFT)
                | ((destination & 0xFFFF_FFFFL) << DST_SHIFT);
        return decode(lo, 0);
    }

    /** The DST field for an xAPIC (8-bit) APIC ID with IRTA.EIME = 0. */
    public static int xapicDestination(int apicId) {
        return (apicId & 0xFF) << 8;
    }

    /** A present posted-format entry (9.11). */
    public static Irte postedEntry(int vector, long descriptorAddress, boolean urgent) {
        long lo = P | IM | (urgent ? URG : 0) | ((long) (vector & 0xFF) << VECTOR_SHIFT)
                | ((descriptorAddress << (PDA_LO_SHIFT - 6)) & PDA_LO_MASK);
        long hi = (descriptorAddress >>> 32) << HI_PDA_SHIFT;
        return decode(lo, hi);
    }

    public Irte withSourceValidation(int svt, int sq, int sid) {
        long hi = (rawHi & ~HI_REMAPPED_DEFINED) | (sid & HI_SID_MASK) | ((long) (sq & 3) << HI_SQ_SHIFT)
                | ((long) (svt & 3) << HI_SVT_SHIFT);
        return decode(rawLo, hi);
    }

    public Irte withFpd(boolean on) {
        return decode(on ? rawLo | FPD : rawLo & ~FPD, rawHi);
    }

    public Irte withPresent(boolean on) {
        return decode(on ? rawLo | P : rawLo & ~P, rawHi);
    }

    public long[] encode() {
        return new long[]{rawLo, rawHi};
    }

    /**
     * Reserved bits set in this entry for a unit with the given support (fault 0x24), or 0.
     * xAPIC mode (EIME = 0) reserves DST bits 7:0 and 31:16; IM = 1 without CAP.PI, and SVT = 11b,
     * are reserved too; a posted descriptor address above the host address width is reserved.
     */
    public boolean hasReservedBits(boolean eime, boolean postedSupported, int hostAddressWidth) {
        if (svt == 3) return true;
        if (posted) {
            if (!postedSupported) return true;
            if ((rawLo & ~LO_POSTED_DEFINED) != 0 || (rawHi & ~HI_POSTED_DEFINED) != 0) return true;
            return hostAddressWidth < 64 && (descriptorAddress >>> hostAddressWidth) != 0;
        }
        if ((rawLo & ~LO_REMAPPED_DEFINED) != 0 || (rawHi & ~HI_REMAPPED_DEFINED) != 0) return true;
        return !eime && (rawLo & (0xFFFF_FFFFL << DST_SHIFT) & ~DST_XAPIC_MASK) != 0;
    }

    /** The destination APIC ID: DST[15:8] in xAPIC mode, all 32 bits in x2APIC mode (EIME = 1). */
    public int apicId(boolean eime) {
        return eime ? destination : (destination >>> 8) & 0xFF;
    }

    /** One named field of the entry, for explanations. */
    public record Field(String name, String bits, String value) {}

    /** Every field of the entry in the format it is in, as the specification names them. */
    public List<Field> fields() {
        List<Field> f = new ArrayList<>();
        f.add(new Field("P", "0", present ? "1 (present)" : "0 (not present)"));
        f.add(new Field("FPD", "1", fpd ? "1 (fault processing disabled)" : "0 (faults recorded)"));
        if (!posted) {
            f.add(new Field("DM", "2", logicalDestination ? "1 (logical)" : "0 (physical)"));
            f.add(new Field("RH", "3", redirectionHint ? "1 (redirectable)" : "0 (directed)"));
            f.add(new Field("TM", "4", levelTriggered ? "1 (level)" : "0 (edge)"));
            f.add(new Field("DLM", "7:5", deliveryMode + " (" + deliveryModeName(deliveryMode) + ")"));
        }
        f.add(new Field("AVL", "11:8", String.format("0x%x", avail)));
        if (posted) f.add(new Field("URG", "14", urgent ? "1 (urgent: ignores SN)" : "0"));
        f.add(new Field("IM", "15", posted ? "1 (posted)" : "0 (remapped)"));
        f.add(new Field("V", "23:16", String.format("0x%02x (%d)", vector, vector)));
        if (!posted) {
            f.add(new Field("DST", "63:32", String.format("0x%08x (xAPIC ID 0x%02x if EIME=0; x2APIC ID 0x%x if EIME=1)",
                    destination, apicId(false), destination)));
        } else {
            f.add(new Field("PDA", "127:96,63:38", String.format("0x%x (posted-interrupt descriptor)", descriptorAddress)));
        }
        f.add(new Field("SID", "79:64", String.format("0x%04x (%02x:%02x.%d)", sid, sid >>> 8, (sid >>> 3) & 0x1F, sid & 7)));
        f.add(new Field("SQ", "81:80", sq + " (" + sqMeaning(sq) + ")"));
        f.add(new Field("SVT", "83:82", svt + " (" + svtMeaning(svt) + ")"));
        return f;
    }

    public static String deliveryModeName(int dlm) {
        return switch (dlm & 7) {
            case 0 -> "fixed";
            case 1 -> "lowest priority";
            case 2 -> "SMI";
            case 4 -> "NMI";
            case 5 -> "INIT";
            case 7 -> "ExtINT";
            default -> "reserved";
        };
    }

    static String sqMeaning(int sq) {
        return switch (sq) {
            case 0 -> "compare all 16 bits";
            case 1 -> "ignore SID bit 2";
            case 2 -> "ignore SID bits 2:1";
            default -> "ignore SID bits 2:0";
        };
    }

    static String svtMeaning(int svt) {
        return switch (svt) {
            case SVT_NONE -> "no source validation";
            case SVT_SID -> "verify requester ID against SID with SQ";
            case SVT_BUS_RANGE -> "verify requester bus in SID[15:8]..SID[7:0]";
            default -> "reserved";
        };
    }
}

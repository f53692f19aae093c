package dev.vtd.platform.iommu.regs;

import java.util.List;

/**
 * Capability Register (VT-d spec 11.4.2). An immutable value; every field named as the
 * specification names it, readable and settable through {@link #FIELDS}.
 */
public record Cap(long raw) {
    public static final BitField ND = new BitField("ND", 2, 0, "Number of Domains supported",
            v -> v <= 6 ? v + " (" + (1L << (4 + 2 * v)) + " domains)" : v + " (reserved)");
    public static final BitField AFL = new BitField("AFL", 3, 3, "Advanced Fault Logging", BitField::yesNo);
    public static final BitField RWBF = new BitField("RWBF", 4, 4, "Required Write-Buffer Flushing", BitField::yesNo);
    public static final BitField PLMR = new BitField("PLMR", 5, 5, "Protected Low-Memory Region", BitField::yesNo);
    public static final BitField PHMR = new BitField("PHMR", 6, 6, "Protected High-Memory Region", BitField::yesNo);
    public static final BitField CM = new BitField("CM", 7, 7, "Caching Mode",
            v -> v != 0 ? "1 (not-present and erroneous entries may be cached)" : "0 (only present entries cached)");
    public static final BitField SAGAW = new BitField("SAGAW", 12, 8, "Supported Adjusted Guest Address Widths",
            Cap::describeSagaw);
    public static final BitField MGAW = new BitField("MGAW", 21, 16, "Maximum Guest Address Width",
            v -> v + " (" + (v + 1) + " bits)");
    public static final BitField ZLR = new BitField("ZLR", 22, 22, "Zero Length Read", BitField::yesNo);
    public static final BitField FRO = new BitField("FRO", 33, 24, "Fault-recording Register Offset",
            v -> String.format("0x%x (byte offset 0x%x)", v, v * 16));
    public static final BitField SLLPS = new BitField("SLLPS", 37, 34, "Second Level Large Page Support",
            v -> describeLargePages(v));
    public static final BitField PSI = new BitField("PSI", 39, 39, "Page Selective Invalidation", BitField::yesNo);
    public static final BitField NFR = new BitField("NFR", 47, 40, "Number of Fault-recording Registers",
            v -> v + " (" + (v + 1) + " register" + (v == 0 ? "" : "s") + ")");
    public static final BitField MAMV = new BitField("MAMV", 53, 48, "Maximum Address Mask Value",
            v -> v + " (up to " + (1L << v) + " pages per page-selective invalidation)");
    public static final BitField DWD = new BitField("DWD", 54, 54, "Write Draining", BitField::yesNo);
    public static final BitField DRD = new BitField("DRD", 55, 55, "Read Draining", BitField::yesNo);
    public static final BitField FL1GP = new BitField("FL1GP", 56, 56, "First Level 1-GByte Page Support", BitField::yesNo);
    public static final BitField PI = new BitField("PI", 59, 59, "Posted Interrupts Support", BitField::yesNo);
    public static final BitField FL5LP = new BitField("FL5LP", 60, 60, "First Level 5-level Paging Support", BitField::yesNo);
    public static final BitField ECMDS = new BitField("ECMDS", 61, 61, "Enhanced Command Support", BitField::yesNo);
    public static final BitField ESIRTPS = new BitField("ESIRTPS", 62, 62,
            "Enhanced Set Interrupt Remap Table Pointer Support", BitField::yesNo);
    public static final BitField ESRTPS = new BitField("ESRTPS", 63, 63, "Enhanced Set Root Table Pointer Support",
            BitField::yesNo);

    /** Every field, in bit order. */
    public static final List<BitField> FIELDS = List.of(ND, AFL, RWBF, PLMR, PHMR, CM, SAGAW, MGAW, ZLR, FRO, SLLPS,
            PSI, NFR, MAMV, DWD, DRD, FL1GP, PI, FL5LP, ECMDS, ESIRTPS, ESRTPS);

    /** Bits that are reserved (read as zero) in CAP. */
    public static final long RESERVED_MASK = reservedMask(FIELDS);

    static long reservedMask(List<BitField> fields) {
        long m = 0;
        for (BitField f : fields) m |= f.mask();
        return ~m;
    }

    public static String describeSagaw(long v) {
        StringBuilder sb = new StringBuilder(String.format("0x%x (", v));
        String sep = "";
        if ((v & 0x2) != 0) { sb.append(sep).append("39-bit 3-level"); sep = ", "; }
        if ((v & 0x4) != 0) { sb.append(sep).append("48-bit 4-level"); sep = ", "; }
        if ((v & 0x8) != 0) { sb.append(sep).append("57-bit 5-level"); sep = ", "; }
        if ((v & ~0xEL) != 0) { sb.append(sep).append("reserved bits set"); sep = ", "; }
        if (sep.isEmpty()) sb.append("none");
        return sb.append(')').toString();
    }

    static String describeLargePages(long v) {
        StringBuilder sb = new StringBuilder(String.format("0x%x (4KiB", v));
        if ((v & 1) != 0) sb.append(", 2MiB");
        if ((v & 2) != 0) sb.append(", 1GiB");
        if ((v & 4) != 0) sb.append(", 512GiB");
        if ((v & 8) != 0) sb.append(", 1TiB");
        return sb.append(')').toString();
    }

    public long get(BitField f) {
        return f.get(raw);
    }

    public Cap with(BitField f, long value) {
        return new Cap(f.set(raw, value));
    }

    // Typed accessors used by the hardware model.
    public int nd() { return (int) ND.get(raw); }
    public long domainCount() { return 1L << (4 + 2 * Math.min(nd(), 6)); }
    public boolean rwbf() { return RWBF.get(raw) != 0; }
    public boolean plmr() { return PLMR.get(raw) != 0; }
    public boolean phmr() { return PHMR.get(raw) != 0; }
    public boolean cachingMode() { return CM.get(raw) != 0; }
    public int sagaw() { return (int) SAGAW.get(raw); }
    /** Maximum guest address width in bits (MGAW + 1). */
    public int mgawBits() { return (int) MGAW.get(raw) + 1; }
    public boolean zlr() { return ZLR.get(raw) != 0; }
    /** Byte offset of the first fault recording register. */
    public int froBytes() { return (int) FRO.get(raw) * 16; }
    public int sllps() { return (int) SLLPS.get(raw); }
    public boolean psi() { return PSI.get(raw) != 0; }
    /** Number of fault recording registers (NFR + 1). */
    public int faultRecordCount() { return (int) NFR.get(raw) + 1; }
    public int mamv() { return (int) MAMV.get(raw); }
    public boolean fl1gp() { return FL1GP.get(raw) != 0; }
    public boolean pi() { return PI.get(raw) != 0; }
    public boolean fl5lp() { return FL5LP.get(raw) != 0; }
    public boolean esrtps() { return ESRTPS.get(raw) != 0; }
    public boolean esirtps() { return ESIRTPS.get(raw) != 0; }

    /** True if SAGAW advertises the given paging depth (3, 4 or 5 levels). */
    public boolean supportsLevels(int levels) {
        return levels >= 3 && levels <= 5 && (sagaw() & (1 << (levels - 2))) != 0;
    }

    @Override
    public String toString() {
        return String.format("CAP 0x%x", raw);
    }
}

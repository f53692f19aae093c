package dev.vtd.firmware.acpi.ivrs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An ACPI IVRS table: ACPI header fields, IVinfo and the subtables in table order. Length and checksum are
 * computed by {@link #encode()}.
 *
 * @param notes what the parser tolerated but does not keep (non-zero reserved bytes), with offsets
 */
public record IvrsTable(int revision, String oemId, String oemTableId, long oemRevision, String creatorId,
                        long creatorRevision, long ivInfo, List<IvrsSubtable> subtables, List<String> notes) {
    public IvrsTable {
        Ivrs.checkUnsigned("revision", revision, 8);
        oemId = fixed("OEM ID", oemId, 6);
        oemTableId = fixed("OEM table ID", oemTableId, 8);
        creatorId = fixed("creator ID", creatorId, 4);
        Ivrs.checkUnsigned("OEM revision", oemRevision, 32);
        Ivrs.checkUnsigned("creator revision", creatorRevision, 32);
        Ivrs.checkUnsigned("IVinfo", ivInfo, 32);
        subtables = List.copyOf(subtables);
        notes = List.copyOf(notes);
    }

    /** A table as vtd's firmware builds it: revision 2, OEM revision 1, creator "VTD " revision 1. */
    public static IvrsTable of(String oemId, String oemTableId, long ivInfo, List<IvrsSubtable> subtables) {
        return new IvrsTable(2, oemId, oemTableId, 1, "VTD ", 1, ivInfo, subtables, List.of());
    }

    /** IVinfo for the given sizes: EFRSup, DmaRemapSup, GVASize (3 bits), PASize and VASize (7 bits each). */
    public static long ivInfo(boolean efrSup, boolean dmaRemapSup, int gvaSize, int paSize, int vaSize, boolean htAtsResv) {
        Ivrs.checkUnsigned("GVASize", gvaSize, 3);
        Ivrs.checkUnsigned("PASize", paSize, 7);
        Ivrs.checkUnsigned("VASize", vaSize, 7);
        return (efrSup ? 1 : 0) | (dmaRemapSup ? 2 : 0) | gvaSize << 5 | paSize << 8 | (long) vaSize << 15
                | (htAtsResv ? Ivrs.IVINFO_HT_ATS_RESV : 0);
    }

    private static String fixed(String what, String value, int length) {
        if (value.length() > length || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
            throw new IllegalArgumentException(what + " '" + value + "' must be at most " + length
                    + " single-byte characters");
        }
        return value + " ".repeat(length - value.length());
    }

    public boolean efrSup() {
        return (ivInfo & Ivrs.IVINFO_EFR_SUP) != 0;
    }

    public boolean dmaRemapSup() {
        return (ivInfo & Ivrs.IVINFO_DMA_REMAP_SUP) != 0;
    }

    /** Guest virtual address size code (bits 7:5; 2 = 48 bits, as Linux reads it). */
    public int gvaSize() {
        return (int) (ivInfo >>> 5) & 7;
    }

    /** Physical address size in bits (bits 14:8). */
    public int paSize() {
        return (int) (ivInfo >>> 8) & 0x7F;
    }

    /** Virtual address size in bits (bits 21:15). */
    public int vaSize() {
        return (int) (ivInfo >>> 15) & 0x7F;
    }

    public boolean htAtsResv() {
        return (ivInfo & Ivrs.IVINFO_HT_ATS_RESV) != 0;
    }

    public int length() {
        int n = Ivrs.HEADER_LENGTH;
        for (IvrsSubtable s : subtables) n += s.length();
        return n;
    }

    public List<IvrsSubtable.Ivhd> ivhds() {
        return subtables.stream().filter(IvrsSubtable.Ivhd.class::isInstance).map(IvrsSubtable.Ivhd.class::cast).toList();
    }

    public List<IvrsSubtable.Ivmd> ivmds() {
        return subtables.stream().filter(IvrsSubtable.Ivmd.class::isInstance).map(IvrsSubtable.Ivmd.class::cast).toList();
    }

    static String upToNul(String s) {
        int nul = s.indexOf('\0');
        return nul < 0 ? s : s.substring(0, nul);
    }

    /** The binary table with its length and checksum filled in (ACPI 5.2.6). */
    public byte[] encode() {
        int length = length();
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Ivrs.SIGNATURE.getBytes(StandardCharsets.US_ASCII)).putInt(length).put((byte) revision).put((byte) 0);
        b.put(oemId.getBytes(StandardCharsets.ISO_8859_1)).put(oemTableId.getBytes(StandardCharsets.ISO_8859_1));
        b.putInt((int) oemRevision).put(creatorId.getBytes(StandardCharsets.ISO_8859_1)).putInt((int) creatorRevision);
        b.putInt((int) ivInfo).putLong(0);
        for (IvrsSubtable s : subtables) s.encodeTo(b);
        byte[] out = b.array();
        out[Ivrs.OFF_CHECKSUM] = (byte) -sum(out);
        return out;
    }

    public static int sum(byte[] bytes) {
        int s = 0;
        for (byte x : bytes) s += x;
        return s & 0xFF;
    }
}

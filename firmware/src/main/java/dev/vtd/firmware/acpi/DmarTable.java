package dev.vtd.firmware.acpi;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An ACPI DMAR table (VT-d spec 8.1): the ACPI header, the DMAR header fields and the remapping structures in
 * table order. Length and checksum are not stored: {@link DmarEncoder} computes them.
 *
 * @param revision              table revision (1 in most firmware, 2 in some newer)
 * @param oemId                 6 characters as in the table (shorter values are padded with spaces)
 * @param oemTableId            8 characters as in the table (shorter values are padded with spaces)
 * @param oemRevision           unsigned 32-bit
 * @param creatorId             4 characters, the "ASL compiler id" (shorter values are padded with spaces)
 * @param creatorRevision       unsigned 32-bit
 * @param hostAddressWidthField the table's byte: maximum DMA physical address width minus one
 * @param flags                 {@link Dmar#FLAG_INTR_REMAP}, {@link Dmar#FLAG_X2APIC_OPT_OUT},
 *                              {@link Dmar#FLAG_DMA_CTRL_PLATFORM_OPT_IN}
 * @param structures            remapping structures in table order
 * @param notes                 what the parser tolerated but did not keep (non-zero reserved bytes), with
 *                              offsets; empty for built tables and for tables that re-encode byte for byte
 */
public record DmarTable(int revision, String oemId, String oemTableId, long oemRevision, String creatorId,
                        long creatorRevision, int hostAddressWidthField, int flags,
                        List<DmarStructure> structures, List<String> notes) {

    public DmarTable {
        Dmar.checkUnsigned("revision", revision, 8);
        oemId = fixed("OEM ID", oemId, Dmar.OEM_ID_LENGTH);
        oemTableId = fixed("OEM table ID", oemTableId, Dmar.OEM_TABLE_ID_LENGTH);
        creatorId = fixed("creator ID", creatorId, Dmar.CREATOR_ID_LENGTH);
        Dmar.checkUnsigned("OEM revision", oemRevision, 32);
        Dmar.checkUnsigned("creator revision", creatorRevision, 32);
        Dmar.checkUnsigned("host address width field", hostAddressWidthField, 8);
        Dmar.checkUnsigned("flags", flags, 8);
        structures = List.copyOf(structures);
        notes = List.copyOf(notes);
    }

    /** A table as firmware would build it: revision 1, OEM revision 1, creator "VTD " revision 1, no notes. */
    public static DmarTable of(String oemId, String oemTableId, int hostAddressWidthBits, int flags,
                               List<DmarStructure> structures) {
        if (hostAddressWidthBits < 1 || hostAddressWidthBits > 256) {
            throw new IllegalArgumentException("host address width " + hostAddressWidthBits + " bits out of range");
        }
        return new DmarTable(Dmar.DEFAULT_REVISION, oemId, oemTableId, 1, "VTD ", 1,
                hostAddressWidthBits - 1, flags, structures, List.of());
    }

    private static String fixed(String what, String value, int length) {
        if (value.length() > length || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
            throw new IllegalArgumentException(what + " '" + value + "' must be at most " + length
                    + " single-byte characters");
        }
        return value + " ".repeat(length - value.length());
    }

    /** Host address width in bits (the field plus one), as Linux prints it. */
    public int hostAddressWidth() {
        return hostAddressWidthField + 1;
    }

    public boolean intrRemap() {
        return (flags & Dmar.FLAG_INTR_REMAP) != 0;
    }

    public boolean x2apicOptOut() {
        return (flags & Dmar.FLAG_X2APIC_OPT_OUT) != 0;
    }

    public boolean dmaCtrlPlatformOptIn() {
        return (flags & Dmar.FLAG_DMA_CTRL_PLATFORM_OPT_IN) != 0;
    }

    /** Encoded table length. */
    public int length() {
        int n = Dmar.HEADER_LENGTH;
        for (DmarStructure s : structures) n += s.length();
        return n;
    }

    /** The binary table with its length and checksum filled in. */
    public byte[] encode() {
        return DmarEncoder.encode(this);
    }

    /** The structures of one record type, in table order. */
    public <T extends DmarStructure> List<T> structuresOf(Class<T> kind) {
        return structures.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    public List<DmarStructure.Drhd> drhds() {
        return structuresOf(DmarStructure.Drhd.class);
    }

    /** Structures of types this model does not decode (kept as raw bytes). */
    public List<DmarStructure.Unknown> unknownStructures() {
        return structuresOf(DmarStructure.Unknown.class);
    }

    /** The OEM ID as ACPI tools show it: up to the first NUL. */
    public String oemIdText() {
        return upToNul(oemId);
    }

    /** The OEM table ID as ACPI tools show it: up to the first NUL. */
    public String oemTableIdText() {
        return upToNul(oemTableId);
    }

    /** The creator ID as ACPI tools show it: up to the first NUL. */
    public String creatorIdText() {
        return upToNul(creatorId);
    }

    static String upToNul(String s) {
        int nul = s.indexOf('\0');
        return nul < 0 ? s : s.substring(0, nul);
    }

    /** The same table with other structures (notes dropped: they described the parsed bytes). */
    public DmarTable withStructures(List<DmarStructure> newStructures) {
        return new DmarTable(revision, oemId, oemTableId, oemRevision, creatorId, creatorRevision,
                hostAddressWidthField, flags, newStructures, List.of());
    }
}

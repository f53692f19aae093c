package dev.vtd.firmware.acpi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes a binary DMAR table (VT-d spec chapter 8) into a {@link DmarTable}. Any byte input either yields a
 * table or a {@link DmarFormatException} naming the source and the byte offset; never another exception.
 *
 * <p>Rules: signature "DMAR"; the header's length field equals the data length and is at least 48; the bytes sum
 * to 0 mod 256 (unless {@link Options#verifyChecksum()} is off); every structure has room for its header,
 * a length of at least its fixed part and does not run past the table; device scopes fill their structure
 * exactly, each at least 6 bytes, a whole number of 2-byte path entries, a non-empty path for the five known
 * scope types; an ANDD name is NUL-terminated inside its structure. Non-zero reserved bytes are tolerated (as
 * Linux does) and listed in {@link DmarTable#notes()}, since re-encoding writes zeros there.
 */
public final class DmarParser {
    /** @param verifyChecksum reject tables whose bytes do not sum to 0 mod 256 */
    public record Options(boolean verifyChecksum) {
        public static final Options DEFAULT = new Options(true);
    }

    private final byte[] b;
    private final String source;
    private final List<String> notes = new ArrayList<>();

    private DmarParser(byte[] bytes, String source) {
        this.b = bytes;
        this.source = source;
    }

    /** Parses with the default options (checksum verified). */
    public static DmarTable parse(byte[] bytes, String sourceName) throws DmarFormatException {
        return parse(bytes, sourceName, Options.DEFAULT);
    }

    public static DmarTable parse(byte[] bytes, String sourceName, Options options) throws DmarFormatException {
        return new DmarParser(bytes.clone(), sourceName).table(options);
    }

    private DmarFormatException error(int offset, String problem) {
        return new DmarFormatException(source, offset, problem);
    }

    private int u8(int off) {
        return b[off] & 0xFF;
    }

    private int u16(int off) {
        return u8(off) | u8(off + 1) << 8;
    }

    private long u32(int off) {
        return (u16(off) | (long) u16(off + 2) << 16) & 0xFFFF_FFFFL;
    }

    private long u64(int off) {
        return u32(off) | u32(off + 4) << 32;
    }

    private String chars(int off, int n) {
        return new String(b, off, n, StandardCharsets.ISO_8859_1);
    }

    private void noteIfNonZero(int off, int n, String what) {
        for (int i = off; i < off + n; i++) {
            if (b[i] != 0) {
                notes.add("offset 0x" + Integer.toHexString(off) + ": " + what
                        + " not zero (re-encoding writes zeros)");
                return;
            }
        }
    }

    private DmarTable table(Options options) throws DmarFormatException {
        int n = b.length;
        if (n >= Dmar.SIGNATURE.length() && !chars(Dmar.OFF_SIGNATURE, 4).equals(Dmar.SIGNATURE)) {
            throw error(Dmar.OFF_SIGNATURE, "signature \"" + printable(chars(0, 4)) + "\" is not \"DMAR\"");
        }
        if (n < Dmar.HEADER_LENGTH) {
            throw error(n, "data ends after " + n + " bytes, inside the " + Dmar.HEADER_LENGTH
                    + "-byte DMAR header");
        }
        long length = u32(Dmar.OFF_LENGTH);
        if (length < Dmar.HEADER_LENGTH) {
            throw error(Dmar.OFF_LENGTH, "header length field " + length + " is smaller than the "
                    + Dmar.HEADER_LENGTH + "-byte DMAR header");
        }
        if (length != n) {
            throw error(Dmar.OFF_LENGTH, "header length field " + length + " is "
                    + (length > n ? "larger" : "smaller") + " than the " + n + " bytes of data");
        }
        int sum = DmarEncoder.sum(b);
        if (options.verifyChecksum() && sum != 0) {
            int stored = u8(Dmar.OFF_CHECKSUM);
            throw error(Dmar.OFF_CHECKSUM, String.format(
                    "checksum 0x%02x is wrong: the bytes sum to 0x%02x, not 0 (checksum 0x%02x would be valid)",
                    stored, sum, (stored - sum) & 0xFF));
        }
        noteIfNonZero(Dmar.OFF_RESERVED, Dmar.RESERVED_LENGTH, "reserved header bytes");

        List<DmarStructure> structures = new ArrayList<>();
        int off = Dmar.HEADER_LENGTH;
        while (off < n) {
            int left = n - off;
            if (left < Dmar.STRUCTURE_HEADER_LENGTH) {
                throw error(off, "structure header needs " + Dmar.STRUCTURE_HEADER_LENGTH + " bytes, only "
                        + left + " left in the table");
            }
            int type = u16(off);
            int len = u16(off + 2);
            String name = Dmar.structureName(type);
            if (len < Dmar.STRUCTURE_HEADER_LENGTH) {
                throw error(off, name + " length " + len + " is shorter than the "
                        + Dmar.STRUCTURE_HEADER_LENGTH + "-byte structure header");
            }
            if (len > left) {
                throw error(off, name + " length " + len + " runs past the end of the table (" + left
                        + " bytes left)");
            }
            structures.add(structure(off, type, len));
            off += len;
        }
        return new DmarTable(u8(Dmar.OFF_REVISION), chars(Dmar.OFF_OEM_ID, Dmar.OEM_ID_LENGTH),
                chars(Dmar.OFF_OEM_TABLE_ID, Dmar.OEM_TABLE_ID_LENGTH), u32(Dmar.OFF_OEM_REVISION),
                chars(Dmar.OFF_CREATOR_ID, Dmar.CREATOR_ID_LENGTH), u32(Dmar.OFF_CREATOR_REVISION),
                u8(Dmar.OFF_HOST_ADDRESS_WIDTH), u8(Dmar.OFF_FLAGS), structures, notes);
    }

    private void requireHeader(int off, int len, String name, int headerLength) throws DmarFormatException {
        if (len < headerLength) {
            throw error(off, name + " length " + len + " is shorter than its " + headerLength + "-byte header");
        }
    }

    private DmarStructure structure(int off, int type, int len) throws DmarFormatException {
        String name = Dmar.structureName(type);
        int end = off + len;
        switch (type) {
            case Dmar.TYPE_DRHD -> {
                requireHeader(off, len, name, DmarStructure.Drhd.HEADER_LENGTH);
                return new DmarStructure.Drhd(u8(off + 4), u8(off + 5), u16(off + 6), u64(off + 8),
                        scopes(off + DmarStructure.Drhd.HEADER_LENGTH, end, name));
            }
            case Dmar.TYPE_RMRR -> {
                requireHeader(off, len, name, DmarStructure.Rmrr.HEADER_LENGTH);
                noteIfNonZero(off + 4, 2, "RMRR reserved bytes");
                return new DmarStructure.Rmrr(u16(off + 6), u64(off + 8), u64(off + 16),
                        scopes(off + DmarStructure.Rmrr.HEADER_LENGTH, end, name));
            }
            case Dmar.TYPE_ATSR -> {
                requireHeader(off, len, name, DmarStructure.Atsr.HEADER_LENGTH);
                noteIfNonZero(off + 5, 1, "ATSR reserved byte");
                return new DmarStructure.Atsr(u8(off + 4), u16(off + 6),
                        scopes(off + DmarStructure.Atsr.HEADER_LENGTH, end, name));
            }
            case Dmar.TYPE_RHSA -> {
                if (len != DmarStructure.Rhsa.LENGTH) {
                    throw error(off, "RHSA length " + len + " is not " + DmarStructure.Rhsa.LENGTH);
                }
                noteIfNonZero(off + 4, 4, "RHSA reserved bytes");
                return new DmarStructure.Rhsa(u64(off + 8), u32(off + 16));
            }
            case Dmar.TYPE_ANDD -> {
                requireHeader(off, len, name, DmarStructure.Andd.HEADER_LENGTH);
                noteIfNonZero(off + 4, 3, "ANDD reserved bytes");
                int nameStart = off + DmarStructure.Andd.HEADER_LENGTH;
                int nul = nameStart;
                while (nul < end && b[nul] != 0) nul++;
                if (nul == end) {
                    throw error(nameStart, "ANDD object name is not NUL-terminated within the structure's "
                            + len + " bytes");
                }
                noteIfNonZero(nul, end - nul, "ANDD padding after the name");
                return new DmarStructure.Andd(u8(off + 7), chars(nameStart, nul - nameStart), len);
            }
            case Dmar.TYPE_SATC -> {
                requireHeader(off, len, name, DmarStructure.Satc.HEADER_LENGTH);
                noteIfNonZero(off + 5, 1, "SATC reserved byte");
                return new DmarStructure.Satc(u8(off + 4), u16(off + 6),
                        scopes(off + DmarStructure.Satc.HEADER_LENGTH, end, name));
            }
            case Dmar.TYPE_SIDP -> {
                requireHeader(off, len, name, DmarStructure.Sidp.HEADER_LENGTH);
                noteIfNonZero(off + 4, 2, "SIDP reserved bytes");
                return new DmarStructure.Sidp(u16(off + 6),
                        scopes(off + DmarStructure.Sidp.HEADER_LENGTH, end, name));
            }
            default -> {
                byte[] raw = new byte[len];
                System.arraycopy(b, off, raw, 0, len);
                return new DmarStructure.Unknown(raw);
            }
        }
    }

    /** Device scopes filling [off, end) of a structure exactly (VT-d 8.3.1). */
    private List<DeviceScope> scopes(int off, int end, String owner) throws DmarFormatException {
        List<DeviceScope> scopes = new ArrayList<>();
        while (off < end) {
            int left = end - off;
            if (left < DeviceScope.HEADER_LENGTH) {
                throw error(off, "device scope needs a " + DeviceScope.HEADER_LENGTH + "-byte header, only "
                        + left + " bytes left in its " + owner);
            }
            int type = u8(off + DeviceScope.OFF_TYPE);
            int len = u8(off + DeviceScope.OFF_LENGTH);
            if (len < DeviceScope.HEADER_LENGTH) {
                throw error(off, "device scope length " + len + " is shorter than its "
                        + DeviceScope.HEADER_LENGTH + "-byte header");
            }
            if (len > left) {
                throw error(off, "device scope length " + len + " runs past the end of its " + owner + " ("
                        + left + " bytes left)");
            }
            int pathBytes = len - DeviceScope.HEADER_LENGTH;
            if (pathBytes % DeviceScope.PATH_ENTRY_LENGTH != 0) {
                throw error(off, "device scope length " + len + " leaves " + pathBytes
                        + " path bytes, not a whole number of 2-byte (device, function) entries");
            }
            if (pathBytes == 0 && DeviceScope.isKnownType(type)) {
                throw error(off, DeviceScope.typeName(type) + " scope has an empty path");
            }
            noteIfNonZero(off + DeviceScope.OFF_RESERVED, 1, "device scope reserved byte");
            List<PciPath> path = new ArrayList<>();
            for (int p = off + DeviceScope.HEADER_LENGTH; p < off + len; p += DeviceScope.PATH_ENTRY_LENGTH) {
                path.add(new PciPath(u8(p), u8(p + 1)));
            }
            scopes.add(new DeviceScope(type, u8(off + DeviceScope.OFF_FLAGS), u8(off + DeviceScope.OFF_ENUMERATION_ID),
                    u8(off + DeviceScope.OFF_START_BUS), path));
            off += len;
        }
        return scopes;
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7F) sb.append(c);
            else sb.append(String.format("\\x%02x", (int) c));
        }
        return sb.toString();
    }
}

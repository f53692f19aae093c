package dev.vtd.firmware.acpi.ivrs;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes a binary IVRS table into an {@link IvrsTable}. Any input either yields a table or an
 * {@link IvrsFormatException} naming the source and the byte offset; never another exception.
 *
 * <p>Rules: signature "IVRS"; the length field equals the data length and is at least 48; bytes sum to 0
 * mod 256 (Linux's check_ivrs_checksum; can be turned off); every subtable has its 4-byte header and a length
 * of at least 4 that stays inside the table; subtables of unknown types are stepped over by their length, as
 * Linux steps over them, and kept raw; an IVHD is at least its header (24 bytes for 10h, 40 for 11h/40h) and
 * its device entries fill it exactly, each entry sized by its type (bits 7:6 of types below 80h: 4 or 8 bytes;
 * F0h: 22 plus the UID length at byte 21); entry types 80h-FFh other than F0h have no length Linux can know
 * and are rejected; an IVMD is exactly 32 bytes. Non-zero reserved bytes are tolerated and listed in notes.
 */
public final class IvrsParser {
    private final byte[] b;
    private final String source;
    private final List<String> notes = new ArrayList<>();

    private IvrsParser(byte[] b, String source) {
        this.b = b;
        this.source = source;
    }

    public static IvrsTable parse(byte[] bytes, String sourceName) throws IvrsFormatException {
        return parse(bytes, sourceName, true);
    }

    public static IvrsTable parse(byte[] bytes, String sourceName, boolean verifyChecksum) throws IvrsFormatException {
        return new IvrsParser(bytes.clone(), sourceName).table(verifyChecksum);
    }

    private IvrsFormatException error(int off, String problem) {
        return new IvrsFormatException(source, off, problem);
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
                notes.add("offset 0x" + Integer.toHexString(off) + ": " + what + " not zero (re-encoding writes zeros)");
                return;
            }
        }
    }

    private IvrsTable table(boolean verifyChecksum) throws IvrsFormatException {
        int n = b.length;
        if (n >= 4 && !chars(0, 4).equals(Ivrs.SIGNATURE)) {
            throw error(0, "signature \"" + printable(chars(0, 4)) + "\" is not \"IVRS\"");
        }
        if (n < Ivrs.HEADER_LENGTH) {
            throw error(n, "data ends after " + n + " bytes, inside the " + Ivrs.HEADER_LENGTH + "-byte IVRS header");
        }
        long length = u32(Ivrs.OFF_LENGTH);
        if (length < Ivrs.HEADER_LENGTH) {
            throw error(Ivrs.OFF_LENGTH, "header length field " + length + " is smaller than the 48-byte IVRS header");
        }
        if (length != n) {
            throw error(Ivrs.OFF_LENGTH, "header length field " + length + " is " + (length > n ? "larger" : "smaller")
                    + " than the " + n + " bytes of data");
        }
        int sum = IvrsTable.sum(b);
        if (verifyChecksum && sum != 0) {
            int stored = u8(Ivrs.OFF_CHECKSUM);
            throw error(Ivrs.OFF_CHECKSUM, String.format(
                    "checksum 0x%02x is wrong: the bytes sum to 0x%02x, not 0 (checksum 0x%02x would be valid)",
                    stored, sum, (stored - sum) & 0xFF));
        }
        noteIfNonZero(Ivrs.OFF_RESERVED, 8, "reserved header bytes");
        List<IvrsSubtable> subtables = new ArrayList<>();
        int off = Ivrs.HEADER_LENGTH;
        while (off < n) {
            int left = n - off;
            if (left < Ivrs.SUBTABLE_HEADER_LENGTH) {
                throw error(off, "subtable header needs 4 bytes, only " + left + " left in the table");
            }
            int type = u8(off);
            int len = u16(off + 2);
            if (len < Ivrs.SUBTABLE_HEADER_LENGTH) {
                throw error(off, String.format("subtable type 0x%02x length %d is shorter than its 4-byte header", type, len));
            }
            if (len > left) {
                throw error(off, String.format("subtable type 0x%02x length %d runs past the end of the table (%d bytes left)",
                        type, len, left));
            }
            subtables.add(subtable(off, type, len));
            off += len;
        }
        return new IvrsTable(u8(8), chars(10, 6), chars(16, 8), u32(24), chars(28, 4), u32(32), u32(Ivrs.OFF_IVINFO),
                subtables, notes);
    }

    private IvrsSubtable subtable(int off, int type, int len) throws IvrsFormatException {
        if (Ivrs.isIvhd(type)) {
            int hl = Ivrs.ivhdHeaderLength(type);
            if (len < hl) {
                throw error(off, String.format("IVHD type 0x%02x length %d is shorter than its %d-byte header", type, len, hl));
            }
            List<IvhdDeviceEntry> entries = entries(off + hl, off + len, type);
            boolean ten = type == Ivrs.IVHD_10;
            return new IvrsSubtable.Ivhd(type, u8(off + 1), u16(off + 4), u16(off + 6), u64(off + 8), u16(off + 16),
                    u16(off + 18), u32(off + 20), ten ? 0 : u64(off + 24), ten ? 0 : u64(off + 32), entries);
        }
        if (Ivrs.isIvmd(type)) {
            if (len != Ivrs.IVMD_LENGTH) {
                throw error(off, String.format("IVMD type 0x%02x length %d is not 32", type, len));
            }
            noteIfNonZero(off + 8, 8, "IVMD reserved bytes");
            return new IvrsSubtable.Ivmd(type, u8(off + 1), u16(off + 4), u16(off + 6), u64(off + 16), u64(off + 24));
        }
        byte[] raw = new byte[len];
        System.arraycopy(b, off, raw, 0, len);
        return new IvrsSubtable.Unknown(raw);
    }

    private List<IvhdDeviceEntry> entries(int off, int end, int ivhdType) throws IvrsFormatException {
        List<IvhdDeviceEntry> list = new ArrayList<>();
        String owner = String.format("IVHD type 0x%02x", ivhdType);
        while (off < end) {
            int left = end - off;
            int type = u8(off);
            int len;
            if (type < 0x80) {
                len = 4 << (type >>> 6);
            } else if (type == Ivrs.DEV_ACPI_HID) {
                if (left < 22) {
                    throw error(off, "ACPI HID device entry needs 22 bytes before its UID, only " + left
                            + " left in its " + owner);
                }
                len = 22 + u8(off + 21);
            } else {
                throw error(off, String.format("IVHD device entry type 0x%02x has no defined length", type));
            }
            if (len > left) {
                throw error(off, String.format("IVHD device entry type 0x%02x (%d bytes) runs past the end of its %s"
                        + " (%d bytes left)", type, len, owner, left));
            }
            int devid = u16(off + 1);
            int setting = u8(off + 3);
            if (len == 4) {
                list.add(new IvhdDeviceEntry.Fixed4(type, devid, setting));
            } else if (len == 8) {
                list.add(new IvhdDeviceEntry.Fixed8(type, devid, setting, u32(off + 4)));
            } else {
                list.add(new IvhdDeviceEntry.AcpiHid(devid, setting, chars(off + 4, 8), chars(off + 12, 8), u8(off + 20),
                        chars(off + 22, u8(off + 21))));
            }
            off += len;
        }
        return list;
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

package dev.vtd.firmware.acpi.ivrs;

import java.util.ArrayList;
import java.util.List;

/**
 * Text views of an {@link IvrsTable}. {@link #iasl} lists every field with its offset, length, name and value
 * in the layout and with the field names of ACPICA's disassembler ({@code iasl -d}, release 20200925):
 * {@code [024h 0036   4]          Virtualization Info : 00203041}. Unlike that release it also decodes IVHD
 * type 40h and ACPI HID device entries (F0h); subtables of unknown types are shown as iasl shows them.
 */
public final class IvrsFormatter {
    private IvrsFormatter() {}

    private static final class Listing {
        final List<String> lines = new ArrayList<>();

        void field(int off, int len, String name, String value) {
            lines.add(String.format("[%03Xh %04d %3d] %28s : %s", off, off, len, name, value));
        }

        void text(String s) {
            lines.add(s);
        }
    }

    private static String hex(long v, int digits) {
        return String.format("%0" + digits + "X", v);
    }

    private static String quoted(String s) {
        return "\"" + s + "\"";
    }

    /** The field lines, without the disassembler's banner comment (the part to compare with iasl). */
    public static List<String> fieldLines(IvrsTable t) {
        Listing l = new Listing();
        byte[] bytes = t.encode();
        l.field(0, 4, "Signature", "\"IVRS\"    [I/O Virtualization Reporting Structure]");
        l.field(4, 4, "Table Length", hex(t.length(), 8));
        l.field(8, 1, "Revision", hex(t.revision(), 2));
        l.field(9, 1, "Checksum", hex(bytes[Ivrs.OFF_CHECKSUM] & 0xFF, 2));
        l.field(10, 6, "Oem ID", quoted(IvrsTable.upToNul(t.oemId())));
        l.field(16, 8, "Oem Table ID", quoted(IvrsTable.upToNul(t.oemTableId())));
        l.field(24, 4, "Oem Revision", hex(t.oemRevision(), 8));
        l.field(28, 4, "Asl Compiler ID", quoted(IvrsTable.upToNul(t.creatorId())));
        l.field(32, 4, "Asl Compiler Revision", hex(t.creatorRevision(), 8));
        l.text("");
        l.field(36, 4, "Virtualization Info", hex(t.ivInfo(), 8));
        l.field(40, 8, "Reserved", hex(0, 16));
        l.text("");
        int off = Ivrs.HEADER_LENGTH;
        for (IvrsSubtable s : t.subtables()) {
            subtable(l, off, s);
            off += s.length();
        }
        return l.lines;
    }

    /** The whole listing: banner, field lines, any parser notes and the raw bytes. */
    public static String iasl(IvrsTable t) {
        StringBuilder sb = new StringBuilder();
        sb.append("/*\n * ACPI Data Table [IVRS]\n *\n * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue\n */\n\n");
        for (String line : fieldLines(t)) sb.append(line).append('\n');
        for (String n : t.notes()) sb.append("**** Note: ").append(n).append("\n\n");
        byte[] bytes = t.encode();
        sb.append("Raw Table Data: Length ").append(bytes.length).append(" (0x")
                .append(Integer.toHexString(bytes.length).toUpperCase()).append(")\n\n");
        for (int i = 0; i < bytes.length; i += 16) {
            StringBuilder hexPart = new StringBuilder();
            StringBuilder ascii = new StringBuilder();
            for (int j = i; j < Math.min(i + 16, bytes.length); j++) {
                hexPart.append(String.format("%02X ", bytes[j] & 0xFF));
                char c = (char) (bytes[j] & 0xFF);
                ascii.append(c >= 0x20 && c < 0x7F ? c : '.');
            }
            sb.append(String.format("    %04X: %-48s // %s%n", i, hexPart, ascii));
        }
        return sb.toString();
    }

    private static void subtable(Listing l, int off, IvrsSubtable s) {
        l.field(off, 1, "Subtable Type", hex(s.type(), 2) + " [" + Ivrs.subtableName(s.type()) + "]");
        switch (s) {
            case IvrsSubtable.Ivhd h -> {
                l.field(off + 1, 1, "Flags", hex(h.flags(), 2));
                l.field(off + 2, 2, "Length", hex(h.length(), 4));
                l.field(off + 4, 2, "DeviceId", hex(h.deviceId(), 4));
                l.text("");
                l.field(off + 6, 2, "Capability Offset", hex(h.capabilityOffset(), 4));
                l.field(off + 8, 8, "Base Address", hex(h.baseAddress(), 16));
                l.field(off + 16, 2, "PCI Segment Group", hex(h.segment(), 4));
                l.field(off + 18, 2, "Virtualization Info", hex(h.iommuInfo(), 4));
                if (h.type() == Ivrs.IVHD_10) {
                    l.field(off + 20, 4, "Feature Reporting", hex(h.featureInfo(), 8));
                } else {
                    l.field(off + 20, 4, "Attributes", hex(h.featureInfo(), 8));
                    l.field(off + 24, 8, "EFR Image", hex(h.efrImage(), 16));
                    l.field(off + 32, 8, "Reserved", hex(h.efrImage2(), 16));
                }
                l.text("");
                int e = off + h.headerLength();
                for (IvhdDeviceEntry entry : h.entries()) {
                    entry(l, e, entry);
                    e += entry.length();
                }
            }
            case IvrsSubtable.Ivmd m -> {
                l.field(off + 1, 1, "Flags", hex(m.flags(), 2));
                l.field(off + 2, 2, "Length", hex(m.length(), 4));
                l.field(off + 4, 2, "DeviceId", hex(m.deviceId(), 4));
                l.text("");
                l.field(off + 6, 2, "Auxiliary Data", hex(m.auxiliaryData(), 4));
                l.field(off + 8, 8, "Reserved", hex(0, 16));
                l.field(off + 16, 8, "Start Address", hex(m.startAddress(), 16));
                l.field(off + 24, 8, "Memory Length", hex(m.memoryLength(), 16));
                l.text("");
            }
            case IvrsSubtable.Unknown u -> {
                byte[] r = u.raw();
                l.field(off + 1, 1, "Flags", hex(r[1] & 0xFF, 2));
                l.field(off + 2, 2, "Length", hex(u.length(), 4));
                if (r.length >= 6) l.field(off + 4, 2, "DeviceId", hex((r[4] & 0xFF) | (r[5] & 0xFF) << 8, 4));
                l.text("");
                l.text(String.format("**** Unknown IVRS subtable type 0x%X", u.type()));
                l.text("");
            }
        }
    }

    private static void entry(Listing l, int off, IvhdDeviceEntry e) {
        l.field(off, 1, "Entry Type", hex(e.type(), 2));
        l.field(off + 1, 2, "Device ID", hex(e.deviceId(), 4));
        l.field(off + 3, 1, "Data Setting", hex(e.dataSetting(), 2));
        switch (e) {
            case IvhdDeviceEntry.Fixed4 f -> { }
            case IvhdDeviceEntry.Fixed8 f -> {
                switch (f.type()) {
                    case Ivrs.DEV_ALIAS_SELECT, Ivrs.DEV_ALIAS_RANGE -> {
                        l.field(off + 4, 1, "Reserved", hex(f.data() & 0xFF, 2));
                        l.field(off + 5, 2, "Source Used Device ID", hex(f.sourceDeviceId(), 4));
                        l.field(off + 7, 1, "Reserved", hex(f.data() >>> 24, 2));
                    }
                    case Ivrs.DEV_SPECIAL -> {
                        l.field(off + 4, 1, "Handle", hex(f.handle(), 2));
                        l.field(off + 5, 2, "Source Used Device ID", hex(f.sourceDeviceId(), 4));
                        l.field(off + 7, 1, "Variety", hex(f.variety(), 2));
                    }
                    default -> l.field(off + 4, 4, "Extended Data", hex(f.data(), 8));
                }
            }
            case IvhdDeviceEntry.AcpiHid h -> {
                l.field(off + 4, 8, "ACPI HID", quoted(IvrsTable.upToNul(h.hid())));
                l.field(off + 12, 8, "ACPI CID", hex(h.cidValue(), 16));
                l.field(off + 20, 1, "UID Format", hex(h.uidFormat(), 2));
                l.field(off + 21, 1, "UID Length", hex(h.uid().length(), 2));
                if (!h.uid().isEmpty()) {
                    String uid = h.uidFormat() == 1 ? hex(uidNumber(h.uid()), 2 * h.uid().length())
                            : quoted(IvrsTable.upToNul(h.uid()));
                    l.field(off + 22, h.uid().length(), "UID", uid);
                }
            }
        }
        l.text("");
    }

    private static long uidNumber(String raw) {
        long v = 0;
        for (int i = Math.min(raw.length(), 8) - 1; i >= 0; i--) v = v << 8 | (raw.charAt(i) & 0xFF);
        return v;
    }
}

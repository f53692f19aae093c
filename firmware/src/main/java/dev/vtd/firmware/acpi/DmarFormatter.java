package dev.vtd.firmware.acpi;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Text views of a {@link DmarTable}:
 * <ul>
 * <li>{@link #iasl} — every field with its offset, length, name and value, in the layout and with the field names
 * of ACPICA's disassembler ({@code iasl -d}), e.g. {@code [024h 0036 001h]  Host Address Width : 2D};</li>
 * <li>{@link #kernelLog} — the lines Linux prints while it reads the table at boot (ACPICA's table banner,
 * drivers/iommu/intel/dmar.c and irq_remapping.c).</li>
 * </ul>
 */
public final class DmarFormatter {
    private DmarFormatter() {}

    // ------------------------------------------------------------------ iasl-style field listing

    /** The iasl-style listing, one field per line, blank lines between structures. */
    public static String iasl(DmarTable t) {
        Listing l = new Listing();
        byte[] bytes = t.encode();
        l.text("/*");
        l.text(" * ACPI Data Table [DMAR]");
        l.text(" *");
        l.text(" * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue (in hex)");
        l.text(" */");
        l.text("");
        l.field(0, 4, "Signature", "\"DMAR\"    [DMA Remapping Table]");
        l.field(4, 4, "Table Length", hex(t.length(), 8));
        l.field(8, 1, "Revision", hex(t.revision(), 2));
        l.field(9, 1, "Checksum", hex(bytes[Dmar.OFF_CHECKSUM] & 0xFF, 2));
        l.field(10, 6, "Oem ID", quoted(t.oemIdText()));
        l.field(16, 8, "Oem Table ID", quoted(t.oemTableIdText()));
        l.field(24, 4, "Oem Revision", hex(t.oemRevision(), 8));
        l.field(28, 4, "Asl Compiler ID", quoted(t.creatorIdText()));
        l.field(32, 4, "Asl Compiler Revision", hex(t.creatorRevision(), 8));
        l.text("");
        l.field(36, 1, "Host Address Width", hex(t.hostAddressWidthField(), 2)
                + "    [" + t.hostAddressWidth() + " bits]");
        l.field(37, 1, "Flags", hex(t.flags(), 2) + flagNames(t.flags(), Map.of(
                Dmar.FLAG_INTR_REMAP, "INTR_REMAP", Dmar.FLAG_X2APIC_OPT_OUT, "X2APIC_OPT_OUT",
                Dmar.FLAG_DMA_CTRL_PLATFORM_OPT_IN, "DMA_CTRL_PLATFORM_OPT_IN")));
        l.field(38, 10, "Reserved", "00 00 00 00 00 00 00 00 00 00");
        int off = Dmar.HEADER_LENGTH;
        for (DmarStructure s : t.structures()) {
            l.text("");
            structure(l, off, s);
            off += s.length();
        }
        if (!t.notes().isEmpty()) {
            l.text("");
            for (String n : t.notes()) l.text("**** Note: " + n);
        }
        l.text("");
        l.text("Raw Table Data: Length " + bytes.length + " (0x" + Integer.toHexString(bytes.length).toUpperCase() + ")");
        l.text("");
        for (int i = 0; i < bytes.length; i += 16) {
            StringBuilder hexPart = new StringBuilder();
            StringBuilder ascii = new StringBuilder();
            for (int j = i; j < Math.min(i + 16, bytes.length); j++) {
                hexPart.append(String.format("%02X ", bytes[j] & 0xFF));
                char c = (char) (bytes[j] & 0xFF);
                ascii.append(c >= 0x20 && c < 0x7F ? c : '.');
            }
            l.text(String.format("    %04X: %-48s // %s", i, hexPart, ascii));
        }
        return l.toString();
    }

    private static void structure(Listing l, int off, DmarStructure s) {
        l.field(off, 2, "Subtable Type", hex(s.type(), 4) + " [" + subtableName(s.type()) + "]");
        l.field(off + 2, 2, "Length", hex(s.length(), 4));
        l.text("");
        switch (s) {
            case DmarStructure.Drhd d -> {
                l.field(off + 4, 1, "Flags", hex(d.flags(), 2)
                        + flagNames(d.flags(), Map.of(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, "INCLUDE_PCI_ALL")));
                l.field(off + 5, 1, "Size", hex(d.size(), 2)
                        + "    [" + d.registerSetPages() + " page(s) of registers]");
                l.field(off + 6, 2, "PCI Segment Number", hex(d.segment(), 4));
                l.field(off + 8, 8, "Register Base Address", hex(d.registerBase(), 16));
                scopes(l, off + DmarStructure.Drhd.HEADER_LENGTH, d.scopes());
            }
            case DmarStructure.Rmrr r -> {
                l.field(off + 4, 2, "Reserved", "0000");
                l.field(off + 6, 2, "PCI Segment Number", hex(r.segment(), 4));
                l.field(off + 8, 8, "Base Address", hex(r.base(), 16));
                l.field(off + 16, 8, "End Address (limit)", hex(r.limit(), 16));
                scopes(l, off + DmarStructure.Rmrr.HEADER_LENGTH, r.scopes());
            }
            case DmarStructure.Atsr a -> {
                l.field(off + 4, 1, "Flags", hex(a.flags(), 2)
                        + flagNames(a.flags(), Map.of(DmarStructure.Atsr.FLAG_ALL_PORTS, "ALL_PORTS")));
                l.field(off + 5, 1, "Reserved", "00");
                l.field(off + 6, 2, "PCI Segment Number", hex(a.segment(), 4));
                scopes(l, off + DmarStructure.Atsr.HEADER_LENGTH, a.scopes());
            }
            case DmarStructure.Rhsa r -> {
                l.field(off + 4, 4, "Reserved", "00000000");
                l.field(off + 8, 8, "Base Address", hex(r.registerBase(), 16));
                l.field(off + 16, 4, "Proximity Domain", hex(r.proximityDomain(), 8));
            }
            case DmarStructure.Andd a -> {
                l.field(off + 4, 3, "Reserved", "000000");
                l.field(off + 7, 1, "Device Number", hex(a.deviceNumber(), 2));
                l.field(off + 8, a.name().length() + 1, "Device Name", quoted(a.name()));
                int padding = a.length() - DmarStructure.Andd.minimalLength(a.name());
                if (padding > 0) {
                    l.field(off + DmarStructure.Andd.minimalLength(a.name()), padding, "Padding",
                            "00".repeat(padding));
                }
            }
            case DmarStructure.Satc a -> {
                l.field(off + 4, 1, "Flags", hex(a.flags(), 2)
                        + flagNames(a.flags(), Map.of(DmarStructure.Satc.FLAG_ATC_REQUIRED, "ATC_REQUIRED")));
                l.field(off + 5, 1, "Reserved", "00");
                l.field(off + 6, 2, "PCI Segment Number", hex(a.segment(), 4));
                scopes(l, off + DmarStructure.Satc.HEADER_LENGTH, a.scopes());
            }
            case DmarStructure.Sidp p -> {
                l.field(off + 4, 2, "Reserved", "0000");
                l.field(off + 6, 2, "PCI Segment Number", hex(p.segment(), 4));
                scopes(l, off + DmarStructure.Sidp.HEADER_LENGTH, p.scopes());
            }
            case DmarStructure.Unknown u -> {
                byte[] raw = u.bytes();
                l.text("**** Unknown DMAR subtable type 0x" + Integer.toHexString(u.type())
                        + " (kept as raw bytes)");
                if (raw.length > Dmar.STRUCTURE_HEADER_LENGTH) {
                    l.field(off + 4, raw.length - 4, "Raw Data",
                            HexFormat.ofDelimiter(" ").withUpperCase().formatHex(raw, 4, raw.length));
                }
            }
        }
    }

    private static void scopes(Listing l, int off, List<DeviceScope> scopes) {
        for (DeviceScope sc : scopes) {
            l.text("");
            l.field(off, 1, "Device Scope Type", hex(sc.type(), 2) + " [" + DeviceScope.typeName(sc.type()) + "]");
            l.field(off + 1, 1, "Entry Length", hex(sc.length(), 2));
            l.field(off + 2, 1, "Flags", hex(sc.flags(), 2) + flagNames(sc.flags(), Map.of(
                    DeviceScope.FLAG_REQ_WO_PASID_NESTED_NOTALLOWED, "REQ_WO_PASID_NESTED_NOTALLOWED",
                    DeviceScope.FLAG_REQ_WO_PASID_PWSNP_NOTALLOWED, "REQ_WO_PASID_PWSNP_NOTALLOWED",
                    DeviceScope.FLAG_REQ_WO_PASID_PGSNP_NOTALLOWED, "REQ_WO_PASID_PGSNP_NOTALLOWED",
                    DeviceScope.FLAG_ATC_HARDENED, "ATC_HARDENED",
                    DeviceScope.FLAG_ATC_REQUIRED, "ATC_REQUIRED")));
            l.field(off + 3, 1, "Reserved", "00");
            l.field(off + 4, 1, "Enumeration ID", hex(sc.enumerationId(), 2));
            l.field(off + 5, 1, "PCI Bus Number", hex(sc.startBus(), 2));
            int p = off + DeviceScope.HEADER_LENGTH;
            for (PciPath hop : sc.path()) {
                l.field(p, 2, "PCI Path", hex(hop.device(), 2) + "," + hex(hop.function(), 2));
                p += DeviceScope.PATH_ENTRY_LENGTH;
            }
            off += sc.length();
        }
    }

    private static String subtableName(int type) {
        return switch (type) {
            case Dmar.TYPE_DRHD -> "Hardware Unit Definition";
            case Dmar.TYPE_RMRR -> "Reserved Memory Region";
            case Dmar.TYPE_ATSR -> "Root Port ATS Capability";
            case Dmar.TYPE_RHSA -> "Remapping Hardware Static Affinity";
            case Dmar.TYPE_ANDD -> "ACPI Namespace Device Declaration";
            case Dmar.TYPE_SATC -> "SoC Integrated Address Translation Cache";
            case Dmar.TYPE_SIDP -> "SoC Integrated Device Property";
            default -> "Unknown Subtable Type";
        };
    }

    private static String flagNames(int value, Map<Integer, String> names) {
        if (value == 0) return "";
        List<String> set = new ArrayList<>();
        for (int bit = 0; bit < 8; bit++) {
            if ((value & (1 << bit)) != 0) set.add(names.getOrDefault(1 << bit, "bit" + bit));
        }
        return "    [" + String.join(" ", set) + "]";
    }

    private static String hex(long v, int digits) {
        String s = Long.toHexString(v).toUpperCase();
        return "0".repeat(Math.max(0, digits - s.length())) + s;
    }

    private static String quoted(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return sb.append('"').toString();
    }

    private static final class Listing {
        private final StringBuilder sb = new StringBuilder();

        void field(int offset, int length, String name, String value) {
            sb.append(String.format("[%03Xh %04d %03Xh] %28s : %s%n", offset, offset, length, name, value));
        }

        void text(String line) {
            sb.append(line).append(System.lineSeparator());
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }

    // ------------------------------------------------------------------ Linux boot log

    /** Linux's lower bound on the host address width field: PAGE_SHIFT - 1 (dmar.c parse_dmar_table). */
    public static final int LINUX_MIN_HAW_FIELD = 12 - 1;
    /** Array sizes in Linux irq_remapping.c (MAX_IO_APICS, MAX_HPET_TBS). */
    public static final int LINUX_MAX_IO_APICS = 128;
    public static final int LINUX_MAX_HPET_TBS = 8;

    /**
     * The lines Linux logs for this table when it sits at physical {@code address}, in boot order:
     * ACPICA's table banner, {@code DMAR: Host address width}, one line per DRHD/RMRR/ATSR/RHSA/SATC and per
     * valid ANDD in table order, then (when the table's INTR_REMAP flag is set) the {@code DMAR-IR:} lines for
     * IOAPIC and HPET scopes.
     *
     * <p>Assumptions, since they depend on the hardware rather than the table: every unit reports interrupt
     * remapping in ECAP, and lines that print register values ({@code dmarN: reg_base_addr ... cap ... ecap})
     * are left out.
     *
     * <p>IOMMU numbering follows Linux: sequence ids ({@code dmarN}, the "IOMMU N" in the IOAPIC line) are handed
     * out in table order to DRHDs with a new (segment, base); the unit list that the IR code walks has
     * non-INCLUDE_PCI_ALL units in reverse table order (list_add at the head) followed by INCLUDE_PCI_ALL units
     * in table order (list_add_tail); an IOAPIC/HPET id already recorded for the same unit is not logged again.
     */
    public static List<String> kernelLog(DmarTable t, long address) {
        List<String> out = new ArrayList<>();
        out.add(String.format("ACPI: %-4.4s 0x%016X %06X (v%02d %-6.6s %-8.8s %08X %-4.4s %08X)",
                Dmar.SIGNATURE, address, t.length(), t.revision(), acpiString(t.oemId()),
                acpiString(t.oemTableId()), t.oemRevision(), acpiString(t.creatorId()), t.creatorRevision()));
        if (t.hostAddressWidthField() < LINUX_MIN_HAW_FIELD) {
            out.add("DMAR: Invalid DMAR haw");
            return out;
        }
        out.add("DMAR: Host address width " + t.hostAddressWidth());

        record Unit(DmarStructure.Drhd drhd, int seqId) {}
        Map<List<Long>, Unit> unitsByKey = new LinkedHashMap<>();
        List<Unit> unitList = new ArrayList<>();
        int drhdCount = 0;
        for (DmarStructure s : t.structures()) {
            switch (s) {
                case DmarStructure.Drhd d -> {
                    out.add(String.format("DMAR: DRHD base: %s flags: %s", kHex016(d.registerBase()), kHex(d.flags())));
                    drhdCount++;
                    List<Long> key = List.of((long) d.segment(), d.registerBase());
                    if (!unitsByKey.containsKey(key)) {
                        Unit u = new Unit(d, unitsByKey.size());
                        unitsByKey.put(key, u);
                        if (d.includePciAll()) unitList.addLast(u);
                        else unitList.addFirst(u);
                    }
                }
                case DmarStructure.Rmrr r -> out.add(String.format("DMAR: RMRR base: %s end: %s",
                        kHex016(r.base()), kHex016(r.limit())));
                case DmarStructure.Atsr a -> out.add("DMAR: ATSR flags: " + kHex(a.flags()));
                case DmarStructure.Rhsa r -> out.add(String.format("DMAR: RHSA base: %s proximity domain: %s",
                        kHex016(r.registerBase()), kHex(r.proximityDomain())));
                case DmarStructure.Andd a -> out.add(String.format("DMAR: ANDD device: %x name: %s",
                        a.deviceNumber(), a.name()));
                case DmarStructure.Satc c -> out.add("DMAR: SATC flags: " + kHex(c.flags()));
                case DmarStructure.Sidp p -> { /* Linux does not log SIDP structures */ }
                case DmarStructure.Unknown u -> { /* logged only at debug level by Linux */ }
            }
        }
        if (drhdCount == 0) {
            out.add("DMAR: [Firmware Bug]: No DRHD structure found in DMAR table");
        }
        if (!t.intrRemap()) {
            return out;
        }
        record Seen(Unit unit, int id) {}
        List<Seen> ioapics = new ArrayList<>();
        List<Seen> hpets = new ArrayList<>();
        for (Unit u : unitList) {
            for (DeviceScope sc : u.drhd().scopes()) {
                if (sc.type() == DeviceScope.TYPE_IOAPIC) {
                    Seen seen = new Seen(u, sc.enumerationId());
                    if (ioapics.contains(seen)) continue;
                    if (ioapics.size() == LINUX_MAX_IO_APICS) {
                        out.add("DMAR-IR: Exceeded Max IO APICS");
                        return out;
                    }
                    ioapics.add(seen);
                    out.add(String.format("DMAR-IR: IOAPIC id %d under DRHD base  0x%x IOMMU %d",
                            sc.enumerationId(), u.drhd().registerBase(), u.seqId()));
                } else if (sc.type() == DeviceScope.TYPE_MSI_CAPABLE_HPET) {
                    Seen seen = new Seen(u, sc.enumerationId());
                    if (hpets.contains(seen)) continue;
                    if (hpets.size() == LINUX_MAX_HPET_TBS) {
                        out.add("DMAR-IR: Exceeded Max HPET blocks");
                        return out;
                    }
                    hpets.add(seen);
                    out.add(String.format("DMAR-IR: HPET id %d under DRHD base 0x%x",
                            sc.enumerationId(), u.drhd().registerBase()));
                }
            }
        }
        return out;
    }

    /** The kernel's {@code %#x}: "0x" and lowercase hex, also for zero (unlike C's printf). */
    private static String kHex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** The kernel's {@code %#016Lx}: 16 characters including the "0x" prefix, zero-padded. */
    private static String kHex016(long v) {
        String s = Long.toHexString(v);
        return "0x" + "0".repeat(Math.max(0, 14 - s.length())) + s;
    }

    /** ACPICA's table-header cleanup: stop at NUL, non-printable characters become '?'. */
    private static String acpiString(String field) {
        StringBuilder sb = new StringBuilder();
        for (char c : field.toCharArray()) {
            if (c == 0) break;
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return sb.toString();
    }
}

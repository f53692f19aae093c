package dev.vtd.firmware.acpi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fields of an iasl-style DMAR disassembly ({@code iasl -d} output, or our own {@link DmarFormatter#iasl}),
 * grouped into header, structures and device scopes, and compared against a {@link DmarTable}.
 */
record DslTable(Map<String, String> header, List<Struct> structures) {
    record Struct(int type, Map<String, String> fields, List<Scope> scopes) {}

    record Scope(int type, Map<String, String> fields, List<PciPath> path) {}

    /** {@code [024h 0036   1]   Host Address Width : 2D} and {@code [024h 0036 001h] ...}. */
    private static final Pattern FIELD = Pattern.compile("^\\[\\s*([0-9A-Fa-f]+)h\\s+(\\d+)\\s+([0-9A-Fa-f]+h?)\\]\\s*(.*?)\\s+:\\s(.*)$");

    static DslTable read(String text) {
        Map<String, String> header = new LinkedHashMap<>();
        List<Struct> structures = new ArrayList<>();
        Struct struct = null;
        Scope scope = null;
        for (String line : text.split("\\R")) {
            if (line.startsWith("Raw Table Data")) break;
            Matcher m = FIELD.matcher(line);
            if (!m.matches()) continue;
            String name = m.group(4).trim();
            String value = m.group(5).trim();
            switch (name) {
                case "Subtable Type" -> {
                    struct = new Struct(hexInt(value), new LinkedHashMap<>(), new ArrayList<>());
                    structures.add(struct);
                    scope = null;
                }
                case "Device Scope Type" -> {
                    if (struct == null) fail("device scope outside a structure: " + line);
                    scope = new Scope(hexInt(value), new LinkedHashMap<>(), new ArrayList<>());
                    struct.scopes().add(scope);
                }
                case "PCI Path" -> {
                    if (scope == null) fail("PCI path outside a device scope: " + line);
                    String[] df = value.split(",");
                    scope.path().add(new PciPath(hexInt(df[0]), hexInt(df[1])));
                }
                default -> {
                    Map<String, String> into = scope != null ? scope.fields() : struct != null ? struct.fields() : header;
                    into.putIfAbsent(name, value);
                }
            }
        }
        return new DslTable(header, structures);
    }

    static long hex(String value) {
        String token = value.split("\\s+")[0];
        return Long.parseUnsignedLong(token, 16);
    }

    static int hexInt(String value) {
        return (int) hex(value);
    }

    static String quoted(String value) {
        int a = value.indexOf('"');
        int b = value.lastIndexOf('"');
        assertTrue(a >= 0 && b > a, "not a quoted string: " + value);
        return value.substring(a + 1, b);
    }

    private long headerHex(String name) {
        String v = header.get(name);
        if (v == null) fail("disassembly has no header field '" + name + "'");
        return hex(v);
    }

    private static long hexField(Map<String, String> fields, String name, String where) {
        String v = fields.get(name);
        if (v == null) fail(where + ": disassembly has no field '" + name + "' (has " + fields.keySet() + ")");
        return hex(v);
    }

    /**
     * Asserts that the disassembly shows the table's host address width, flags and, per structure, DRHD
     * base/flags/segment, RMRR segment/base/end, ATSR flags/segment, RHSA base/proximity domain, ANDD number/name
     * and every device scope's type, enumeration ID, start bus and path.
     */
    void assertDescribes(DmarTable t, String what) {
        assertEquals(t.hostAddressWidthField(), headerHex("Host Address Width"), what + ": host address width");
        assertEquals(t.flags(), headerHex("Flags"), what + ": flags");
        assertEquals(t.structures().size(), structures.size(), what + ": structure count");
        for (int i = 0; i < structures.size(); i++) {
            Struct d = structures.get(i);
            DmarStructure s = t.structures().get(i);
            String where = what + ": structure " + i + " (" + Dmar.structureName(s.type()) + ")";
            assertEquals(s.type(), d.type(), where + " type");
            Map<String, String> f = d.fields();
            switch (s) {
                case DmarStructure.Drhd drhd -> {
                    assertEquals(drhd.flags(), hexField(f, "Flags", where), where + " flags");
                    assertEquals(drhd.segment(), hexField(f, "PCI Segment Number", where), where + " segment");
                    assertEquals(drhd.registerBase(), hexField(f, "Register Base Address", where), where + " base");
                    assertScopes(drhd.scopes(), d, where);
                }
                case DmarStructure.Rmrr r -> {
                    assertEquals(r.segment(), hexField(f, "PCI Segment Number", where), where + " segment");
                    assertEquals(r.base(), hexField(f, "Base Address", where), where + " base");
                    assertEquals(r.limit(), hexField(f, "End Address (limit)", where), where + " end");
                    assertScopes(r.scopes(), d, where);
                }
                case DmarStructure.Atsr a -> {
                    assertEquals(a.flags(), hexField(f, "Flags", where), where + " flags");
                    assertEquals(a.segment(), hexField(f, "PCI Segment Number", where), where + " segment");
                    assertScopes(a.scopes(), d, where);
                }
                case DmarStructure.Rhsa r -> {
                    assertEquals(r.registerBase(), hexField(f, "Base Address", where), where + " base");
                    assertEquals(r.proximityDomain(), hexField(f, "Proximity Domain", where), where + " domain");
                }
                case DmarStructure.Andd a -> {
                    assertEquals(a.deviceNumber(), hexField(f, "Device Number", where), where + " device number");
                    assertEquals(a.name(), quoted(f.get("Device Name")), where + " name");
                }
                case DmarStructure.Satc c -> {
                    assertEquals(c.flags(), hexField(f, "Flags", where), where + " flags");
                    assertEquals(c.segment(), hexField(f, "PCI Segment Number", where), where + " segment");
                    assertScopes(c.scopes(), d, where);
                }
                case DmarStructure.Sidp p -> {
                    assertEquals(p.segment(), hexField(f, "PCI Segment Number", where), where + " segment");
                    assertScopes(p.scopes(), d, where);
                }
                case DmarStructure.Unknown u -> { /* only the type is shown */ }
            }
        }
    }

    private static void assertScopes(List<DeviceScope> scopes, Struct d, String where) {
        assertEquals(scopes.size(), d.scopes().size(), where + " scope count");
        for (int j = 0; j < scopes.size(); j++) {
            DeviceScope s = scopes.get(j);
            Scope ds = d.scopes().get(j);
            String w = where + " scope " + j;
            assertEquals(s.type(), ds.type(), w + " type");
            assertEquals(s.enumerationId(), hexField(ds.fields(), "Enumeration ID", w), w + " enumeration ID");
            assertEquals(s.startBus(), hexField(ds.fields(), "PCI Bus Number", w), w + " bus");
            assertEquals(s.path(), ds.path(), w + " path");
        }
    }
}

package dev.vtd.firmware.acpi;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The real firmware tables in shared/realdata/dmar: decoded as iasl decodes them, and re-encoded byte for byte. */
class DmarRealTablesTest {
    /** Has SATC and SIDP, which the iasl that produced expected.json cannot decode: checked by hand below. */
    static final String SURFACE_PRO_10 = "ms_surface_pro_10_business";

    static Stream<Path> realTables() {
        return Stream.concat(RealData.files(".fw.bin").stream(), RealData.files(".dat").stream());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> expectedTables() throws IOException {
        String json = Files.readString(RealData.dmarDir().resolve("expected.json"));
        Map<String, Object> root = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(json);
        return (Map<String, Object>) root.get("tables");
    }

    @Test
    void realFirmwareTablesHaveValidChecksums() {
        for (Path p : RealData.files(".fw.bin")) {
            assertEquals(0, DmarEncoder.sum(RealData.read(p)), p + ": bytes sum to 0 mod 256");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRealTableReEncodesByteForByte() {
        return realTables().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            byte[] bytes = RealData.read(p);
            DmarTable t = RealData.parse(p);
            assertEquals(List.of(), t.notes(), "nothing tolerated");
            assertArrayEquals(bytes, t.encode());
            assertEquals(t, DmarParser.parse(t.encode(), "re-encoded"));
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyRealTableMatchesExpectedJson() throws IOException {
        Map<String, Object> expected = expectedTables();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path p : realTables().toList()) {
            String name = RealData.baseName(p);
            if (name.equals(SURFACE_PRO_10)) continue;
            tests.add(DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
                Object exp = expected.get(name);
                if (exp == null) fail("expected.json has no entry for " + name);
                // expected.json describes the iasl-compiled .dat; firmware pads ANDD, so .fw.bin lengths differ.
                boolean compareLengths = p.getFileName().toString().endsWith(".dat");
                assertTable(asMap(exp), RealData.parse(p), compareLengths, p.getFileName().toString());
            }));
        }
        assertEquals(expected.size(), tests.size() / 2, "each expected table has a .fw.bin and a .dat");
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> everyRealTableMatchesItsPublishedDisassembly() {
        return RealData.files(".fw.bin").stream()
                .filter(p -> !RealData.baseName(p).equals(SURFACE_PRO_10))
                .map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
                    String dsl = Files.readString(p.resolveSibling(RealData.baseName(p) + ".dsl"));
                    DslTable.read(dsl).assertDescribes(RealData.parse(p), p.getFileName().toString());
                }));
    }

    @Test
    void surfacePro10SatcAndSidpDecodeAsItsDisassemblyShows() throws Exception {
        DmarTable t = RealData.parse(RealData.dmarDir().resolve(SURFACE_PRO_10 + ".fw.bin"));
        assertEquals(42, t.hostAddressWidth());
        assertEquals(Dmar.FLAG_INTR_REMAP | Dmar.FLAG_DMA_CTRL_PLATFORM_OPT_IN, t.flags());
        assertEquals(4, t.structures().size());
        // [068h] Subtable Type 0005, Length 0020, Flags 01, segment 0, endpoints 00:02.0, 00:05.0, 00:0B.0
        DmarStructure.Satc satc = assertInstanceOf(DmarStructure.Satc.class, t.structures().get(2));
        assertEquals(0x20, satc.length());
        assertTrue(satc.atcRequired());
        assertEquals(0, satc.segment());
        assertEquals(List.of(DeviceScope.endpoint(0, 2, 0), DeviceScope.endpoint(0, 5, 0), DeviceScope.endpoint(0, 0x0B, 0)),
                satc.scopes());
        // [088h] type 6, Length 0020 (iasl 20240322 stops at it); raw: 06 00 20 00 00 00 00 00, then endpoints
        // with device scope flags 1F, 1F, 1C.
        DmarStructure.Sidp sidp = assertInstanceOf(DmarStructure.Sidp.class, t.structures().get(3));
        assertEquals(0x20, sidp.length());
        assertEquals(0, sidp.segment());
        int allFive = DeviceScope.FLAG_REQ_WO_PASID_NESTED_NOTALLOWED | DeviceScope.FLAG_REQ_WO_PASID_PWSNP_NOTALLOWED
                | DeviceScope.FLAG_REQ_WO_PASID_PGSNP_NOTALLOWED | DeviceScope.FLAG_ATC_HARDENED
                | DeviceScope.FLAG_ATC_REQUIRED;
        assertEquals(List.of(
                new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT, allFive, 0, 0, List.of(new PciPath(2, 0))),
                new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT, allFive, 0, 0, List.of(new PciPath(5, 0))),
                new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT,
                        DeviceScope.FLAG_ATC_HARDENED | DeviceScope.FLAG_ATC_REQUIRED | DeviceScope.FLAG_REQ_WO_PASID_PGSNP_NOTALLOWED,
                        0, 0, List.of(new PciPath(0x0B, 0)))),
                sidp.scopes());
        // The DRHDs before them, as the disassembly lists them.
        DslTable dsl = DslTable.read(Files.readString(RealData.dmarDir().resolve(SURFACE_PRO_10 + ".dsl")));
        DslTable.read(DmarFormatter.iasl(t)).assertDescribes(t, "own listing");
        List<DslTable.Struct> drhds = dsl.structures().subList(0, 2);
        new DslTable(dsl.header(), drhds).assertDescribes(t.withStructures(t.structures().subList(0, 2)), SURFACE_PRO_10);
    }

    // ------------------------------------------------------------------ expected.json comparison

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> asList(Object o) {
        return (List<Object>) o;
    }

    private static long number(Object v) {
        if (v instanceof Number n) return n.longValue();
        String s = (String) v;
        return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    private static void assertTable(Map<String, Object> exp, DmarTable t, boolean compareLengths, String what) {
        for (Map.Entry<String, Object> e : exp.entrySet()) {
            Object v = e.getValue();
            String w = what + " " + e.getKey();
            switch (e.getKey()) {
                case "signature" -> assertEquals(v, Dmar.SIGNATURE, w);
                case "length" -> { if (compareLengths) assertEquals(number(v), t.length(), w); }
                case "revision" -> assertEquals(number(v), t.revision(), w);
                case "oem_id" -> assertEquals(v, t.oemIdText(), w);
                case "oem_table_id" -> assertEquals(v, t.oemTableIdText(), w);
                case "flags" -> assertEquals(number(v), t.flags(), w);
                case "host_address_width_field" -> assertEquals(number(v), t.hostAddressWidthField(), w);
                case "host_address_width_bits" -> assertEquals(number(v), t.hostAddressWidth(), w);
                case "structures" -> {
                    List<Object> list = asList(v);
                    assertEquals(list.size(), t.structures().size(), w + " count");
                    for (int i = 0; i < list.size(); i++) {
                        assertStructure(asMap(list.get(i)), t.structures().get(i), compareLengths, w + "[" + i + "]");
                    }
                }
                default -> fail(w + ": field not understood by this test");
            }
        }
    }

    private static void assertStructure(Map<String, Object> exp, DmarStructure s, boolean compareLengths, String what) {
        for (Map.Entry<String, Object> e : exp.entrySet()) {
            Object v = e.getValue();
            String w = what + " " + e.getKey();
            switch (e.getKey()) {
                case "type" -> assertEquals(number(v), s.type(), w);
                case "kind" -> assertEquals(v, Dmar.structureName(s.type()), w);
                case "length" -> { if (compareLengths || !(s instanceof DmarStructure.Andd)) assertEquals(number(v), s.length(), w); }
                case "flags" -> assertEquals(number(v), switch (s) {
                    case DmarStructure.Drhd d -> d.flags();
                    case DmarStructure.Atsr a -> a.flags();
                    default -> throw new AssertionError(w + " on " + s);
                }, w);
                case "include_pci_all" -> assertEquals(v, assertInstanceOf(DmarStructure.Drhd.class, s).includePciAll(), w);
                case "all_ports" -> assertEquals(v, assertInstanceOf(DmarStructure.Atsr.class, s).allPorts(), w);
                case "segment" -> assertEquals(number(v), switch (s) {
                    case DmarStructure.Drhd d -> d.segment();
                    case DmarStructure.Rmrr r -> r.segment();
                    case DmarStructure.Atsr a -> a.segment();
                    default -> throw new AssertionError(w + " on " + s);
                }, w);
                case "register_base" -> assertEquals(number(v), assertInstanceOf(DmarStructure.Drhd.class, s).registerBase(), w);
                case "base" -> assertEquals(number(v), switch (s) {
                    case DmarStructure.Rmrr r -> r.base();
                    case DmarStructure.Rhsa r -> r.registerBase();
                    default -> throw new AssertionError(w + " on " + s);
                }, w);
                case "end" -> assertEquals(number(v), assertInstanceOf(DmarStructure.Rmrr.class, s).limit(), w);
                case "proximity_domain" -> assertEquals(number(v), assertInstanceOf(DmarStructure.Rhsa.class, s).proximityDomain(), w);
                case "device_number" -> assertEquals(number(v), assertInstanceOf(DmarStructure.Andd.class, s).deviceNumber(), w);
                case "device_name" -> assertEquals(v, assertInstanceOf(DmarStructure.Andd.class, s).name(), w);
                case "scopes" -> {
                    List<DeviceScope> scopes = switch (s) {
                        case DmarStructure.Drhd d -> d.scopes();
                        case DmarStructure.Rmrr r -> r.scopes();
                        case DmarStructure.Atsr a -> a.scopes();
                        default -> throw new AssertionError(w + " on " + s);
                    };
                    List<Object> list = asList(v);
                    assertEquals(list.size(), scopes.size(), w + " count");
                    for (int i = 0; i < list.size(); i++) {
                        assertScope(asMap(list.get(i)), scopes.get(i), w + "[" + i + "]");
                    }
                }
                default -> fail(w + ": field not understood by this test");
            }
        }
    }

    private static void assertScope(Map<String, Object> exp, DeviceScope s, String what) {
        for (Map.Entry<String, Object> e : exp.entrySet()) {
            Object v = e.getValue();
            String w = what + " " + e.getKey();
            switch (e.getKey()) {
                case "type" -> assertEquals(number(v), s.type(), w);
                case "length" -> assertEquals(number(v), s.length(), w);
                case "enumeration_id" -> assertEquals(number(v), s.enumerationId(), w);
                case "start_bus" -> assertEquals(number(v), s.startBus(), w);
                case "path" -> {
                    List<PciPath> path = new ArrayList<>();
                    for (Object hop : asList(v)) {
                        Map<String, Object> h = asMap(hop);
                        path.add(new PciPath((int) number(h.get("device")), (int) number(h.get("function"))));
                    }
                    assertEquals(path, s.path(), w);
                }
                default -> fail(w + ": field not understood by this test");
            }
        }
    }
}

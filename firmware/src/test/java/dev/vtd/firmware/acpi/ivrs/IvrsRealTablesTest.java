package dev.vtd.firmware.acpi.ivrs;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 12 real IVRS tables of shared/realdata/ivrs: parsed strictly, described as ivrs.tsv says, re-encoded byte for byte. */
class IvrsRealTablesTest {

    @TestFactory
    Stream<DynamicTest> everyRealTableParsesAndReEncodesByteForByte() {
        return IvrsRealData.tables().stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            byte[] bytes = IvrsRealData.read(p);
            IvrsTable t = IvrsParser.parse(bytes, p.getFileName().toString());
            assertEquals(List.of(), t.notes(), "nothing tolerated");
            assertArrayEquals(bytes, t.encode());
            assertEquals(t, IvrsParser.parse(t.encode(), "re-encoded"));
        }));
    }

    /** ivrs.tsv's features column: rev, ivinfo, subtables=TYPExCOUNT, nIVHD, nIVMD, entries=KIND:COUNT, HIDs, EFR. */
    @TestFactory
    Stream<DynamicTest> everyRealTableHasTheFeaturesIvrsTsvLists() throws IOException {
        List<String> rows = Files.readAllLines(IvrsRealData.dir().resolve("ivrs.tsv"));
        assertEquals(IvrsRealData.tables().size(), rows.size() - 1, "one tsv row per table");
        return rows.stream().skip(1).map(row -> {
            String[] cols = row.split("\t");
            return DynamicTest.dynamicTest(cols[0], () -> {
                byte[] bytes = IvrsRealData.read(IvrsRealData.dir().resolve(cols[0] + ".ivrs.bin"));
                IvrsTable t = IvrsParser.parse(bytes, cols[0]);
                int checked = 0;
                for (String f : cols[2].split("; ")) {
                    int eq = f.indexOf('=');
                    if (f.startsWith("rev")) {
                        assertEquals(Integer.parseInt(f.substring(3)), t.revision(), f);
                    } else if (eq < 0) {
                        continue; // truncated or free text
                    } else {
                        String k = f.substring(0, eq), v = f.substring(eq + 1);
                        switch (k) {
                            case "ivinfo" -> assertEquals(Long.parseLong(v.substring(2), 16), t.ivInfo(), f);
                            case "nIVHD" -> assertEquals(Integer.parseInt(v), t.ivhds().size(), f);
                            case "nIVMD" -> assertEquals(Integer.parseInt(v), t.ivmds().size(), f);
                            case "subtables" -> assertEquals(v, subtableCounts(t), f);
                            case "entries" -> assertEquals(v, entryCounts(t), f);
                            case "HIDs" -> {
                                if (!v.contains(",") && v.length() == 8) {
                                    assertTrue(t.ivhds().stream().flatMap(h -> h.entries().stream())
                                            .anyMatch(e -> e instanceof IvhdDeviceEntry.AcpiHid a
                                                    && IvrsTable.upToNul(a.hid()).equals(v)), f);
                                }
                            }
                            case "EFR" -> {
                                if (v.length() == 18) {
                                    long efr = Long.parseUnsignedLong(v.substring(2), 16);
                                    assertTrue(t.ivhds().stream().anyMatch(h -> h.efrImage() == efr), f);
                                }
                            }
                            case "nIOMMU" -> assertEquals(Integer.parseInt(v), t.ivhds().stream()
                                    .map(h -> h.segment() << 16 | h.deviceId()).distinct().count(), f);
                            case "IVMDtypes" -> assertEquals(v, String.join(",", t.ivmds().stream()
                                    .map(m -> String.format("%02x", m.type())).distinct().toList()), f);
                            case "IVHDflags" -> {
                                if (v.endsWith(":")) continue; // truncated in the tsv
                                Map<Integer, Integer> firstFlags = new TreeMap<>();
                                for (IvrsSubtable.Ivhd h : t.ivhds()) firstFlags.putIfAbsent(h.type(), h.flags());
                                StringBuilder sb = new StringBuilder();
                                firstFlags.forEach((ty, fl) -> sb.append(sb.isEmpty() ? "" : ",")
                                        .append(String.format("%02x:%02x", ty, fl)));
                                assertEquals(v, sb.toString(), f);
                            }
                            case "specials(1st IVHD)" -> {
                                StringBuilder sb = new StringBuilder();
                                for (IvhdDeviceEntry e : t.ivhds().getFirst().entries()) {
                                    if (e instanceof IvhdDeviceEntry.Fixed8 s8 && s8.type() == Ivrs.DEV_SPECIAL) {
                                        int d = s8.sourceDeviceId();
                                        sb.append(sb.isEmpty() ? "" : ",").append(String.format("%s[%d]@%02x:%02x.%d",
                                                s8.variety() == Ivrs.VARIETY_IOAPIC ? "ioapic" : "hpet", s8.handle(),
                                                d >> 8, d >> 3 & 0x1F, d & 7));
                                    }
                                }
                                assertEquals(v, sb.toString(), f);
                            }
                            default -> { continue; }
                        }
                    }
                    checked++;
                }
                assertTrue(checked >= 7, "checked " + checked + " features of " + cols[0]);
            });
        });
    }

    static String subtableCounts(IvrsTable t) {
        Map<Integer, Integer> m = new TreeMap<>();
        for (IvrsSubtable s : t.subtables()) m.merge(s.type(), 1, Integer::sum);
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(String.format("%02x", k)).append('x').append(v));
        return sb.toString();
    }

    static String entryCounts(IvrsTable t) {
        Map<String, Integer> m = new TreeMap<>();
        for (IvrsSubtable.Ivhd h : t.ivhds()) {
            for (IvhdDeviceEntry e : h.entries()) {
                String kind = switch (e.type()) {
                    case Ivrs.DEV_PAD4 -> "pad";
                    case Ivrs.DEV_ALL -> "all";
                    case Ivrs.DEV_SELECT -> "select";
                    case Ivrs.DEV_RANGE_START -> "range_start";
                    case Ivrs.DEV_RANGE_END -> "range_end";
                    case Ivrs.DEV_ALIAS_SELECT -> "alias_select";
                    case Ivrs.DEV_ALIAS_RANGE -> "alias_range";
                    case Ivrs.DEV_EXT_SELECT -> "ext_select";
                    case Ivrs.DEV_EXT_RANGE -> "ext_range";
                    case Ivrs.DEV_SPECIAL -> ((IvhdDeviceEntry.Fixed8) e).variety() == Ivrs.VARIETY_IOAPIC
                            ? "special_ioapic" : "special_hpet";
                    case Ivrs.DEV_ACPI_HID -> "acpihid";
                    default -> String.format("type%02x", e.type());
                };
                m.merge(kind, 1, Integer::sum);
            }
        }
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append(':').append(v));
        return sb.toString();
    }

    @TestFactory
    Stream<DynamicTest> everyRealTableIsListedAsIaslDisassemblesIt(@TempDir Path tmp) {
        return IvrsRealData.tables().stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            byte[] bytes = IvrsRealData.read(p);
            Path sub = Files.createDirectory(tmp.resolve(IvrsRealData.baseName(p)));
            String dsl = IvrsRealData.iaslDisassemble(bytes, sub);
            IvrsTable t = IvrsParser.parse(bytes, p.getFileName().toString());
            IvrsRealData.assertSameAsIasl(IvrsFormatter.fieldLines(t), dsl, p.getFileName().toString());
        }));
    }

    @Test
    void undocumentedSubtableType51IsSteppedOverByItsLengthAndKeptRaw() throws Exception {
        Path p = IvrsRealData.dir().resolve("notebook_lenovo_thinkpad_t14gen3_rembrandt_ivmd21_type51.ivrs.bin");
        IvrsTable t = IvrsParser.parse(IvrsRealData.read(p), "t14");
        IvrsSubtable last = t.subtables().getLast();
        assertEquals(0x51, last.type());
        assertEquals(0x20, last.length());
        assertTrue(last instanceof IvrsSubtable.Unknown);
    }

    @Test
    void picassoAcpiHidEntryNamesPnpd0040() throws Exception {
        Path p = IvrsRealData.dir().resolve("notebook_lenovo_thinkpad_e495_picasso_pnpd0040.ivrs.bin");
        IvrsTable t = IvrsParser.parse(IvrsRealData.read(p), "e495");
        List<IvhdDeviceEntry.AcpiHid> hids = t.ivhds().stream().flatMap(h -> h.entries().stream())
                .filter(IvhdDeviceEntry.AcpiHid.class::isInstance).map(IvhdDeviceEntry.AcpiHid.class::cast).toList();
        assertEquals(1, hids.size());
        assertEquals("PNPD0040", hids.getFirst().hid());
        assertEquals(0x40, t.ivhds().getLast().type());
    }
}

package dev.vtd.firmware.acpi.ivrs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tables built from a Java description: they parse back to the description, and iasl reads what we meant. */
class IvrsBuiltTablesTest {
    /** Every kind of subtable and device entry, for round trips and the iasl check (iasl 20200925 has no 40h). */
    static IvrsTable everyKind(boolean with40h) {
        int iommu = IvrsTables.devid(0, 0, 2);
        List<IvhdDeviceEntry> all = List.of(
                IvhdDeviceEntry.all(0), new IvhdDeviceEntry.Fixed4(Ivrs.DEV_PAD4, 0, 0),
                IvhdDeviceEntry.select(IvrsTables.devid(0, 1, 0), 0x01),
                IvhdDeviceEntry.rangeStart(IvrsTables.devid(1, 0, 0), 0), IvhdDeviceEntry.rangeEnd(IvrsTables.devid(1, 31, 7)),
                IvhdDeviceEntry.alias(false, IvrsTables.devid(2, 0, 0), 0, IvrsTables.devid(0, 4, 0)),
                IvhdDeviceEntry.alias(true, IvrsTables.devid(3, 0, 0), 0, IvrsTables.devid(0, 5, 0)),
                IvhdDeviceEntry.rangeEnd(IvrsTables.devid(3, 31, 7)),
                IvhdDeviceEntry.extended(false, IvrsTables.devid(4, 0, 0), 0, 0x80000000L),
                IvhdDeviceEntry.extended(true, IvrsTables.devid(5, 0, 0), 0, 0x80000000L),
                IvhdDeviceEntry.rangeEnd(IvrsTables.devid(5, 31, 7)),
                IvhdDeviceEntry.ioapic(0x21, IvrsTables.SOUTHBRIDGE_IOAPIC_DEVID, 0xD7), IvhdDeviceEntry.hpet(0, 0xA0));
        List<IvrsSubtable> subs = new java.util.ArrayList<>(List.of(
                new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0x3E, iommu, 0x40, 0xFEB80000L, 0, 0x13, 0x80048F6EL, 0, 0, all),
                new IvrsSubtable.Ivhd(Ivrs.IVHD_11, 0x30, iommu, 0x40, 0xFEB80000L, 0, 0x13, 0x48000, 0x246577EFA2254AFAL, 0, all),
                new IvrsSubtable.Ivmd(Ivrs.IVMD_ALL, IvrsSubtable.Ivmd.FLAG_EXCLUSION_RANGE, 0, 0, 0xA0000000L, 0x100000),
                new IvrsSubtable.Ivmd(Ivrs.IVMD_SELECT, 7, IvrsTables.devid(3, 0, 0), 0, 0x7132F000L, 0x26000),
                new IvrsSubtable.Ivmd(Ivrs.IVMD_RANGE, 7, IvrsTables.devid(1, 0, 0), IvrsTables.devid(1, 31, 7), 0x1000, 0x1000)));
        if (with40h) {
            subs.add(new IvrsSubtable.Ivhd(Ivrs.IVHD_40, 0x30, iommu, 0x40, 0xFEB80000L, 0, 0x13, 0x48000,
                    0x246577EFA2254AFAL, 1, IvrsTables.clientEntries(true)));
        }
        return IvrsTable.of("VTD", "EVERY", IvrsTables.ZEN_IVINFO, subs);
    }

    @Test
    void parseOfBuildIsTheDescription() throws Exception {
        for (IvrsTable t : List.of(everyKind(true), everyKind(false), IvrsTables.zenDesktop())) {
            byte[] bytes = t.encode();
            assertEquals(0, IvrsTable.sum(bytes), "checksum");
            assertEquals(t.length(), bytes.length);
            assertEquals(t, IvrsParser.parse(bytes, "built"));
            assertArrayEquals(bytes, IvrsParser.parse(bytes, "built").encode());
        }
    }

    @Test
    void ivInfoFieldsAreWhereTheSpecificationPutsThem() {
        IvrsTable t = IvrsTables.zenDesktop();
        assertEquals(0x00203041L, t.ivInfo());
        assertTrue(t.efrSup());
        assertEquals(false, t.dmaRemapSup());
        assertEquals(2, t.gvaSize());
        assertEquals(48, t.paSize());
        assertEquals(64, t.vaSize());
        assertEquals(false, t.htAtsResv());
        assertEquals(0x00603043L, IvrsTable.ivInfo(true, true, 2, 48, 64, true));
    }

    @Test
    void specialEntryCarriesHandleUsedIdAndVariety() {
        IvhdDeviceEntry.Fixed8 e = IvhdDeviceEntry.ioapic(0x21, 0xA0, 0xD7);
        assertEquals(0x0100A021L, e.data());
        assertEquals(0x21, e.handle());
        assertEquals(0xA0, e.sourceDeviceId());
        assertEquals(Ivrs.VARIETY_IOAPIC, e.variety());
    }

    @Test
    void descriptionsThatDoNotFitTheirFieldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new IvhdDeviceEntry.Fixed4(0x43, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new IvhdDeviceEntry.Fixed8(0x02, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new IvhdDeviceEntry.Fixed4(2, 0x10000, 0));
        assertThrows(IllegalArgumentException.class, () -> new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0, 0, 0, 0, 0, 0, 0, 1, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new IvhdDeviceEntry.AcpiHid(0, 0, "TOOLONGHID", "", 0, ""));
        assertThrows(IllegalArgumentException.class, () -> IvrsTable.of("SEVENCH", "X", 0, List.of()));
    }

    @Test
    void iaslDisassemblesTheBuiltTableToTheSameFields(@TempDir Path dir) throws Exception {
        IvrsTable t = everyKind(false);
        String dsl = IvrsRealData.iaslDisassemble(t.encode(), dir);
        IvrsRealData.assertSameAsIasl(IvrsFormatter.fieldLines(t), dsl, "iasl -d of a built table");
    }
}

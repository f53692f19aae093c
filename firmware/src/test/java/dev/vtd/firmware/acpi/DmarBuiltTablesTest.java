package dev.vtd.firmware.acpi;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tables built from the model: lengths, checksum, round trip, the Linux boot lines and ACPICA's view of them. */
class DmarBuiltTablesTest {
    @Test
    void dellR630TableHasTheFirmwareLengthAndAValidChecksum() {
        byte[] bytes = DmarTables.dellR630().encode();
        assertEquals(0x108, bytes.length);
        assertEquals(0x108, DmarTables.dellR630().length());
        assertEquals(0, DmarEncoder.sum(bytes));
        assertEquals("DMAR", new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(45, bytes[Dmar.OFF_HOST_ADDRESS_WIDTH], "host address width field = 46 - 1");
        assertEquals(Dmar.FLAG_INTR_REMAP | Dmar.FLAG_X2APIC_OPT_OUT, bytes[Dmar.OFF_FLAGS]);
    }

    @Test
    void builtTableParsesBackEqualAndReEncodesByteForByte() throws DmarFormatException {
        DmarTable built = DmarTables.dellR630();
        byte[] bytes = built.encode();
        DmarTable parsed = DmarParser.parse(bytes, "r630");
        assertEquals(built, parsed);
        assertArrayEquals(bytes, parsed.encode());
    }

    @Test
    void builtStructuresUseTheirMinimalLengths() {
        assertEquals(8, DeviceScope.endpoint(0, 2, 0).length());
        assertEquals(10, new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT, 0, 0, 0,
                List.of(new PciPath(1, 0), new PciPath(0, 0))).length());
        assertEquals(16, new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xFED90000L, List.of()).length());
        assertEquals(23, new DmarStructure.Andd(1, "\\_SB.PCI0.I2C0").length(), "8 + 14 characters + NUL");
        assertEquals(20, new DmarStructure.Rhsa(0xFED90000L, 0).length());
        assertEquals(24, new DmarStructure.Rmrr(0, 0x7B71F000L, 0x7B73EFFFL, List.of()).length());
    }

    @Test
    void paddedAnddKeepsItsLengthAndZeroPadding() throws DmarFormatException {
        DmarStructure.Andd padded = new DmarStructure.Andd(1, "\\_SB.PCI0.I2C0", 0x1C);
        byte[] b = padded.encode();
        assertEquals(0x1C, b.length);
        assertEquals(0x1C, b[2]);
        for (int i = 23; i < 0x1C; i++) assertEquals(0, b[i]);
        DmarTable t = DmarTable.of("VTD", "ANDD", 39, 0, List.of(padded));
        assertEquals(t, DmarParser.parse(t.encode(), "andd"));
    }

    @Test
    void modelRejectsValuesThatDoNotFitTheirFields() {
        assertThrows(IllegalArgumentException.class, () -> new PciPath(256, 0));
        assertThrows(IllegalArgumentException.class, () -> new DeviceScope(DeviceScope.TYPE_IOAPIC, 0, 8, 0xF0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new DmarStructure.Andd(1, "bad\0name"));
        assertThrows(IllegalArgumentException.class, () -> new DmarStructure.Andd(1, "\\_SB", 10));
        assertThrows(IllegalArgumentException.class, () -> DmarTable.of("TOO LONG", "X", 39, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new DmarStructure.Drhd(0x100, 0, 0, 0, List.of()));
    }

    // ------------------------------------------------------------------ Linux boot lines

    @Test
    void dellR630BootLinesAreThoseLinuxPrints() {
        assertEquals(List.of(
                "ACPI: DMAR 0x000000007BAFE000 000108 (v01 DELL   PE_SC3   00000001 DELL 00000001)",
                "DMAR: Host address width 46",
                "DMAR: DRHD base: 0x000000fbffc000 flags: 0x0",
                "DMAR: DRHD base: 0x000000c7ffc000 flags: 0x1",
                "DMAR: RMRR base: 0x0000007b71f000 end: 0x0000007b73efff",
                "DMAR: ATSR flags: 0x0",
                "DMAR: ATSR flags: 0x0",
                "DMAR: RHSA base: 0x000000c7ffc000 proximity domain: 0x0",
                "DMAR: RHSA base: 0x000000fbffc000 proximity domain: 0x1",
                "DMAR-IR: IOAPIC id 10 under DRHD base  0xfbffc000 IOMMU 0",
                "DMAR-IR: IOAPIC id 8 under DRHD base  0xc7ffc000 IOMMU 1",
                "DMAR-IR: IOAPIC id 9 under DRHD base  0xc7ffc000 IOMMU 1",
                "DMAR-IR: HPET id 0 under DRHD base 0xc7ffc000"),
                DmarFormatter.kernelLog(DmarTables.dellR630(), DmarTables.DELL_R630_ADDRESS));
    }

    @Test
    void interruptRemappingWalksSpecificUnitsNewestFirstThenIncludeAllUnits() {
        // Linux: dmar_register_drhd_unit adds INCLUDE_PCI_ALL units at the tail, others at the head; sequence
        // ids (IOMMU n) follow table order.
        DmarTable t = DmarTable.of("VTD", "ORDER", 39, Dmar.FLAG_INTR_REMAP, List.of(
                new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xA000L, List.of(
                        DeviceScope.ioapic(1, 0, 0x1F, 0))),
                new DmarStructure.Drhd(0, 0, 0, 0xB000L, List.of(DeviceScope.ioapic(2, 0x40, 5, 4))),
                new DmarStructure.Drhd(0, 0, 0, 0xC000L, List.of(DeviceScope.ioapic(3, 0x80, 5, 4),
                        DeviceScope.ioapic(3, 0x80, 5, 4), DeviceScope.hpet(0, 0x80, 0x0F, 0)))));
        List<String> ir = DmarFormatter.kernelLog(t, 0).stream().filter(l -> l.startsWith("DMAR-IR:")).toList();
        assertEquals(List.of(
                "DMAR-IR: IOAPIC id 3 under DRHD base  0xc000 IOMMU 2",
                "DMAR-IR: HPET id 0 under DRHD base 0xc000",
                "DMAR-IR: IOAPIC id 2 under DRHD base  0xb000 IOMMU 1",
                "DMAR-IR: IOAPIC id 1 under DRHD base  0xa000 IOMMU 0"), ir, "duplicate IOAPIC 3 logged once");
    }

    @Test
    void withoutIntrRemapFlagNoInterruptRemappingLinesAppear() {
        DmarTable r630 = DmarTables.dellR630();
        DmarTable noIr = new DmarTable(r630.revision(), r630.oemId(), r630.oemTableId(), r630.oemRevision(),
                r630.creatorId(), r630.creatorRevision(), r630.hostAddressWidthField(), Dmar.FLAG_X2APIC_OPT_OUT,
                r630.structures(), List.of());
        assertTrue(DmarFormatter.kernelLog(noIr, 0).stream().noneMatch(l -> l.startsWith("DMAR-IR:")));
    }

    @Test
    void hostAddressWidthBelowPageShiftIsRejectedAsLinuxDoes() {
        DmarTable t = DmarTable.of("VTD", "HAW", 11, 0, List.of());
        assertEquals(List.of("ACPI: DMAR 0x0000000000000000 000030 (v01 VTD    HAW      00000001 VTD  00000001)",
                "DMAR: Invalid DMAR haw"), DmarFormatter.kernelLog(t, 0));
    }

    @Test
    void surfaceBook2BootLinesIncludeEachAnddAndTheHpet() throws DmarFormatException {
        DmarTable t = RealData.parse(RealData.dmarDir().resolve("ms_surface_book_2.fw.bin"));
        assertEquals(List.of(
                "ACPI: DMAR 0x0000000000000000 00015C (v01 MSFT   MSFT     00000001 INTL 00000001)",
                "DMAR: Host address width 39",
                "DMAR: DRHD base: 0x000000fed90000 flags: 0x0",
                "DMAR: DRHD base: 0x000000fed91000 flags: 0x1",
                "DMAR: RMRR base: 0x0000003e2e0000 end: 0x0000003e2fffff",
                "DMAR: RMRR base: 0x0000008d000000 end: 0x0000008f7fffff",
                "DMAR: ANDD device: 1 name: \\_SB.PCI0.I2C0",
                "DMAR: ANDD device: 2 name: \\_SB.PCI0.I2C1",
                "DMAR: ANDD device: 3 name: \\_SB.PCI0.I2C2",
                "DMAR: ANDD device: 4 name: \\_SB.PCI0.I2C3",
                "DMAR: ANDD device: 9 name: \\_SB.PCI0.UA00",
                "DMAR-IR: IOAPIC id 2 under DRHD base  0xfed91000 IOMMU 1",
                "DMAR-IR: HPET id 0 under DRHD base 0xfed91000"),
                DmarFormatter.kernelLog(t, 0));
    }

    // ------------------------------------------------------------------ iasl-style listing

    @Test
    void listingShowsEveryFieldWithOffsetLengthNameAndValue() {
        String listing = DmarFormatter.iasl(DmarTables.dellR630());
        assertTrue(listing.contains("[004h 0004 004h]                 Table Length : 00000108"), listing);
        assertTrue(listing.contains("[024h 0036 001h]           Host Address Width : 2D    [46 bits]"), listing);
        assertTrue(listing.contains("[025h 0037 001h]                        Flags : 03    [INTR_REMAP X2APIC_OPT_OUT]"), listing);
        assertTrue(listing.contains("[038h 0056 008h]        Register Base Address : 00000000FBFFC000"), listing);
        assertTrue(listing.contains("[046h 0070 002h]                     PCI Path : 05,04"), listing);
    }

    @Test
    void listingDescribesEveryRealTableAndTheBuiltOne() throws DmarFormatException {
        List<DmarTable> tables = new ArrayList<>();
        tables.add(DmarTables.dellR630());
        for (Path p : RealData.files(".fw.bin")) tables.add(RealData.parse(p));
        for (DmarTable t : tables) {
            DslTable.read(DmarFormatter.iasl(t)).assertDescribes(t, t.oemTableIdText());
        }
    }

    // ------------------------------------------------------------------ ACPICA cross-check

    /**
     * ACPICA's disassembler reads our binary as we meant it: host address width, flags, DRHD base/flags/segment,
     * scopes, RMRR range, ATSR flags, RHSA.
     */
    @Test
    void iaslDisassemblesTheBuiltTableToTheSameFields(@TempDir Path dir) throws Exception {
        DmarTable t = DmarTables.dellR630();
        DslTable.read(iaslDisassemble(t.encode(), dir)).assertDescribes(t, "iasl -d of the Dell R630 table");
    }

    @Test
    void iaslDisassemblesATableWithAnddAndRmrrToTheSameFields(@TempDir Path dir) throws Exception {
        DmarTable t = DmarTable.of("VTD", "ANDD", 39, Dmar.FLAG_INTR_REMAP | Dmar.FLAG_DMA_CTRL_PLATFORM_OPT_IN, List.of(
                new DmarStructure.Drhd(0, 0, 0, 0xFED90000L, List.of(DeviceScope.endpoint(0, 2, 0))),
                new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xFED91000L, List.of(
                        DeviceScope.ioapic(2, 0xF0, 0x1F, 0), DeviceScope.hpet(0, 0, 0x1F, 0),
                        DeviceScope.acpiNamespaceDevice(1, 0, 0x15, 0))),
                new DmarStructure.Rmrr(0, 0x8A9B3000L, 0x8A9D2FFFL, List.of(DeviceScope.endpoint(0, 0x14, 0),
                        new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT, 0, 0, 0, List.of(new PciPath(0x1C, 0), new PciPath(0, 0))))),
                new DmarStructure.Atsr(DmarStructure.Atsr.FLAG_ALL_PORTS, 1, List.of()),
                new DmarStructure.Rhsa(0xFED91000L, 3),
                new DmarStructure.Andd(1, "\\_SB.PCI0.I2C0", 0x1C)));
        DslTable.read(iaslDisassemble(t.encode(), dir)).assertDescribes(t, "iasl -d of a built ANDD table");
    }

    static String iaslDisassemble(byte[] table, Path dir) throws IOException, InterruptedException {
        Path bin = dir.resolve("dmar.dat");
        Files.write(bin, table);
        Process p;
        try {
            p = new ProcessBuilder("iasl", "-d", bin.getFileName().toString()).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("iasl.log").toFile()).start();
        } catch (IOException notInstalled) {
            Assumptions.abort("iasl (Debian package acpica-tools) not installed");
            throw new AssertionError("unreachable");
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("iasl -d did not finish");
        }
        Path dsl = dir.resolve("dmar.dsl");
        assertEquals(0, p.exitValue(), () -> "iasl -d failed: " + readQuietly(dir.resolve("iasl.log")));
        assertTrue(Files.exists(dsl), "iasl wrote no dmar.dsl");
        return Files.readString(dsl);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}

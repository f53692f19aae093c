package dev.vtd.firmware.acpi.ivrs;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile IVRS bytes: an IvrsFormatException naming the offset, never another exception. */
class IvrsMalformedTableTest {
    static byte[] fixChecksum(byte[] b) {
        b[Ivrs.OFF_CHECKSUM] = 0;
        b[Ivrs.OFF_CHECKSUM] = (byte) -IvrsTable.sum(b);
        return b;
    }

    static IvrsFormatException reject(byte[] b) {
        return assertThrows(IvrsFormatException.class, () -> IvrsParser.parse(b, "t"));
    }

    static byte[] base() {
        return IvrsBuiltTablesTest.everyKind(true).encode();
    }

    @Test
    void wrongSignatureIsRejectedAtOffsetZero() {
        byte[] b = base();
        b[0] = 'D';
        assertEquals(0, reject(b).offset());
    }

    @Test
    void badChecksumIsRejectedAtTheChecksumByteWithTheValidValue() throws Exception {
        byte[] b = base();
        int good = b[9] & 0xFF;
        b[9]++;
        IvrsFormatException e = reject(b);
        assertEquals(9, e.offset());
        assertTrue(e.problem().contains(String.format("checksum 0x%02x would be valid", good)), e.problem());
        IvrsParser.parse(b, "t", false); // accepted with the check off
    }

    @Test
    void lengthFieldDisagreeingWithTheDataIsRejected() {
        byte[] b = base();
        b[4]++;
        assertEquals(4, reject(fixChecksum(b)).offset());
    }

    @Test
    void unknownSubtableTypeIsSkippedByItsLengthAndKept() throws Exception {
        IvrsTable t = IvrsBuiltTablesTest.everyKind(false);
        byte[] raw = new byte[12];
        raw[0] = 0x51;
        raw[2] = 12;
        raw[5] = 3;
        java.util.List<IvrsSubtable> subs = new java.util.ArrayList<>(t.subtables());
        subs.add(1, new IvrsSubtable.Unknown(raw));
        IvrsTable with = IvrsTable.of("VTD", "EVERY", t.ivInfo(), subs);
        IvrsTable back = IvrsParser.parse(with.encode(), "t");
        assertEquals(with, back);
        assertEquals(t.ivhds(), back.ivhds());
        assertTrue(IvrsFormatter.iasl(back).contains("**** Unknown IVRS subtable type 0x51"));
    }

    @Test
    void subtableShorterThanItsHeaderIsRejectedAtItsOffset() {
        byte[] b = base();
        b[48 + 2] = 2;
        b[48 + 3] = 0;
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(48, e.offset());
        assertTrue(e.problem().contains("shorter than its 4-byte header"), e.problem());
    }

    @Test
    void subtableRunningPastTheTableIsRejected() {
        byte[] b = base();
        b[48 + 3] = (byte) 0x7F;
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(48, e.offset());
        assertTrue(e.problem().contains("runs past the end of the table"), e.problem());
    }

    @Test
    void ivhdShorterThanItsHeaderIsRejected() {
        // A 24-byte IVHD 10h relabelled 11h, whose header is 40 bytes.
        IvrsTable t = IvrsTable.of("VTD", "X", 0, java.util.List.of(new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0, 2, 0x40, 0,
                0, 0, 0, 0, 0, java.util.List.of())));
        byte[] b = t.encode();
        b[48] = 0x11;
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(48, e.offset());
        assertTrue(e.problem().contains("IVHD type 0x11 length 24 is shorter than its 40-byte header"), e.problem());
    }

    @Test
    void deviceEntryRunningPastItsIvhdIsRejectedAtTheEntry() throws Exception {
        IvrsTable t = IvrsTable.of("VTD", "X", 0, java.util.List.of(new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0, 2, 0x40, 0xFEB80000L,
                0, 0, 0, 0, 0, java.util.List.of(IvhdDeviceEntry.select(8, 0), IvhdDeviceEntry.select(16, 0)))));
        byte[] b = t.encode();
        int entry = 48 + 24 + 4;
        b[entry] = Ivrs.DEV_ALIAS_SELECT; // an 8-byte entry with 4 bytes left
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(entry, e.offset());
        assertTrue(e.problem().contains("type 0x42 (8 bytes) runs past the end of its IVHD type 0x10"), e.problem());
    }

    @Test
    void entryTypesWithoutADefinedLengthAreRejected() {
        IvrsTable t = IvrsTable.of("VTD", "X", 0, java.util.List.of(new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0, 2, 0x40, 0,
                0, 0, 0, 0, 0, java.util.List.of(IvhdDeviceEntry.select(8, 0)))));
        byte[] b = t.encode();
        b[72] = (byte) 0x80;
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(72, e.offset());
        assertTrue(e.problem().contains("no defined length"), e.problem());
    }

    @Test
    void acpiHidUidRunningPastItsIvhdIsRejected() {
        IvrsTable t = IvrsTable.of("VTD", "X", 0, java.util.List.of(new IvrsSubtable.Ivhd(Ivrs.IVHD_40, 0, 2, 0x40, 0,
                0, 0, 0, 0, 0, java.util.List.of(new IvhdDeviceEntry.AcpiHid(0xA5, 0, "AMDI0020", "", 2, "\\_SB.FUR0")))));
        byte[] b = t.encode();
        b[48 + 40 + 21] = 10; // UID one byte longer than the IVHD holds
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(48 + 40, e.offset());
    }

    @Test
    void ivmdNot32BytesIsRejected() {
        IvrsTable t = IvrsTable.of("VTD", "X", 0, java.util.List.of(new IvrsSubtable.Ivmd(Ivrs.IVMD_ALL, 0, 0, 0, 0, 0)));
        byte[] b = new byte[t.length() + 4];
        System.arraycopy(t.encode(), 0, b, 0, t.length());
        b[4] = (byte) b.length;
        b[50] = 36;
        IvrsFormatException e = reject(fixChecksum(b));
        assertEquals(48, e.offset());
        assertTrue(e.problem().contains("is not 32"), e.problem());
    }

    @Test
    void nonZeroReservedBytesAreToleratedAndNoted() throws Exception {
        byte[] b = base();
        b[44] = 1;
        IvrsTable t = IvrsParser.parse(fixChecksum(b), "t");
        assertEquals(1, t.notes().size());
        assertTrue(t.notes().getFirst().startsWith("offset 0x28: reserved header bytes"));
    }

    @Test
    void everyTruncationAndRandomCorruptionYieldsATableOrAFormatException() {
        byte[] good = base();
        for (int n = 0; n < good.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(good, n);
            if (n >= 10) { cut[4] = (byte) n; cut[5] = (byte) (n >> 8); fixChecksum(cut); }
            try { IvrsParser.parse(cut, "cut"); } catch (IvrsFormatException expected) { }
        }
        Random r = new Random(17);
        for (int i = 0; i < 1000; i++) {
            byte[] b = good.clone();
            for (int k = 0; k < 1 + r.nextInt(6); k++) b[48 + r.nextInt(b.length - 48)] = (byte) r.nextInt(256);
            try {
                IvrsTable t = IvrsParser.parse(fixChecksum(b), "fuzz");
                IvrsFormatter.iasl(t);
                if (t.notes().isEmpty()) assertEquals(t, IvrsParser.parse(t.encode(), "again"));
            } catch (IvrsFormatException expected) { }
        }
        assertEquals("IVRS", new String(good, 0, 4, StandardCharsets.US_ASCII));
    }
}

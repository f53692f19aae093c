package dev.vtd.firmware.acpi;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Each layout rule of VT-d chapter 8 that the parser enforces, broken on purpose; and random damage. */
class DmarMalformedTableTest {
    private static final String SOURCE = "dmar.bin";

    /** A header (valid length and checksum) followed by the given structure bytes. */
    private static byte[] table(byte[]... structures) {
        int n = Dmar.HEADER_LENGTH;
        for (byte[] s : structures) n += s.length;
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        b.put(DmarTable.of("VTD", "TEST", 39, Dmar.FLAG_INTR_REMAP, List.of()).encode());
        for (byte[] s : structures) b.put(s);
        return fixLengthAndChecksum(b.array());
    }

    private static byte[] fixLengthAndChecksum(byte[] t) {
        if (t.length >= Dmar.HEADER_LENGTH) {
            ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).putInt(Dmar.OFF_LENGTH, t.length);
            t[Dmar.OFF_CHECKSUM] = 0;
            t[Dmar.OFF_CHECKSUM] = (byte) -DmarEncoder.sum(t);
        }
        return t;
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    /** A structure header (type, length little-endian) followed by body bytes. */
    private static byte[] structure(int type, int length, int... body) {
        byte[] b = new byte[4 + body.length];
        b[0] = (byte) type;
        b[1] = (byte) (type >> 8);
        b[2] = (byte) length;
        b[3] = (byte) (length >> 8);
        for (int i = 0; i < body.length; i++) b[4 + i] = (byte) body[i];
        return b;
    }

    /** DRHD with flags 0 at 0xfed90000 followed by raw scope bytes; its length counts them. */
    private static byte[] drhdWithScopeBytes(int... scopeBytes) {
        int[] body = new int[12 + scopeBytes.length];
        body[6] = 0xD9; body[7] = 0xFE; // register base 0xfed90000 at structure offset 8
        System.arraycopy(scopeBytes, 0, body, 12, scopeBytes.length);
        return structure(Dmar.TYPE_DRHD, 16 + scopeBytes.length, body);
    }

    private static DmarFormatException rejected(byte[] t) {
        return assertThrows(DmarFormatException.class, () -> DmarParser.parse(t, SOURCE));
    }

    private static void assertRejected(byte[] t, String expectedMessage) {
        assertEquals(expectedMessage, rejected(t).getMessage());
    }

    @Test
    void wellFormedBaseTableParses() throws DmarFormatException {
        DmarTable t = DmarParser.parse(table(drhdWithScopeBytes(1, 8, 0, 0, 0, 0, 2, 0)), SOURCE);
        assertEquals(List.of(new DmarStructure.Drhd(0, 0, 0, 0xFED90000L, List.of(DeviceScope.endpoint(0, 2, 0)))),
                t.structures());
    }

    @Test
    void signatureMustBeDmar() {
        byte[] t = table();
        t[0] = 'A'; t[1] = 'P'; t[2] = 'I'; t[3] = 'C';
        assertRejected(t, "dmar.bin: offset 0x0: signature \"APIC\" is not \"DMAR\"");
    }

    @Test
    void dataMustHoldTheWholeHeader() {
        byte[] t = Arrays.copyOf(table(), 40);
        assertRejected(t, "dmar.bin: offset 0x28: data ends after 40 bytes, inside the 48-byte DMAR header");
        assertRejected(new byte[0], "dmar.bin: offset 0x0: data ends after 0 bytes, inside the 48-byte DMAR header");
    }

    @Test
    void headerLengthFieldMustBeAtLeast48() {
        byte[] t = table();
        t[Dmar.OFF_LENGTH] = 36;
        assertRejected(t, "dmar.bin: offset 0x4: header length field 36 is smaller than the 48-byte DMAR header");
    }

    @Test
    void headerLengthFieldMustNotExceedTheData() {
        byte[] t = table(drhdWithScopeBytes());
        t[Dmar.OFF_LENGTH] = 80;
        assertRejected(t, "dmar.bin: offset 0x4: header length field 80 is larger than the 64 bytes of data");
        t[Dmar.OFF_LENGTH] = (byte) 0xFF; t[Dmar.OFF_LENGTH + 3] = (byte) 0xFF;
        assertRejected(t, "dmar.bin: offset 0x4: header length field 4278190335 is larger than the 64 bytes of data");
    }

    @Test
    void headerLengthFieldMustNotBeSmallerThanTheData() {
        byte[] t = table(drhdWithScopeBytes());
        t[Dmar.OFF_LENGTH] = 48;
        assertRejected(t, "dmar.bin: offset 0x4: header length field 48 is smaller than the 64 bytes of data");
    }

    @Test
    void bytesMustSumToZero() {
        byte[] t = table();
        int good = t[Dmar.OFF_CHECKSUM] & 0xFF;
        t[Dmar.OFF_CHECKSUM] = (byte) (good + 1);
        assertRejected(t, String.format("dmar.bin: offset 0x9: checksum 0x%02x is wrong: the bytes sum to 0x01, not 0 "
                + "(checksum 0x%02x would be valid)", (good + 1) & 0xFF, good));
    }

    @Test
    void checksumCheckCanBeTurnedOff() throws DmarFormatException {
        byte[] t = table();
        t[Dmar.OFF_CHECKSUM] ^= 0x5A;
        DmarTable parsed = DmarParser.parse(t, SOURCE, new DmarParser.Options(false));
        assertEquals(39, parsed.hostAddressWidth());
        assertEquals(0, DmarEncoder.sum(parsed.encode()), "re-encoding repairs the checksum");
    }

    @Test
    void structureHeaderMustFitInTheTable() {
        assertRejected(table(bytes(0, 0)),
                "dmar.bin: offset 0x30: structure header needs 4 bytes, only 2 left in the table");
    }

    @Test
    void structureLengthMustCoverItsTypeAndLengthFields() {
        assertRejected(table(structure(Dmar.TYPE_RHSA, 0)),
                "dmar.bin: offset 0x30: RHSA length 0 is shorter than the 4-byte structure header");
        assertRejected(table(structure(9, 3, 0)),
                "dmar.bin: offset 0x30: type 9 length 3 is shorter than the 4-byte structure header");
    }

    @Test
    void structureMustNotRunPastTheTable() {
        byte[] drhd = drhdWithScopeBytes();
        drhd[2] = 24;
        assertRejected(table(drhd), "dmar.bin: offset 0x30: DRHD length 24 runs past the end of the table (16 bytes left)");
    }

    @Test
    void drhdMustHoldItsSixteenByteHeader() {
        assertRejected(table(structure(Dmar.TYPE_DRHD, 8, 0, 0, 0, 0)),
                "dmar.bin: offset 0x30: DRHD length 8 is shorter than its 16-byte header");
    }

    @Test
    void rmrrMustHoldItsTwentyFourByteHeader() {
        assertRejected(table(structure(Dmar.TYPE_RMRR, 16, new int[12])),
                "dmar.bin: offset 0x30: RMRR length 16 is shorter than its 24-byte header");
    }

    @Test
    void atsrSatcSidpAndAnddMustHoldTheirEightByteHeaders() {
        for (int type : new int[] {Dmar.TYPE_ATSR, Dmar.TYPE_SATC, Dmar.TYPE_SIDP, Dmar.TYPE_ANDD}) {
            assertRejected(table(structure(type, 6, 0, 0)), "dmar.bin: offset 0x30: " + Dmar.structureName(type)
                    + " length 6 is shorter than its 8-byte header");
        }
    }

    @Test
    void rhsaMustBeExactlyTwentyBytes() {
        assertRejected(table(structure(Dmar.TYPE_RHSA, 24, new int[20])),
                "dmar.bin: offset 0x30: RHSA length 24 is not 20");
    }

    @Test
    void deviceScopeMustNotRunPastItsStructure() {
        // A scope claiming 16 bytes where its DRHD has 8 left: it would overlap whatever follows.
        assertRejected(table(drhdWithScopeBytes(1, 16, 0, 0, 0, 0, 2, 0), structure(Dmar.TYPE_RHSA, 20, new int[16])),
                "dmar.bin: offset 0x40: device scope length 16 runs past the end of its DRHD (8 bytes left)");
    }

    @Test
    void deviceScopeLengthMustCoverItsSixByteHeader() {
        assertRejected(table(drhdWithScopeBytes(1, 4, 0, 0, 0, 0, 2, 0)),
                "dmar.bin: offset 0x40: device scope length 4 is shorter than its 6-byte header");
        assertRejected(table(drhdWithScopeBytes(1, 0, 0, 0, 0, 0, 2, 0)),
                "dmar.bin: offset 0x40: device scope length 0 is shorter than its 6-byte header");
    }

    @Test
    void deviceScopeHeaderMustFitInItsStructure() {
        assertRejected(table(drhdWithScopeBytes(1, 8, 0, 0, 0, 0, 2, 0, 3, 8, 0, 0)),
                "dmar.bin: offset 0x48: device scope needs a 6-byte header, only 4 bytes left in its DRHD");
    }

    @Test
    void deviceScopeLengthMustHoldWholePathEntries() {
        assertRejected(table(drhdWithScopeBytes(1, 7, 0, 0, 0, 0, 2), structure(Dmar.TYPE_RHSA, 20, new int[16])),
                "dmar.bin: offset 0x40: device scope length 7 leaves 1 path bytes, not a whole number of 2-byte "
                        + "(device, function) entries");
    }

    @Test
    void endpointScopeMustHaveAPath() {
        assertRejected(table(drhdWithScopeBytes(1, 6, 0, 0, 0, 0)),
                "dmar.bin: offset 0x40: PCI Endpoint Device scope has an empty path");
    }

    @Test
    void ioapicScopeMustHaveAPath() {
        assertRejected(table(drhdWithScopeBytes(3, 6, 0, 0, 8, 0xF0)),
                "dmar.bin: offset 0x40: IOAPIC Device scope has an empty path");
    }

    @Test
    void anddNameMustBeNulTerminatedInsideTheStructure() {
        assertRejected(table(structure(Dmar.TYPE_ANDD, 12, 0, 0, 0, 1, '\\', '_', 'S', 'B')),
                "dmar.bin: offset 0x38: ANDD object name is not NUL-terminated within the structure's 12 bytes");
    }

    @Test
    void nonZeroReservedBytesAreToleratedAndNoted() throws DmarFormatException {
        byte[] t = table(structure(Dmar.TYPE_RHSA, 20, 0, 7, 0, 0, 0, 0, 0xD9, 0xFE, 0, 0, 0, 0, 1, 0, 0, 0));
        t[40] = 1;
        DmarTable parsed = DmarParser.parse(fixLengthAndChecksum(t), SOURCE);
        assertEquals(List.of(
                "offset 0x26: reserved header bytes not zero (re-encoding writes zeros)",
                "offset 0x34: RHSA reserved bytes not zero (re-encoding writes zeros)"), parsed.notes());
        assertEquals(new DmarStructure.Rhsa(0xFED90000L, 1), parsed.structures().getFirst());
    }

    @Test
    void unknownStructureTypesAreKeptAsRawBytesAndReported() throws DmarFormatException {
        byte[] unknown = structure(0x2A, 10, 1, 2, 3, 4, 5, 6);
        byte[] t = table(drhdWithScopeBytes(1, 8, 0, 0, 0, 0, 2, 0), unknown);
        DmarTable parsed = DmarParser.parse(t, SOURCE);
        assertEquals(List.of(new DmarStructure.Unknown(unknown)), parsed.unknownStructures());
        assertArrayEquals(t, parsed.encode());
        String listing = DmarFormatter.iasl(parsed);
        assertTrue(listing.contains("**** Unknown DMAR subtable type 0x2a (kept as raw bytes)"), listing);
        assertTrue(listing.contains("[04Ch 0076 006h]                     Raw Data : 01 02 03 04 05 06"), listing);
    }

    /**
     * Real tables truncated, extended, with bytes overwritten (length and checksum re-fixed half of the time so
     * the damage reaches the structures): the parser either returns a table or throws DmarFormatException, and a
     * table it returns re-encodes to one that parses back equal.
     */
    @Test
    void anyDamageToARealTableYieldsATableOrAFormatException() {
        List<byte[]> originals = RealData.files(".fw.bin").stream().map(RealData::read).toList();
        List<Path> names = RealData.files(".fw.bin");
        Random random = new Random(0x5EED_D3A5L);
        int accepted = 0;
        int rejected = 0;
        for (int iteration = 0; iteration < 6000; iteration++) {
            int which = random.nextInt(originals.size());
            byte[] t = originals.get(which).clone();
            switch (random.nextInt(4)) {
                case 0 -> t = Arrays.copyOf(t, random.nextInt(t.length + 1));
                case 1 -> t = Arrays.copyOf(t, t.length + 1 + random.nextInt(12));
                default -> {
                    int flips = 1 + random.nextInt(4);
                    for (int f = 0; f < flips; f++) {
                        int at = random.nextInt(t.length);
                        t[at] = random.nextBoolean() ? (byte) random.nextInt(256) : (byte) (t[at] ^ (1 << random.nextInt(8)));
                    }
                }
            }
            if (random.nextBoolean()) t = fixLengthAndChecksum(t);
            String source = names.get(which).getFileName() + "#" + iteration;
            try {
                DmarTable parsed = DmarParser.parse(t, source);
                accepted++;
                DmarTable again = DmarParser.parse(parsed.encode(), source + " re-encoded");
                assertEquals(parsed.withStructures(parsed.structures()), again, source);
                if (parsed.notes().isEmpty()) assertArrayEquals(t, parsed.encode(), source);
                DmarFormatter.iasl(parsed);
                DmarFormatter.kernelLog(parsed, 0);
            } catch (DmarFormatException e) {
                rejected++;
                assertTrue(e.getMessage().startsWith(source + ": offset 0x"), e.getMessage());
                assertTrue(e.offset() >= 0 && e.offset() <= t.length, e.getMessage());
            } catch (RuntimeException e) {
                fail(source + ": unexpected " + e, e);
            }
        }
        assertTrue(accepted > 100 && rejected > 100, "both outcomes exercised: " + accepted + " accepted, "
                + rejected + " rejected");
    }
}

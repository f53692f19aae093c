package dev.vtd.platform.trace;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

/** The trace file format of docs/trace-format.md: record layout, header, both encodings, and bad files. */
class TraceFormatTest {
    @TempDir
    Path dir;

    private static final TraceRecord DMA = TraceRecord.translation(1, 0x0103, 3, 0, false, 0x1000_a000L, true, true, 0,
            0x2_4000_a000L, 12, 1514, 77);

    @Test
    void translationRecordLaysOutItsFieldsLittleEndianAtTheDocumentedOffsets() throws Exception {
        MemorySegment seg = MemorySegment.ofArray(new byte[TraceFormat.RECORD_BYTES]);
        DMA.encode(seg, 0);
        String hex = HexFormat.of().formatHex(seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        assertEquals("01" + "05" + "01" + "00" + "0301" + "0300" + "00000000" + "0c" + "00" + "0000"
                + "00a0001000000000" + "00a0004002000000" + "ea050000" + "00000000" + "4d00000000000000", hex,
                "kind 1, flags write|hit, unit 1, sid 01:00.3, did 3, shift 12, iova, hpa, length 1514, time 77");
        assertEquals(DMA, TraceRecord.decode(seg, 0));
    }

    @Test
    void aFaultedTranslationCarriesItsReasonAndNoOutputAddress() {
        TraceRecord f = TraceRecord.translation(0, 0x0103, 3, 0, false, 0x7f00_0000L, true, false, 0x05, 0x1234, 12, 64, 1);
        assertTrue(f.has(TraceRecord.F_FAULT));
        assertEquals(0x05, f.code());
        assertEquals(0, f.out());
        assertEquals(0, f.shift());
    }

    @Test
    void jsonLinesFormRoundTripsEveryKind() {
        TraceRecord[] all = {
                DMA,
                TraceRecord.translation(0, 0x0010, 0, 5, true, 0x7000, false, false, 0x86, 0, 0, 8, 2),
                TraceRecord.invalidation(0, TraceRecord.Invalidation.IOTLB_PAGE, 3, 0, false, 0x1000_0000L, 2, true, 0, 3),
                TraceRecord.invalidation(0, TraceRecord.Invalidation.PASID_IOTLB_PASID, 3, 9, true, 0, 0, false, 0, 4),
                TraceRecord.interrupt(0, 0x0103, 0xfee0_0010L, 0x4041, TraceRecord.InterruptPath.POSTED, 0x61, false, 5)};
        for (TraceRecord r : all) {
            assertEquals(r, TraceReader.fromJson(r.toJson()), r.toJson());
        }
    }

    private Path binary(TraceRecord... records) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(TraceFormat.HEADER_BYTES + (long) records.length * TraceFormat.RECORD_BYTES);
            TraceFormat.writeHeader(seg);
            for (int i = 0; i < records.length; i++) {
                records[i].encode(seg, TraceFormat.HEADER_BYTES + (long) i * TraceFormat.RECORD_BYTES);
            }
            Path p = dir.resolve("t.trace");
            Files.write(p, seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            return p;
        }
    }

    @Test
    void theWriterProducesWhatTheReaderReadsInBothEncodings() throws Exception {
        for (String name : new String[]{"w.trace", "w.jsonl"}) {
            Path p = dir.resolve(name);
            try (TraceWriter w = TraceWriter.open(p, () -> 42)) {
                for (int i = 0; i < 3000; i++) w.record(DMA);
                w.record(TraceRecord.invalidation(0, TraceRecord.Invalidation.IOTLB_GLOBAL, 0, 0, false, 0, 0, false, 0, 0));
            }
            try (TraceReader r = TraceReader.open(p)) {
                assertEquals(3001, r.count(), name);
                assertEquals(DMA, r.get(2999), name);
                assertEquals(42, r.get(3000).time(), name + ": a record without a time gets the clock's");
            }
        }
    }

    private static String error(Path p) {
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceReader.open(p).close());
        return e.offset() + ": " + e.getMessage();
    }

    @Test
    void aTruncatedRecordIsReportedAtTheOffsetWhereItStarts() throws Exception {
        Path p = binary(DMA, DMA);
        byte[] b = Files.readAllBytes(p);
        Files.write(p, java.util.Arrays.copyOf(b, b.length - 5));
        assertEquals("64: truncated record (43 of 48 bytes)", error(p));
    }

    @Test
    void anotherVersionIsRefusedByName() throws Exception {
        Path p = binary(DMA);
        byte[] b = Files.readAllBytes(p);
        b[8] = 2;
        Files.write(p, b);
        assertEquals("8: trace format version 2, this vtd reads version 1", error(p));
    }

    @Test
    void anUndefinedRecordKindIsReportedWithItsRecordNumber() throws Exception {
        Path p = binary(DMA, DMA);
        byte[] b = Files.readAllBytes(p);
        b[16 + 48] = 9;
        Files.write(p, b);
        assertEquals("64: record 1: record kind 9 is not 1 (translation), 2 (invalidation) or 3 (interrupt)", error(p));
    }

    @Test
    void garbageIsNotATrace() throws Exception {
        Path p = dir.resolve("g");
        Files.write(p, new byte[]{(byte) 0xff, (byte) 0xfe, 0, 1, 2});
        assertTrue(error(p).contains("not a vtd trace"), error(p));
        Files.writeString(p, "hello world\n");
        assertEquals("1: not a vtd trace (neither the VTDTRACE magic nor a JSON object)", error(p));
    }

    @Test
    void aBadJsonLineIsReportedByLineNumber() throws Exception {
        Path p = dir.resolve("b.jsonl");
        Files.writeString(p, DMA.toJson() + "\n" + DMA.toJson().replace("\"write\":true", "\"write\":maybe") + "\n",
                StandardCharsets.UTF_8);
        assertEquals("2: \"write\": maybe is not true or false", error(p));
        Files.writeString(p, DMA.toJson() + "\n{\"kind\":\"dma\",\"bogus\":1}\n");
        assertEquals("2: unknown field \"bogus\"", error(p));
        Files.writeString(p, DMA.toJson().replace("\"sid\":\"01:00.3\",", "") + "\n");
        assertEquals("1: missing field \"sid\"", error(p));
        Files.writeString(p, "{\"kind\":\"dma\"" + " ".repeat(5000) + "}\n");
        assertEquals("1: line longer than 4096 characters", error(p));
    }

    @Test
    void aDirectoryIsNotATrace() {
        IOException e = assertThrows(IOException.class, () -> TraceReader.open(dir).close());
        assertEquals("is a directory", e.getMessage());
    }
}

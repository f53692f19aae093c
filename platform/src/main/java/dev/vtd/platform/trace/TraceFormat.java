package dev.vtd.platform.trace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The binary trace file (docs/trace-format.md): a 16-byte header, then whole records of
 * {@value #RECORD_BYTES} bytes ({@link TraceRecord}).
 *
 * <pre>
 *  0  8 bytes  magic "VTDTRACE"
 *  8  u16      version ({@value #VERSION})
 * 10  u16      record size ({@value #RECORD_BYTES})
 * 12  u32      zero
 * </pre>
 */
public final class TraceFormat {
    public static final byte[] MAGIC = "VTDTRACE".getBytes(StandardCharsets.US_ASCII);
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 16;
    public static final int RECORD_BYTES = 48;

    private TraceFormat() {
    }

    public static void writeHeader(MemorySegment seg) {
        MemorySegment.copy(MemorySegment.ofArray(MAGIC), 0, seg, 0, MAGIC.length);
        seg.set(TraceRecord.U16, 8, (short) VERSION);
        seg.set(TraceRecord.U16, 10, (short) RECORD_BYTES);
        seg.set(TraceRecord.U32, 12, 0);
    }

    /** True if the bytes start with the binary trace's magic (otherwise a reader tries JSON lines). */
    public static boolean isBinary(MemorySegment seg) {
        if (seg.byteSize() < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) {
            if (seg.get(ValueLayout.JAVA_BYTE, i) != MAGIC[i]) return false;
        }
        return true;
    }

    /**
     * Checks the header and the length of a binary trace.
     *
     * @return the number of records
     */
    public static long checkHeader(MemorySegment seg) throws TraceFormatException {
        if (!isBinary(seg)) throw new TraceFormatException(0, "not a vtd trace (no VTDTRACE magic)");
        if (seg.byteSize() < HEADER_BYTES) throw new TraceFormatException(seg.byteSize(), "truncated header");
        int version = seg.get(TraceRecord.U16, 8) & 0xFFFF;
        if (version != VERSION) {
            throw new TraceFormatException(8, "trace format version " + version + ", this vtd reads version " + VERSION);
        }
        int size = seg.get(TraceRecord.U16, 10) & 0xFFFF;
        if (size != RECORD_BYTES) throw new TraceFormatException(10, "record size " + size + ", version 1 has " + RECORD_BYTES);
        if (seg.get(TraceRecord.U32, 12) != 0) throw new TraceFormatException(12, "reserved header bytes are not zero");
        long body = seg.byteSize() - HEADER_BYTES;
        if (body % RECORD_BYTES != 0) {
            long last = HEADER_BYTES + body / RECORD_BYTES * RECORD_BYTES;
            throw new TraceFormatException(last, "truncated record (" + body % RECORD_BYTES + " of " + RECORD_BYTES + " bytes)");
        }
        return body / RECORD_BYTES;
    }
}

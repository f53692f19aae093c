package dev.vtd.platform.trace;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A trace file opened for reading: a binary trace is mapped as it is (its header and length checked);
 * a JSON-lines trace is parsed, line by line and strictly, into the same binary records in memory.
 * Every read is bounded: a JSON line may hold at most {@value #MAX_JSON_LINE} characters and a JSON
 * trace at most {@value #MAX_JSON_RECORDS} records (binary traces are mapped, not read).
 */
public final class TraceReader implements Closeable {
    public static final int MAX_JSON_LINE = 4096;
    public static final long MAX_JSON_RECORDS = 10_000_000L;

    private final Arena arena;
    private final MemorySegment records;
    private final long count;

    private TraceReader(Arena arena, MemorySegment records, long count) {
        this.arena = arena;
        this.records = records;
        this.count = count;
    }

    /**
     * Opens and validates {@code path}.
     *
     * @throws TraceFormatException the file is not a valid trace (offset or line of the problem)
     * @throws IOException          the file cannot be read
     */
    public static TraceReader open(Path path) throws IOException, TraceFormatException {
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString());
        if (Files.isDirectory(path)) throw new IOException("is a directory");
        if (!Files.isRegularFile(path)) throw new IOException("not a regular file");
        Arena arena = Arena.ofShared();
        try {
            byte[] head = new byte[TraceFormat.MAGIC.length];
            int got;
            try (InputStream in = Files.newInputStream(path)) {
                got = in.readNBytes(head, 0, head.length);
            }
            if (got == head.length && TraceFormat.isBinary(MemorySegment.ofArray(head))) {
                MemorySegment file;
                try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                    file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                }
                long n = TraceFormat.checkHeader(file);
                MemorySegment body = file.asSlice(TraceFormat.HEADER_BYTES);
                validate(body, n);
                return new TraceReader(arena, body, n);
            }
            return parseJson(path, arena);
        } catch (IOException | TraceFormatException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void validate(MemorySegment body, long n) throws TraceFormatException {
        for (long i = 0; i < n; i++) {
            try {
                TraceRecord.check(body, i * TraceFormat.RECORD_BYTES);
            } catch (TraceFormatException e) {
                throw new TraceFormatException(TraceFormat.HEADER_BYTES + i * TraceFormat.RECORD_BYTES,
                        "record " + i + ": " + e.getMessage());
            }
        }
    }

    /** Number of records. */
    public long count() {
        return count;
    }

    /** The records, {@link TraceFormat#RECORD_BYTES} bytes each, back to back (read-only for a binary file). */
    public MemorySegment records() {
        return records;
    }

    public TraceRecord get(long i) {
        try {
            return TraceRecord.decode(records, i * TraceFormat.RECORD_BYTES);
        } catch (TraceFormatException e) {
            throw new IllegalStateException("record " + i + " was validated when the trace was opened", e);
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    // ---- JSON lines -------------------------------------------------------------------------

    private static TraceReader parseJson(Path path, Arena arena) throws IOException, TraceFormatException {
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        long capacity = 1024;
        MemorySegment seg = arena.allocate(capacity * TraceFormat.RECORD_BYTES, 8);
        long n = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(path), decoder))) {
            long lineNo = 0;
            StringBuilder line = new StringBuilder();
            while (true) {
                line.setLength(0);
                int c;
                while ((c = r.read()) != -1 && c != '\n') {
                    if (line.length() >= MAX_JSON_LINE) {
                        throw new TraceFormatException(lineNo + 1, "line longer than " + MAX_JSON_LINE + " characters");
                    }
                    line.append((char) c);
                }
                if (c == -1 && line.isEmpty()) break;
                lineNo++;
                String s = line.toString().strip();
                if (s.isEmpty()) {
                    if (c == -1) break;
                    continue;
                }
                if (n == 0 && lineNo == 1 && !s.startsWith("{")) {
                    throw new TraceFormatException(1, "not a vtd trace (neither the VTDTRACE magic nor a JSON object)");
                }
                if (n >= MAX_JSON_RECORDS) {
                    throw new TraceFormatException(lineNo, "more than " + MAX_JSON_RECORDS
                            + " records in a JSON trace; record a binary trace instead");
                }
                TraceRecord rec;
                try {
                    rec = fromJson(s);
                } catch (IllegalArgumentException e) {
                    throw new TraceFormatException(lineNo, e.getMessage());
                }
                if (n == capacity) {
                    MemorySegment bigger = arena.allocate(capacity * 2 * TraceFormat.RECORD_BYTES, 8);
                    MemorySegment.copy(seg, 0, bigger, 0, capacity * TraceFormat.RECORD_BYTES);
                    seg = bigger;
                    capacity *= 2;
                }
                rec.encode(seg, n * TraceFormat.RECORD_BYTES);
                n++;
                if (c == -1) break;
            }
        } catch (CharacterCodingException e) {
            throw new TraceFormatException(0, "not UTF-8 text and no VTDTRACE magic: not a vtd trace");
        }
        return new TraceReader(arena, seg.asSlice(0, n * TraceFormat.RECORD_BYTES), n);
    }

    /** Parses one JSON-lines record as {@link TraceRecord#toJson()} writes it. */
    static TraceRecord fromJson(String s) {
        Map<String, String> f = flatObject(s);
        String kindName = req(f, "kind");
        int kind = switch (kindName) {
            case "dma" -> TraceRecord.KIND_TRANSLATION;
            case "inval" -> TraceRecord.KIND_INVALIDATION;
            case "irq" -> TraceRecord.KIND_INTERRUPT;
            default -> throw new IllegalArgumentException("kind \"" + kindName + "\" is not dma, inval or irq");
        };
        only(f, switch (kind) {
            case TraceRecord.KIND_TRANSLATION -> DMA_KEYS;
            case TraceRecord.KIND_INVALIDATION -> INVAL_KEYS;
            default -> IRQ_KEYS;
        });
        long time = num(f, "t", 0, Long.MAX_VALUE);
        int unit = (int) num(f, "unit", 0, 255);
        int sid = bdf(req(f, "sid"));
        boolean pv = f.containsKey("pasid");
        int pasid = pv ? (int) num(f, "pasid", 0, (1 << 20) - 1) : 0;
        return switch (kind) {
            case TraceRecord.KIND_TRANSLATION -> {
                int fault = f.containsKey("fault") ? (int) hex(f, "fault", 1, 0xFF) : 0;
                int shift = fault != 0 ? 0 : (int) num(f, "shift", 0, 30);
                if (fault == 0 && shift != 12 && shift != 21 && shift != 30) {
                    throw new IllegalArgumentException("shift " + shift + " is not 12, 21 or 30");
                }
                int flags = (bool(f, "write") ? TraceRecord.F_WRITE : 0) | (pv ? TraceRecord.F_PASID : 0)
                        | (fault == 0 && bool(f, "hit") ? TraceRecord.F_IOTLB_HIT : 0) | (fault != 0 ? TraceRecord.F_FAULT : 0)
                        | (f.containsKey("translated") && bool(f, "translated") ? TraceRecord.F_TRANSLATED : 0)
                        | (f.containsKey("ats") && bool(f, "ats") ? TraceRecord.F_ATS_REQUEST : 0);
                yield new TraceRecord(kind, flags, unit, fault, sid, (int) num(f, "did", 0, 0xFFFF), pasid, shift,
                        hex(f, "iova", 0, -1), fault != 0 ? 0 : hex(f, "hpa", 0, -1), (int) num(f, "len", 0, 0xFFFF_FFFFL), time);
            }
            case TraceRecord.KIND_INVALIDATION -> {
                String what = req(f, "what");
                TraceRecord.Invalidation inv;
                try {
                    inv = TraceRecord.Invalidation.valueOf(what.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("invalidation \"" + what + "\" is not defined");
                }
                int flags = (bool(f, "ih") ? TraceRecord.F_IH : 0) | (pv ? TraceRecord.F_PASID : 0);
                yield new TraceRecord(kind, flags, unit, inv.ordinal(), sid, (int) num(f, "did", 0, 0xFFFF), pasid,
                        (int) num(f, "am", 0, 63), hex(f, "addr", 0, -1), 0, 0, time);
            }
            default -> {
                String p = req(f, "path");
                TraceRecord.InterruptPath path;
                try {
                    path = TraceRecord.InterruptPath.valueOf(p.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("interrupt path \"" + p + "\" is not defined");
                }
                long data = hex(f, "data", 0, 0xFFFF_FFFFL);
                long vector = num(f, "vector", 0, 255);
                yield new TraceRecord(kind, f.containsKey("fault") && bool(f, "fault") ? TraceRecord.F_FAULT : 0, unit,
                        path.ordinal(), sid, 0, 0, 0, hex(f, "address", 0, -1), data | vector << 32, 0, time);
            }
        };
    }

    private static final String[] DMA_KEYS = {"t", "kind", "unit", "sid", "did", "pasid", "iova", "write", "len",
            "translated", "ats", "fault", "hpa", "shift", "hit"};
    private static final String[] INVAL_KEYS = {"t", "kind", "unit", "sid", "what", "did", "pasid", "addr", "am", "ih"};
    private static final String[] IRQ_KEYS = {"t", "kind", "unit", "sid", "path", "address", "data", "vector", "fault"};

    private static void only(Map<String, String> f, String[] keys) {
        for (String k : f.keySet()) {
            boolean known = false;
            for (String key : keys) known |= key.equals(k);
            if (!known) throw new IllegalArgumentException("unknown field \"" + k + "\"");
        }
    }

    private static String req(Map<String, String> f, String key) {
        String v = f.get(key);
        if (v == null) throw new IllegalArgumentException("missing field \"" + key + "\"");
        return v;
    }

    private static boolean bool(Map<String, String> f, String key) {
        String v = req(f, key);
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("\"" + key + "\": " + v + " is not true or false");
        };
    }

    private static long num(Map<String, String> f, String key, long min, long max) {
        String v = req(f, key);
        long x;
        try {
            x = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + key + "\": " + v + " is not a decimal number");
        }
        if (x < min || x > max) throw new IllegalArgumentException("\"" + key + "\": " + v + " outside " + min + ".." + max);
        return x;
    }

    /** A "0x..." string; {@code max} -1 means any 64-bit value. */
    private static long hex(Map<String, String> f, String key, long min, long max) {
        String v = req(f, key);
        if (!v.startsWith("0x") || v.length() < 3 || v.length() > 18) {
            throw new IllegalArgumentException("\"" + key + "\": " + v + " is not a hexadecimal \"0x...\" of at most 64 bits");
        }
        long x;
        try {
            x = Long.parseUnsignedLong(v.substring(2), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + key + "\": " + v + " is not a hexadecimal number");
        }
        if (max != -1 && (Long.compareUnsigned(x, min) < 0 || Long.compareUnsigned(x, max) > 0)) {
            throw new IllegalArgumentException("\"" + key + "\": " + v + " outside 0x" + Long.toHexString(min) + "..0x"
                    + Long.toHexString(max));
        }
        return x;
    }

    private static int bdf(String s) {
        if (s.length() != 7 || s.charAt(2) != ':' || s.charAt(5) != '.') {
            throw new IllegalArgumentException("\"sid\": " + s + " is not a bus:device.function like 01:00.3");
        }
        try {
            int bus = Integer.parseInt(s.substring(0, 2), 16), dev = Integer.parseInt(s.substring(3, 5), 16);
            int fn = Integer.parseInt(s.substring(6), 16);
            if (dev > 31 || fn > 7) throw new NumberFormatException();
            return bus << 8 | dev << 3 | fn;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"sid\": " + s + " is not a bus:device.function like 01:00.3");
        }
    }

    /** A flat JSON object of string, number and boolean values (what the writer produces), strictly. */
    static Map<String, String> flatObject(String s) {
        Map<String, String> out = new HashMap<>();
        int[] pos = {0};
        skipWs(s, pos);
        expect(s, pos, '{');
        skipWs(s, pos);
        if (peek(s, pos) == '}') {
            pos[0]++;
        } else {
            while (true) {
                skipWs(s, pos);
                String key = string(s, pos);
                skipWs(s, pos);
                expect(s, pos, ':');
                skipWs(s, pos);
                String value;
                if (peek(s, pos) == '"') {
                    value = string(s, pos);
                } else {
                    int start = pos[0];
                    while (pos[0] < s.length() && (Character.isLetterOrDigit(s.charAt(pos[0])) || "-+.".indexOf(s.charAt(pos[0])) >= 0)) pos[0]++;
                    value = s.substring(start, pos[0]);
                    if (value.isEmpty()) throw new IllegalArgumentException("value of \"" + key + "\" expected at column " + (start + 1));
                }
                if (out.put(key, value) != null) throw new IllegalArgumentException("field \"" + key + "\" given twice");
                skipWs(s, pos);
                char c = peek(s, pos);
                pos[0]++;
                if (c == '}') break;
                if (c != ',') throw new IllegalArgumentException("',' or '}' expected at column " + pos[0]);
            }
        }
        skipWs(s, pos);
        if (pos[0] != s.length()) throw new IllegalArgumentException("text after the object at column " + (pos[0] + 1));
        return out;
    }

    private static char peek(String s, int[] pos) {
        if (pos[0] >= s.length()) throw new IllegalArgumentException("line ends inside the object");
        return s.charAt(pos[0]);
    }

    private static void expect(String s, int[] pos, char c) {
        if (peek(s, pos) != c) throw new IllegalArgumentException("'" + c + "' expected at column " + (pos[0] + 1));
        pos[0]++;
    }

    private static void skipWs(String s, int[] pos) {
        while (pos[0] < s.length() && (s.charAt(pos[0]) == ' ' || s.charAt(pos[0]) == '\t' || s.charAt(pos[0]) == '\r')) pos[0]++;
    }

    private static String string(String s, int[] pos) {
        expect(s, pos, '"');
        int start = pos[0];
        while (pos[0] < s.length() && s.charAt(pos[0]) != '"') {
            char c = s.charAt(pos[0]);
            if (c == '\\' || c < 0x20) throw new IllegalArgumentException("escapes and control characters are not used in vtd traces (column " + (pos[0] + 1) + ")");
            pos[0]++;
        }
        if (pos[0] >= s.length()) throw new IllegalArgumentException("unterminated string at column " + (start));
        String v = s.substring(start, pos[0]);
        pos[0]++;
        return v;
    }
}

package dev.vtd.platform.trace;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongSupplier;

/**
 * Writes a trace file: binary (docs/trace-format.md) or, for a name ending in {@code .json} or
 * {@code .jsonl}, one JSON object per line. Records are stamped with the machine's clock when they
 * carry no time of their own. Safe for concurrent callers.
 */
public final class TraceWriter implements TraceSink, Closeable {
    private static final int BUFFER_RECORDS = 1024;

    private final Path path;
    private final boolean json;
    private final LongSupplier clock;
    private final FileChannel channel;
    private final BufferedWriter text;
    private final ByteBuffer buffer;
    private final MemorySegment bufferSegment;
    private long records;
    private IOException failure;

    private TraceWriter(Path path, boolean json, LongSupplier clock) throws IOException {
        this.path = path;
        this.json = json;
        this.clock = clock;
        if (json) {
            this.text = Files.newBufferedWriter(path, StandardCharsets.UTF_8);
            this.channel = null;
            this.buffer = null;
            this.bufferSegment = null;
        } else {
            this.text = null;
            this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            this.buffer = ByteBuffer.allocateDirect(BUFFER_RECORDS * TraceFormat.RECORD_BYTES);
            this.bufferSegment = MemorySegment.ofBuffer(buffer);
            MemorySegment header = Arena.ofAuto().allocate(TraceFormat.HEADER_BYTES);
            TraceFormat.writeHeader(header);
            channel.write(header.asByteBuffer());
        }
    }

    /** Opens {@code path} for writing; the format follows the name (.json/.jsonl: JSON lines, else binary). */
    public static TraceWriter open(Path path, LongSupplier clock) throws IOException {
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        return new TraceWriter(path, name.endsWith(".json") || name.endsWith(".jsonl"), clock);
    }

    @Override
    public synchronized void record(TraceRecord r) {
        if (failure != null) return;
        TraceRecord stamped = r.time() != 0 || clock == null ? r
                : new TraceRecord(r.kind(), r.flags(), r.unit(), r.code(), r.sid(), r.did(), r.pasid(), r.shift(),
                r.addr(), r.out(), r.length(), clock.getAsLong());
        try {
            if (json) {
                text.write(stamped.toJson());
                text.write('\n');
            } else {
                int pos = buffer.position();
                stamped.encode(bufferSegment, pos);
                buffer.position(pos + TraceFormat.RECORD_BYTES);
                if (!buffer.hasRemaining()) flushBuffer();
            }
            records++;
        } catch (IOException e) {
            failure = e;
        }
    }

    private void flushBuffer() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) channel.write(buffer);
        buffer.clear();
    }

    public synchronized long records() {
        return records;
    }

    public Path path() {
        return path;
    }

    /** Flushes and closes; reports a write error met while tracing (a full disk, say). */
    @Override
    public synchronized void close() throws IOException {
        try {
            if (failure == null) {
                if (json) text.flush();
                else flushBuffer();
            }
        } finally {
            if (json) text.close();
            else channel.close();
        }
        if (failure != null) throw new IOException(path + ": writing the trace failed: " + failure.getMessage(), failure);
    }

    /** For callers that cannot throw: close, turning an I/O error into an unchecked one. */
    public void closeUnchecked() {
        try {
            close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

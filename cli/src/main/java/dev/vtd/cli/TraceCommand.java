package dev.vtd.cli;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.trace.IotlbModel;
import dev.vtd.platform.trace.SyntheticTrace;
import dev.vtd.platform.trace.TraceFormat;
import dev.vtd.platform.trace.TraceFormatException;
import dev.vtd.platform.trace.TraceReader;
import dev.vtd.platform.trace.TraceRecord;
import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.cli.args.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/** {@code vtd trace ...}: traces of DMA requests, invalidations and interrupts (docs/trace-format.md). */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Summarise a trace, replay its translations through an IOTLB of any geometry, or make a synthetic one.",
        subcommands = {TraceCommand.Stats.class, TraceCommand.Replay.class, TraceCommand.Synth.class})
public final class TraceCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static TraceReader open(String file, String command) {
        Path p = Path.of(file);
        try {
            return TraceReader.open(p);
        } catch (NoSuchFileException e) {
            throw new UserInputException(command + ": " + file + ": no such file");
        } catch (IOException e) {
            throw new UserInputException(command + ": " + file + ": " + e.getMessage());
        } catch (TraceFormatException e) {
            boolean binary = isBinary(p);
            throw new UserInputException(command + ": " + file + (binary ? ": offset " + e.offset() : ": line " + e.offset())
                    + ": " + e.getMessage());
        }
    }

    private static boolean isBinary(Path p) {
        try (var in = Files.newInputStream(p)) {
            return TraceFormat.isBinary(MemorySegment.ofArray(in.readNBytes(TraceFormat.MAGIC.length)));
        } catch (IOException e) {
            return false;
        }
    }

    /** A progress bar on standard error for long traces, only when it is a terminal. */
    static LongConsumer progress(long total) {
        if (total < 4L << 20 || System.console() == null) return null;
        return done -> {
            int width = 40, filled = (int) (done * width / total);
            System.err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + done * 100 / total + "%");
            if (done + (1 << 20) > total) System.err.print("\r" + " ".repeat(width + 8) + "\r");
            System.err.flush();
        };
    }

    /** {@code vtd trace stats FILE}. */
    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Count a trace's records by kind, device, fault and invalidation.")
    public static final class Stats implements Runnable {
        @Parameters(index = "0", paramLabel = "FILE", description = "A trace (binary or JSON lines).")
        String file;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            try (TraceReader r = open(file, "trace stats")) {
                PrintWriter out = spec.commandLine().getOut();
                summarise(r).forEach(out::println);
                out.flush();
            }
        }
    }

    private static final TraceRecord.Invalidation[] INVALIDATIONS = TraceRecord.Invalidation.values();

    static List<String> summarise(TraceReader r) {
        long translations = 0, writes = 0, hits = 0, faults = 0, bytes = 0, invalidations = 0, interrupts = 0, posted = 0;
        long first = Long.MAX_VALUE, last = Long.MIN_VALUE;
        Map<Integer, long[]> byDevice = new TreeMap<>();
        Map<Integer, Long> byFault = new TreeMap<>();
        Map<String, Long> byInvalidation = new TreeMap<>();
        java.util.HashSet<Long> pages = new java.util.HashSet<>();
        for (long i = 0; i < r.count(); i++) {
            TraceRecord t = r.get(i);
            first = Math.min(first, t.time());
            last = Math.max(last, t.time());
            switch (t.kind()) {
                case TraceRecord.KIND_TRANSLATION -> {
                    translations++;
                    long[] d = byDevice.computeIfAbsent(t.unit() << 16 | t.sid(), k -> new long[3]);
                    d[0]++;
                    bytes += Integer.toUnsignedLong(t.length());
                    if (t.has(TraceRecord.F_WRITE)) writes++;
                    if (t.has(TraceRecord.F_FAULT)) {
                        faults++;
                        d[2]++;
                        byFault.merge(t.code(), 1L, Long::sum);
                    } else {
                        if (t.has(TraceRecord.F_IOTLB_HIT)) {
                            hits++;
                            d[1]++;
                        }
                        if (pages.size() < 10_000_000) pages.add((long) t.did() << 48 ^ t.addr() >>> 12);
                    }
                }
                case TraceRecord.KIND_INVALIDATION -> {
                    invalidations++;
                    byInvalidation.merge(INVALIDATIONS[t.code()].name().toLowerCase(Locale.ROOT), 1L, Long::sum);
                }
                default -> {
                    interrupts++;
                    if (t.code() == TraceRecord.InterruptPath.POSTED.ordinal()) posted++;
                }
            }
        }
        List<String> lines = new ArrayList<>();
        lines.add(String.format("records        %d (%d translations, %d invalidations, %d interrupts)", r.count(),
                translations, invalidations, interrupts));
        if (r.count() > 0) lines.add(String.format("time           %d .. %d ns", first, last));
        lines.add(String.format("translations   %d (%d writes, %d faults, %d bytes, %d distinct 4 KiB pages)", translations,
                writes, faults, bytes, pages.size()));
        long served = translations - faults;
        lines.add(String.format("IOTLB hits     %d of %d served (%.1f%%, as the recording unit saw them)", hits, served,
                served == 0 ? 0.0 : 100.0 * hits / served));
        for (var e : byDevice.entrySet()) {
            int sid = e.getKey() & 0xFFFF;
            lines.add(String.format("  unit %d %02x:%02x.%x  %d translations, %d IOTLB hits, %d faults", e.getKey() >>> 16,
                    sid >>> 8, sid >>> 3 & 0x1F, sid & 7, e.getValue()[0], e.getValue()[1], e.getValue()[2]));
        }
        for (var e : byFault.entrySet()) {
            lines.add(String.format("fault 0x%02x     %d  %s", e.getKey(), e.getValue(), faultText(e.getKey())));
        }
        for (var e : byInvalidation.entrySet()) {
            lines.add(String.format("invalidation   %d  %s", e.getValue(), e.getKey()));
        }
        if (interrupts > 0) lines.add(String.format("interrupts     %d (%d posted)", interrupts, posted));
        return lines;
    }

    private static String faultText(int code) {
        FaultReason f = FaultReason.of(code);
        return f == null ? "(no architected reason with this code)" : f.text;
    }

    /** {@code vtd trace replay FILE --iotlb entries=64,ways=8,policy=lru}. */
    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = "Replay a trace's translations and invalidations through a modelled IOTLB and print its hit rate.")
    public static final class Replay implements Runnable {
        @Parameters(index = "0", paramLabel = "FILE", description = "A trace (binary or JSON lines).")
        String file;

        @Option(names = "--iotlb", paramLabel = "entries=N,ways=N,policy=lru|fifo|random", arity = "1", defaultValue = "",
                description = "IOTLB geometry; repeat to compare several (default entries=64,ways=8,policy=lru).")
        List<String> geometries = new ArrayList<>();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            List<IotlbModel.Geometry> gs = new ArrayList<>();
            for (String g : geometries.isEmpty() ? List.of("") : geometries) {
                try {
                    gs.add(IotlbModel.Geometry.parse(g));
                } catch (IllegalArgumentException e) {
                    throw new UserInputException("trace replay --iotlb " + g + ": " + e.getMessage());
                }
            }
            try (TraceReader r = open(file, "trace replay")) {
                PrintWriter out = spec.commandLine().getOut();
                for (IotlbModel.Geometry g : gs) {
                    long t0 = System.nanoTime();
                    IotlbModel.Result res = new IotlbModel(g).replay(r.records(), r.count(), progress(r.count()));
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    out.println(format(res, r.count(), seconds));
                }
                out.flush();
            }
        }
    }

    static String format(IotlbModel.Result res, long records, double seconds) {
        return String.format("IOTLB %-24s hit rate %6.2f%%  (%d hits, %d misses, %d evictions; %d faults not cached; "
                        + "%d invalidations removed %d entries; hits 4K/2M/1G %d/%d/%d) %.1f M records/s",
                res.geometry(), 100 * res.hitRate(), res.hits(), res.misses(), res.evictions(), res.faults(),
                res.invalidations(), res.entriesInvalidated(), res.hitsBySize()[0], res.hitsBySize()[1], res.hitsBySize()[2],
                seconds <= 0 ? 0.0 : records / seconds / 1e6);
    }

    /** {@code vtd trace synth -o FILE [--tenants N] ...}. */
    @Command(name = "synth", mixinStandardHelpOptions = true,
            description = "Write a synthetic multi-tenant NIC trace (each tenant a function in its own domain receiving packets).")
    public static final class Synth implements Runnable {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the binary trace.")
        String output;

        @Option(names = "--tenants", defaultValue = "8", description = "Devices, each in its own domain (default ${DEFAULT-VALUE}).")
        int tenants;

        @Option(names = "--ring", defaultValue = "256", description = "RX ring entries per tenant (default ${DEFAULT-VALUE}).")
        int ring;

        @Option(names = "--burst", defaultValue = "32", description = "Mean packets a tenant receives per turn (default ${DEFAULT-VALUE}).")
        int burst;

        @Option(names = "--packets", defaultValue = "1000000", description = "Packets in all (default ${DEFAULT-VALUE}).")
        long packets;

        @Option(names = "--strict", description = "Unmap and invalidate each buffer after its packet (Linux strict mode).")
        boolean strict;

        @Option(names = "--seed", defaultValue = "1", description = "Random seed of the burst lengths.")
        long seed;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            SyntheticTrace.Params p;
            try {
                p = new SyntheticTrace.Params(tenants, ring, burst, packets, strict, seed);
            } catch (IllegalArgumentException e) {
                throw new UserInputException("trace synth: " + e.getMessage());
            }
            Path out = Path.of(output);
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            try (Arena arena = Arena.ofConfined();
                 FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                         StandardOpenOption.TRUNCATE_EXISTING)) {
                MemorySegment header = arena.allocate(TraceFormat.HEADER_BYTES);
                TraceFormat.writeHeader(header);
                write(ch, header);
                MemorySegment chunk = arena.allocate(12L * 4096 * TraceFormat.RECORD_BYTES, 8);
                SyntheticTrace gen = new SyntheticTrace(p);
                LongConsumer bar = progress(p.records());
                long done = 0;
                while (gen.hasMore()) {
                    long n = gen.fill(chunk);
                    write(ch, chunk.asSlice(0, n));
                    done += n / TraceFormat.RECORD_BYTES;
                    if (bar != null) bar.accept(done);
                }
            } catch (IOException e) {
                throw new UserInputException("trace synth: " + output + ": " + e.getMessage());
            }
            try {
                Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UserInputException("trace synth: " + output + ": " + e.getMessage());
            }
            spec.commandLine().getOut().printf("%s: %d records (%d tenants, %d packets%s)%n", output, p.records(),
                    tenants, packets, strict ? ", strict" : "");
            spec.commandLine().getOut().flush();
        }

        private static void write(FileChannel ch, MemorySegment seg) throws IOException {
            var buf = seg.asByteBuffer();
            while (buf.hasRemaining()) ch.write(buf);
        }
    }
}

package dev.vtd.cli;

import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.vmm.perf.IoPaths;
import dev.vtd.vmm.perf.IoPaths.Path;
import dev.vtd.vmm.perf.IoPaths.Result;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code vtd bench ...}: measured comparisons on the model. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measured comparisons on the model.",
        subcommands = {BenchCommand.IoPathsCommand.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code vtd bench io-paths}: the seeds' Figure 2, emulated vs paravirtual vs assigned vs native. */
    @Command(name = "io-paths", mixinStandardHelpOptions = true,
            description = "The same guest workload on an emulated e1000, virtio-net, an assigned I350 and the host's own igb.")
    public static final class IoPathsCommand implements Runnable {
        static final int[] QUICK_SIZES = {64, 1500, 9000};
        static final int[] FULL_SIZES = {64, 256, 512, 1024, 1500, 2048, 4096, 9000};

        @Option(names = "--quick", description = "A run of seconds: three frame sizes, 256 packets each.")
        boolean quick;

        @Option(names = "--packets", paramLabel = "N", defaultValue = "0",
                description = "Packets per path and size (default 256 with --quick, else 8192).")
        long packets;

        @Option(names = "--chart", paramLabel = "FILE", description = "Also write an SVG chart of packets/s and exits/packet by path.")
        String chart;

        @Option(names = "--exit-cycles", paramLabel = "N", defaultValue = "1500",
                description = "Assumed cycles of one VM exit and re-entry, for the costed estimate (default ${DEFAULT-VALUE}).")
        long exitCycles;

        @Option(names = "--ghz", paramLabel = "F", defaultValue = "2.6",
                description = "Assumed core clock for the costed estimate (default ${DEFAULT-VALUE}).")
        double ghz;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            if (packets < 0 || packets > 10_000_000) throw new UserInputException("bench io-paths: --packets " + packets
                    + ": must be 1..10000000");
            if (exitCycles < 0 || exitCycles > 1_000_000) throw new UserInputException("bench io-paths: --exit-cycles "
                    + exitCycles + ": must be 0..1000000");
            if (!(ghz > 0.1 && ghz < 10)) throw new UserInputException("bench io-paths: --ghz " + ghz + ": must be 0.1..10");
            long n = packets > 0 ? packets : quick ? 256 : 8192;
            int[] sizes = quick ? QUICK_SIZES : FULL_SIZES;
            List<Result> results = new ArrayList<>();
            int cells = 0, done = 0;
            for (int s : sizes) for (Path p : Path.values()) if (s <= p.maxFrame()) cells++;
            boolean bar = !quick && System.console() != null;
            for (int s : sizes) {
                for (Path p : Path.values()) {
                    if (s > p.maxFrame()) continue;
                    results.add(IoPaths.measure(p, s, n));
                    done++;
                    if (bar) progress(done, cells);
                }
            }
            if (bar) System.err.print("\r" + " ".repeat(60) + "\r");
            PrintWriter out = spec.commandLine().getOut();
            table(results, n, exitCycles, ghz).forEach(out::println);
            out.flush();
            if (chart != null) {
                try {
                    Files.writeString(java.nio.file.Path.of(chart), svg(results));
                } catch (IOException e) {
                    throw new UserInputException("bench io-paths: --chart " + chart + ": " + e.getMessage());
                }
                out.println("chart written to " + chart);
                out.flush();
            }
        }

        private static void progress(int done, int total) {
            int w = 40, f = done * w / total;
            System.err.print("\r[" + "#".repeat(f) + " ".repeat(w - f) + "] " + done + "/" + total);
            System.err.flush();
        }
    }

    static List<String> table(List<Result> results, long packets, long exitCycles, double ghz) {
        List<String> out = new ArrayList<>();
        out.add("I/O paths on the Dell R630 model: loop-back round trips (one transmit and one receive per packet), "
                + packets + " packets per row.");
        out.add("Counts are exact; ns/pkt is the model's own CPU time on this machine. The exit cost is an estimate from");
        out.add(String.format(Locale.ROOT, "assumed parameters (%d cycles per exit at %.1f GHz; --exit-cycles, --ghz), not a measurement.",
                exitCycles, ghz));
        out.add("");
        out.add(String.format(Locale.ROOT, "%-22s %5s %10s %8s %9s %6s %6s %8s %8s %9s %7s %9s %11s", "path", "size", "pkts/s",
                "ns/pkt", "exits/pkt", "mmio", "kick", "inject", "copies", "bytes", "irqs", "iotlb-miss", "exit-cost ns"));
        for (Result r : results) {
            double exits = r.perPacket(r.exits());
            out.add(String.format(Locale.ROOT, "%-22s %5d %10.0f %8.0f %9.2f %6.2f %6.2f %8.2f %8.2f %9.0f %7.2f %9.3f %11.0f",
                    r.path().label, r.size(), r.packetsPerSecond(), r.nanosPerPacket(), exits, r.perPacket(r.mmioExits()),
                    r.perPacket(r.kickExits()), r.perPacket(r.injections()), r.perPacket(r.copies()),
                    r.perPacket(r.bytesCopied()), r.perPacket(r.interrupts()), r.perPacket(r.iotlbMisses()),
                    exits * exitCycles / ghz));
        }
        return out;
    }

    /** Two bar charts side by side: packets per second and exits per packet, one bar per path, at the largest common size. */
    static String svg(List<Result> results) {
        int size = 0;
        for (Result r : results) if (r.size() <= 1500) size = Math.max(size, r.size());
        List<Result> at = new ArrayList<>();
        for (Result r : results) if (r.size() == size) at.add(r);
        double maxPps = 1, maxExits = 1;
        for (Result r : at) {
            maxPps = Math.max(maxPps, r.packetsPerSecond());
            maxExits = Math.max(maxExits, r.perPacket(r.exits()));
        }
        StringBuilder b = new StringBuilder();
        int w = 820, h = 360, barW = 56;
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
        b.append("<text x=\"10\" y=\"20\" font-size=\"15\">I/O paths, ").append(size)
                .append("-byte frames, loop-back round trips (vtd model)</text>\n");
        String[] colors = {"#c0392b", "#e67e22", "#27ae60", "#2980b9", "#8e44ad"};
        for (int panel = 0; panel < 2; panel++) {
            int x0 = 40 + panel * 400, y0 = 300;
            b.append("<text x=\"").append(x0).append("\" y=\"50\">").append(panel == 0 ? "packets/s (model CPU time)" : "VM exits per packet")
                    .append("</text>\n");
            for (int i = 0; i < at.size(); i++) {
                Result r = at.get(i);
                double v = panel == 0 ? r.packetsPerSecond() : r.perPacket(r.exits());
                double max = panel == 0 ? maxPps : maxExits;
                int bh = (int) Math.round(220 * v / max);
                int x = x0 + i * (barW + 12);
                b.append("<rect x=\"").append(x).append("\" y=\"").append(y0 - bh).append("\" width=\"").append(barW)
                        .append("\" height=\"").append(bh).append("\" fill=\"").append(colors[r.path().ordinal() % colors.length]).append("\"/>\n");
                b.append("<text x=\"").append(x).append("\" y=\"").append(y0 - bh - 4).append("\">")
                        .append(String.format(Locale.ROOT, panel == 0 ? "%.0f" : "%.2f", v)).append("</text>\n");
                b.append("<text x=\"").append(x).append("\" y=\"").append(y0 + 16 + 14 * (i % 2)).append("\" font-size=\"10\">")
                        .append(r.path().label.replace("&", "&amp;")).append("</text>\n");
            }
        }
        b.append("</svg>\n");
        return b.toString();
    }
}

package dev.vtd.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd bench io-paths}: the table of the seeds' Figure 2, its chart, and its one-line errors. */
class BenchCommandTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    private static Run vtd(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void quickRunPrintsEveryPathAtEverySizeItSupportsWithExactCountsAndWritesTheChart() throws Exception {
        Path svg = dir.resolve("io.svg");
        Run r = vtd("bench", "io-paths", "--quick", "--packets", "16", "--chart", svg.toString());
        assertEquals(0, r.exit(), r.err());
        List<String> rows = r.out().lines().filter(l -> l.matches("^(emulated|virtio|assigned|native).*")).toList();
        assertEquals(5 + 5 + 2, rows.size(), r.out());          // 64 and 1500 on all five paths; 9000 on the two software ones
        String emu = rows.getFirst();
        assertTrue(emu.matches("emulated e1000 +64 .* 5\\.00 +4\\.00 +1\\.00 .*"), emu);
        assertTrue(rows.stream().filter(l -> l.startsWith("assigned")).allMatch(l -> l.matches("assigned I350 +\\d+ +\\d+ +\\d+ +0\\.00 .*")),
                r.out());
        assertTrue(r.out().contains("not a measurement"), "the costed estimate says what it is");
        String chart = Files.readString(svg);
        assertTrue(chart.startsWith("<svg") && chart.contains("VM exits per packet") && chart.contains("virtio-net"), chart);
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Run r = vtd("bench", "io-paths", "--packets", "-5");
        assertNotEquals(0, r.exit());
        assertEquals("vtd: bench io-paths: --packets -5: must be 1..10000000", r.err().strip());
        Run g = vtd("bench", "io-paths", "--ghz", "fast");
        assertNotEquals(0, g.exit());
        assertTrue(g.err().lines().findFirst().orElse("").contains("'fast' is not a number"), g.err());
    }
}

package dev.vtd.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd trace synth|stats|replay}: the commands, their output and their one-line errors. */
class TraceCommandTest {
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
    void synthThenReplayComparesGeometriesOnOneTrace() {
        String t = dir.resolve("mt.trace").toString();
        Run s = vtd("trace", "synth", "-o", t, "--tenants", "8", "--ring", "32", "--burst", "8", "--packets", "20000");
        assertEquals(0, s.exit(), s.err());
        assertEquals(t + ": 60000 records (8 tenants, 20000 packets)\n", s.out());
        Run r = vtd("trace", "replay", t, "--iotlb", "entries=64,ways=8,policy=lru", "--iotlb", "entries=4096,ways=16");
        assertEquals(0, r.exit(), r.err());
        var lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("IOTLB 64 entries, 8-way, lru   hit rate  "), lines.get(0));
        double small = Double.parseDouble(lines.get(0).replaceAll(".*hit rate +([0-9.]+)%.*", "$1"));
        double big = Double.parseDouble(lines.get(1).replaceAll(".*hit rate +([0-9.]+)%.*", "$1"));
        assertTrue(big > small + 10, "a 4096-entry IOTLB holds all 8 tenants' working sets: " + big + " vs " + small);
    }

    @Test
    void statsCountsRecordsByKindAndDevice() {
        String t = dir.resolve("s.trace").toString();
        assertEquals(0, vtd("trace", "synth", "-o", t, "--tenants", "2", "--packets", "100", "--strict").exit());
        Run r = vtd("trace", "stats", t);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("records        400 (300 translations, 100 invalidations, 0 interrupts)\n"), r.out());
        assertTrue(r.out().contains("  unit 0 01:00.0  "), r.out());
        assertTrue(r.out().contains("invalidation   100  iotlb_page"), r.out());
    }

    @Test
    void aMalformedTraceIsOneLineNamingTheFileAndThePlace() throws Exception {
        Path bad = dir.resolve("bad.trace");
        Files.write(bad, new byte[]{'V', 'T', 'D', 'T', 'R', 'A', 'C', 'E', 1, 0, 48, 0, 0, 0, 0, 0, 1, 2, 3});
        Run r = vtd("trace", "replay", bad.toString());
        assertEquals(Main.EXIT_USAGE, r.exit());
        assertEquals("vtd: trace replay: " + bad + ": offset 16: truncated record (3 of 48 bytes)\n", r.err());
        Run missing = vtd("trace", "stats", dir.resolve("nope").toString());
        assertEquals("vtd: trace stats: " + dir.resolve("nope") + ": no such file\n", missing.err());
        Run geometry = vtd("trace", "replay", bad.toString(), "--iotlb", "entries=63");
        assertEquals("vtd: trace replay --iotlb entries=63: entries 63 is not a multiple of ways 8\n", geometry.err());
        Run synth = vtd("trace", "synth", "-o", dir.resolve("x").toString(), "--tenants", "0");
        assertEquals("vtd: trace synth: tenants 0 outside 1..255\n", synth.err());
        assertFalse(Files.exists(dir.resolve("x")), "nothing written");
    }
}

package dev.vtd.firmware.acpi.ivrs;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** shared/realdata/ivrs located from the working directory, and running iasl. */
final class IvrsRealData {
    private IvrsRealData() {}

    static Path dir() {
        Path d = Path.of("").toAbsolutePath();
        while (d != null) {
            Path c = d.resolve("shared").resolve("realdata").resolve("ivrs");
            if (Files.isDirectory(c)) return c;
            d = d.getParent();
        }
        Assumptions.abort("shared/realdata/ivrs not found above " + Path.of("").toAbsolutePath());
        throw new AssertionError("unreachable");
    }

    static List<Path> tables() {
        try (Stream<Path> s = Files.list(dir())) {
            List<Path> l = s.filter(p -> p.getFileName().toString().endsWith(".ivrs.bin")).sorted().toList();
            if (l.isEmpty()) throw new AssertionError("no *.ivrs.bin in " + dir());
            return l;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String baseName(Path p) {
        String n = p.getFileName().toString();
        return n.substring(0, n.indexOf('.'));
    }

    /** iasl -d of the bytes; the test is aborted with the reason when iasl is not installed. */
    static String iaslDisassemble(byte[] table, Path dir) throws IOException, InterruptedException {
        Path bin = dir.resolve("ivrs.dat");
        Files.write(bin, table);
        Process p;
        try {
            p = new ProcessBuilder("iasl", "-d", "ivrs.dat").directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("iasl.log").toFile()).start();
        } catch (IOException notInstalled) {
            Assumptions.abort("iasl (Debian package acpica-tools) not installed");
            throw new AssertionError("unreachable");
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("iasl -d did not finish");
        }
        assertEquals(0, p.exitValue(), () -> "iasl -d failed: " + readQuietly(dir.resolve("iasl.log")));
        return Files.readString(dir.resolve("ivrs.dsl"));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** iasl's field lines: after the banner comment, before "Raw Table Data". */
    static List<String> iaslFieldLines(String dsl) {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (String line : dsl.split("\n", -1)) {
            if (line.startsWith("Raw Table Data")) break;
            if (in) out.add(line.stripTrailing());
            if (line.equals(" */")) in = true;
        }
        while (!out.isEmpty() && out.getFirst().isEmpty()) out.removeFirst();
        return out;
    }

    /** Lines cut into blocks, a new block at each "Subtable Type" line. */
    static List<List<String>> blocks(List<String> lines) {
        List<List<String>> blocks = new ArrayList<>();
        blocks.add(new ArrayList<>());
        for (String l : lines) {
            if (l.contains("Subtable Type : ")) blocks.add(new ArrayList<>());
            blocks.getLast().add(l);
        }
        return blocks;
    }

    /**
     * Our listing agrees with iasl's block for block; a subtable iasl calls unknown but we decode (IVHD 40h, which
     * iasl 20200925 cannot read) is compared by its first four lines only.
     */
    static void assertSameAsIasl(List<String> ours, String dsl, String what) {
        List<List<String>> mine = blocks(ours);
        List<List<String>> theirs = blocks(iaslFieldLines(dsl));
        assertEquals(theirs.size(), mine.size(), what + ": number of subtables");
        for (int i = 0; i < mine.size(); i++) {
            List<String> a = mine.get(i), b = theirs.get(i);
            if (b.getFirst().contains("[Unknown Subtable Type]") && !a.getFirst().contains("[Unknown Subtable Type]")) {
                assertEquals(b.getFirst().replace("Unknown Subtable Type", "Hardware Definition Block"), a.getFirst(), what);
                assertEquals(b.subList(1, 4), a.subList(1, 4), what + " block " + i);
                continue;
            }
            assertEquals(String.join("\n", b), String.join("\n", a), what + " block " + i);
        }
    }
}

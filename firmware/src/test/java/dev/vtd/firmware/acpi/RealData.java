package dev.vtd.firmware.acpi;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates /work/shared/realdata/dmar (the repository's sibling {@code shared/realdata}) from the test's working directory. */
final class RealData {
    private RealData() {}

    /** The dmar directory, or the test is aborted with the reason when the shared data is absent. */
    static Path dmarDir() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("shared").resolve("realdata").resolve("dmar");
            if (Files.isDirectory(candidate)) return candidate;
            dir = dir.getParent();
        }
        Assumptions.abort("shared/realdata/dmar not found above " + Path.of("").toAbsolutePath()
                + " (the shared real-data directory is not checked out next to the repository)");
        throw new AssertionError("unreachable");
    }

    /** Files in the dmar directory whose names end with the suffix, sorted. */
    static List<Path> files(String suffix) {
        try (Stream<Path> s = Files.list(dmarDir())) {
            List<Path> found = s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
            if (found.isEmpty()) throw new AssertionError("no *" + suffix + " files in " + dmarDir());
            return found;
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

    /** "dell_m6800_haswell" for ".../dell_m6800_haswell.fw.bin". */
    static String baseName(Path p) {
        String n = p.getFileName().toString();
        return n.substring(0, n.indexOf('.'));
    }

    static DmarTable parse(Path p) throws DmarFormatException {
        return DmarParser.parse(read(p), p.getFileName().toString());
    }
}

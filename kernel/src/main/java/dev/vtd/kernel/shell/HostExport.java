package dev.vtd.kernel.shell;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the host's /sys and /proc as real files and symbolic links under a directory (DIR/sys/..., DIR/proc/...,
 * DIR/dmesg.txt), the way a copy of a real host's trees would look: attributes hold what reading them gives
 * (binary ones byte for byte), write-only attributes are empty files, links keep their relative targets. Real
 * tools (lspci -A linux-sysfs -O sysfs.path=DIR/sys/bus/pci) read the result.
 */
public final class HostExport {
    private HostExport() {}

    /** Files, directories and links written. */
    public record Counts(int files, int dirs, int links) {}

    /** Exports the shell's host; the directory is created if needed and existing entries are replaced. */
    public static Counts export(Shell shell, Path dir) throws IOException {
        int[] n = new int[3];
        Files.createDirectories(dir);
        for (String top : new String[] {"sys", "proc"}) {
            Vfs.Node node;
            try {
                node = shell.fs().resolve("/" + top, false).node();
            } catch (Vfs.VfsException e) {
                continue;
            }
            write(node, dir.resolve(top), n);
        }
        Files.writeString(dir.resolve("dmesg.txt"), shell.host().log().dmesg(), StandardCharsets.UTF_8);
        n[0]++;
        return new Counts(n[0], n[1], n[2]);
    }

    private static void write(Vfs.Node node, Path at, int[] n) throws IOException {
        switch (node) {
            case Vfs.Dir d -> {
                Files.createDirectories(at);
                n[1]++;
                Map<String, Vfs.Node> entries = d.entries().get();
                for (var e : entries.entrySet()) {
                    String name = e.getKey();
                    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/")) continue;
                    write(e.getValue(), at.resolve(name), n);
                }
            }
            case Vfs.File f -> {
                String text = "";
                if (f.reader() != null) {
                    try {
                        text = f.reader().get();
                    } catch (RuntimeException e) {
                        text = "";                                 // an attribute that cannot be read exports empty
                    }
                }
                Files.deleteIfExists(at);
                // Attributes are strings of bytes (ISO-8859-1 keeps each char as one byte).
                Files.write(at, text.getBytes(StandardCharsets.ISO_8859_1));
                n[0]++;
            }
            case Vfs.Link l -> {
                Files.deleteIfExists(at);
                Files.createSymbolicLink(at, Path.of(l.target()));
                n[2]++;
            }
        }
    }
}

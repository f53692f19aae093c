package dev.vtd.kernel.shell;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The host's file tree as the shell sees it: directories whose entries are computed from kernel state when read
 * (sysfs, procfs), files with a reader and an optional writer (a sysfs attribute's store), and symbolic links
 * with relative targets as sysfs has them. Paths are absolute; {@code .} and {@code ..} are understood.
 */
public final class Vfs {
    /** A file system object. */
    public sealed interface Node permits Dir, File, Link {}

    /** A directory; its entries are computed when listed. */
    public record Dir(Supplier<Map<String, Node>> entries) implements Node {
        public static Dir of(Map<String, Node> fixed) {
            return new Dir(() -> fixed);
        }
    }

    /** A regular file (or attribute); {@code writer} null means read-only. */
    public record File(Supplier<String> reader, Writer writer) implements Node {
        public static File readOnly(Supplier<String> reader) {
            return new File(reader, null);
        }

        public static File writeOnly(Writer w) {
            return new File(null, w);
        }
    }

    /** A symbolic link; the target is relative to the link's directory unless it starts with '/'. */
    public record Link(String target) implements Node {}

    /** A store to a file: the text written (append says {@code >>}); throws with the errno text to fail. */
    @FunctionalInterface
    public interface Writer {
        void write(String text, boolean append) throws VfsException;
    }

    /** A failed operation, carrying strerror's text ("No such device", "Permission denied"). */
    public static final class VfsException extends Exception {
        public VfsException(String strerror) {
            super(strerror, null, false, false);
        }
    }

    public static final String ENOENT = "No such file or directory";
    public static final String ENOTDIR = "Not a directory";
    public static final String EISDIR = "Is a directory";
    public static final String EACCES = "Permission denied";
    public static final String ELOOP = "Too many levels of symbolic links";
    private static final int MAX_LINKS = 40;

    private final Supplier<Dir> root;

    public Vfs(Supplier<Dir> root) {
        this.root = root;
    }

    /** A resolved path: its canonical absolute form and the node. */
    public record Resolved(String path, Node node) {}

    /** Looks up a path; the last component's link is followed when {@code follow}. */
    public Resolved resolve(String path, boolean follow) throws VfsException {
        return walk(split(path), follow, new int[1]);
    }

    private Resolved walk(List<String> parts, boolean followLast, int[] hops) throws VfsException {
        List<String> at = new ArrayList<>();
        Node node = root.get();
        for (int i = 0; i < parts.size(); i++) {
            String p = parts.get(i);
            if (p.equals(".")) continue;
            if (p.equals("..")) {
                if (!at.isEmpty()) {
                    at.removeLast();
                    node = walk(new ArrayList<>(at), true, hops).node();
                }
                continue;
            }
            if (!(node instanceof Dir d)) throw new VfsException(ENOTDIR);
            Node next = d.entries().get().get(p);
            if (next == null) throw new VfsException(ENOENT);
            boolean last = i == parts.size() - 1;
            if (next instanceof Link l && (!last || followLast)) {
                if (++hops[0] > MAX_LINKS) throw new VfsException(ELOOP);
                List<String> target = new ArrayList<>(l.target().startsWith("/") ? List.of() : at);
                target.addAll(split(l.target()));
                Resolved r = walk(normalize(target), true, hops);
                at = new ArrayList<>(split(r.path()));
                node = r.node();
                continue;
            }
            at.add(p);
            node = next;
        }
        return new Resolved("/" + String.join("/", at), node);
    }

    private static List<String> normalize(List<String> parts) {
        List<String> out = new ArrayList<>();
        for (String p : parts) {
            if (p.equals(".")) continue;
            if (p.equals("..")) {
                if (!out.isEmpty()) out.removeLast();
            } else {
                out.add(p);
            }
        }
        return out;
    }

    static List<String> split(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) if (!s.isEmpty()) out.add(s);
        return out;
    }

    /** The text of a file. */
    public String read(String path) throws VfsException {
        Node n = resolve(path, true).node();
        if (n instanceof Dir) throw new VfsException(EISDIR);
        File f = (File) n;
        if (f.reader() == null) throw new VfsException(EACCES);
        return f.reader().get();
    }

    /** Writes (or appends) text to a file. */
    public void write(String path, String text, boolean append) throws VfsException {
        Node n = resolve(path, true).node();
        if (n instanceof Dir) throw new VfsException(EISDIR);
        File f = (File) n;
        if (f.writer() == null) throw new VfsException(EACCES);
        f.writer().write(text, append);
    }

    /** Entry names of a directory, sorted. */
    public List<String> list(String path) throws VfsException {
        Node n = resolve(path, true).node();
        if (!(n instanceof Dir d)) throw new VfsException(ENOTDIR);
        return d.entries().get().keySet().stream().sorted(Vfs::compareNames).toList();
    }

    /** ls order: numeric runs compared as numbers would be wrong for ls; plain byte order like LC_ALL=C. */
    static int compareNames(String a, String b) {
        return a.compareTo(b);
    }

    /** Expands shell wildcards ({@code *}, {@code ?}) in an absolute path; no match leaves the word as is. */
    public List<String> glob(String pattern) {
        if (!pattern.startsWith("/") || (pattern.indexOf('*') < 0 && pattern.indexOf('?') < 0)) return List.of(pattern);
        List<String> current = List.of("");
        for (String part : split(pattern)) {
            List<String> next = new ArrayList<>();
            for (String base : current) {
                if (part.indexOf('*') < 0 && part.indexOf('?') < 0) {
                    next.add(base + "/" + part);
                    continue;
                }
                String regex = globRegex(part);
                try {
                    for (String name : list(base.isEmpty() ? "/" : base)) {
                        if (name.matches(regex)) next.add(base + "/" + name);
                    }
                } catch (VfsException e) {
                    // not a directory: nothing matches below it
                }
            }
            current = next;
        }
        List<String> existing = new ArrayList<>();
        for (String c : current) {
            try {
                resolve(c, false);
                existing.add(c);
            } catch (VfsException e) {
                // dropped: globs only name what exists
            }
        }
        return existing.isEmpty() ? List.of(pattern) : existing;
    }

    private static String globRegex(String part) {
        StringBuilder sb = new StringBuilder();
        for (char c : part.toCharArray()) {
            switch (c) {
                case '*' -> sb.append("[^/]*");
                case '?' -> sb.append("[^/]");
                default -> sb.append(java.util.regex.Pattern.quote(String.valueOf(c)));
            }
        }
        return sb.toString();
    }
}

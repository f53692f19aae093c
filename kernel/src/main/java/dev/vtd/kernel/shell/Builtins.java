package dev.vtd.kernel.shell;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The general-purpose commands: echo, cat, ls, readlink, grep, head, wc, dmesg, help, history, exit, true, false. */
final class Builtins {
    private Builtins() {}

    static void install(Shell s) {
        s.register("echo", Builtins::echo);
        s.register("cat", Builtins::cat);
        s.register("ls", Builtins::ls);
        s.register("readlink", Builtins::readlink);
        s.register("grep", Builtins::grep);
        s.register("head", Builtins::head);
        s.register("wc", Builtins::wc);
        s.register("dmesg", Builtins::dmesg);
        s.register("help", (argv, in, io) -> {
            io.out().println("Commands: " + String.join(" ", io.shell().commandNames()));
            return 0;
        });
        s.register("history", (argv, in, io) -> {
            List<String> h = io.shell().history();
            for (int i = 0; i < h.size(); i++) io.out().printf("%5d  %s%n", i + 1, h.get(i));
            return 0;
        });
        s.register("exit", (argv, in, io) -> {
            io.shell().requestExit();
            return 0;
        });
        s.register("true", (argv, in, io) -> 0);
        s.register("false", (argv, in, io) -> 1);
    }

    static int echo(List<String> argv, String in, ShellIo io) {
        boolean newline = true;
        int i = 1;
        if (argv.size() > 1 && argv.get(1).equals("-n")) {
            newline = false;
            i = 2;
        }
        io.out().print(String.join(" ", argv.subList(i, argv.size())) + (newline ? "\n" : ""));
        return 0;
    }

    static int cat(List<String> argv, String in, ShellIo io) {
        if (argv.size() == 1) {
            io.out().print(in);
            return 0;
        }
        int status = 0;
        for (String p : argv.subList(1, argv.size())) {
            try {
                io.out().print(io.shell().fs().read(p));
            } catch (Vfs.VfsException e) {
                io.err().println("cat: " + p + ": " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    static int ls(List<String> argv, String in, ShellIo io) {
        boolean longFormat = false;
        List<String> paths = new ArrayList<>();
        for (String a : argv.subList(1, argv.size())) {
            if (a.startsWith("-") && a.length() > 1) {
                for (char c : a.substring(1).toCharArray()) {
                    if (c == 'l') longFormat = true;
                    else if (c != '1' && c != 'a' && c != 'F') {
                        io.err().println("ls: invalid option -- '" + c + "'");
                        return 2;
                    }
                }
            } else {
                paths.add(a);
            }
        }
        if (paths.isEmpty()) paths.add("/");
        Vfs fs = io.shell().fs();
        int status = 0;
        List<String> files = new ArrayList<>();
        List<String> dirs = new ArrayList<>();
        for (String p : paths) {
            try {
                Vfs.Node n = fs.resolve(p, true).node();
                if (n instanceof Vfs.Dir) dirs.add(p);
                else files.add(p);
            } catch (Vfs.VfsException e) {
                io.err().println("ls: cannot access " + p + ": " + e.getMessage());
                status = 2;
            }
        }
        PrintWriter out = io.out();
        for (String f : files) out.println(longFormat ? longLine(fs, f, f) : f);
        boolean headers = paths.size() > 1;
        for (int i = 0; i < dirs.size(); i++) {
            String d = dirs.get(i);
            if (headers) {
                if (i > 0 || !files.isEmpty()) out.println();
                out.println(d + ":");
            }
            try {
                List<String> names = fs.list(d);
                if (longFormat) out.println("total 0");
                for (String name : names) {
                    out.println(longFormat ? longLine(fs, (d.endsWith("/") ? d : d + "/") + name, name) : name);
                }
            } catch (Vfs.VfsException e) {
                io.err().println("ls: cannot open directory " + d + ": " + e.getMessage());
                status = 2;
            }
        }
        return status;
    }

    private static String longLine(Vfs fs, String path, String name) {
        try {
            Vfs.Node n = fs.resolve(path, false).node();
            return switch (n) {
                case Vfs.Link l -> "lrwxrwxrwx 1 root root 0 Jan  1 00:00 " + name + " -> " + l.target();
                case Vfs.Dir d -> "drwxr-xr-x 2 root root 0 Jan  1 00:00 " + name;
                case Vfs.File f -> (f.reader() != null ? "-r" : "--") + (f.writer() != null ? "w" : "-")
                        + "-r--r-- 1 root root 4096 Jan  1 00:00 " + name;
            };
        } catch (Vfs.VfsException e) {
            return name;
        }
    }

    static int readlink(List<String> argv, String in, ShellIo io) {
        boolean canonical = false;
        List<String> paths = new ArrayList<>();
        for (String a : argv.subList(1, argv.size())) {
            if (a.equals("-f") || a.equals("-e") || a.equals("-m")) canonical = true;
            else paths.add(a);
        }
        if (paths.isEmpty()) {
            io.err().println("readlink: missing operand");
            return 1;
        }
        int status = 0;
        for (String p : paths) {
            try {
                if (canonical) {
                    io.out().println(io.shell().fs().resolve(p, true).path());
                } else if (io.shell().fs().resolve(p, false).node() instanceof Vfs.Link l) {
                    io.out().println(l.target());
                } else {
                    status = 1;
                }
            } catch (Vfs.VfsException e) {
                status = 1;
            }
        }
        return status;
    }

    static int grep(List<String> argv, String in, ShellIo io) {
        List<String> patterns = new ArrayList<>();
        List<String> files = new ArrayList<>();
        boolean ignoreCase = false, invert = false, count = false, extended = false, fixed = false, numbers = false;
        boolean onlyNames = false;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("-e")) {
                if (++i >= argv.size()) {
                    io.err().println("grep: option requires an argument -- 'e'");
                    return 2;
                }
                patterns.add(argv.get(i));
            } else if (a.startsWith("-") && a.length() > 1 && !a.equals("--")) {
                for (char c : a.substring(1).toCharArray()) {
                    switch (c) {
                        case 'i' -> ignoreCase = true;
                        case 'v' -> invert = true;
                        case 'c' -> count = true;
                        case 'E' -> extended = true;
                        case 'F' -> fixed = true;
                        case 'n' -> numbers = true;
                        case 'l' -> onlyNames = true;
                        default -> {
                            io.err().println("grep: invalid option -- '" + c + "'");
                            io.err().println("Usage: grep [OPTION]... PATTERN [FILE]...");
                            return 2;
                        }
                    }
                }
            } else if (patterns.isEmpty() && !argv.subList(1, i).contains("-e")) {
                patterns.add(a);
            } else {
                files.add(a);
            }
        }
        if (patterns.isEmpty()) {
            io.err().println("Usage: grep [OPTION]... PATTERN [FILE]...");
            return 2;
        }
        List<Pattern> compiled = new ArrayList<>();
        for (String p : patterns) {
            try {
                String regex = fixed ? Pattern.quote(p) : extended ? p : breToJava(p);
                compiled.add(Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE : 0));
            } catch (PatternSyntaxException e) {
                io.err().println("grep: Invalid regular expression");
                return 2;
            }
        }
        boolean any = false;
        int status = 0;
        List<String> sources = files.isEmpty() ? List.of("-") : files;
        for (String f : sources) {
            String text;
            if (f.equals("-")) {
                text = in;
            } else {
                try {
                    text = io.shell().fs().read(f);
                } catch (Vfs.VfsException e) {
                    io.err().println("grep: " + f + ": " + e.getMessage());
                    status = 2;
                    continue;
                }
            }
            String prefix = sources.size() > 1 ? f + ":" : "";
            int matches = 0, lineNo = 0;
            for (String line : lines(text)) {
                lineNo++;
                boolean hit = compiled.stream().anyMatch(p -> p.matcher(line).find());
                if (hit == invert) continue;
                matches++;
                if (!count && !onlyNames) io.out().println(prefix + (numbers ? lineNo + ":" : "") + line);
            }
            if (count) io.out().println(prefix + matches);
            if (onlyNames && matches > 0) io.out().println(f.equals("-") ? "(standard input)" : f);
            any |= matches > 0;
        }
        return status == 2 ? 2 : any ? 0 : 1;
    }

    /** POSIX basic regular expression (with GNU's \| \+ \?) to java.util.regex. */
    static String breToJava(String bre) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bre.length(); i++) {
            char c = bre.charAt(i);
            if (c == '\\' && i + 1 < bre.length()) {
                char d = bre.charAt(++i);
                if ("|+?(){}".indexOf(d) >= 0) sb.append(d);
                else sb.append('\\').append(d);
            } else if ("|+?(){}".indexOf(c) >= 0) {
                sb.append('\\').append(c);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static List<String> lines(String text) {
        if (text.isEmpty()) return List.of();
        String t = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        return List.of(t.split("\n", -1));
    }

    static int head(List<String> argv, String in, ShellIo io) {
        int n = 10;
        List<String> files = new ArrayList<>();
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            try {
                if (a.equals("-n") && i + 1 < argv.size()) n = Integer.parseInt(argv.get(++i));
                else if (a.matches("-n\\d+")) n = Integer.parseInt(a.substring(2));
                else if (a.matches("-\\d+")) n = Integer.parseInt(a.substring(1));
                else files.add(a);
            } catch (NumberFormatException e) {
                io.err().println("head: invalid number of lines: '" + argv.get(i) + "'");
                return 1;
            }
        }
        String text = in;
        if (!files.isEmpty()) {
            try {
                text = io.shell().fs().read(files.getFirst());
            } catch (Vfs.VfsException e) {
                io.err().println("head: cannot open '" + files.getFirst() + "' for reading: " + e.getMessage());
                return 1;
            }
        }
        List<String> ls = lines(text);
        for (String l : ls.subList(0, Math.min(n, ls.size()))) io.out().println(l);
        return 0;
    }

    static int wc(List<String> argv, String in, ShellIo io) {
        boolean l = false, w = false, c = false;
        List<String> files = new ArrayList<>();
        for (String a : argv.subList(1, argv.size())) {
            if (a.startsWith("-") && a.length() > 1) {
                for (char ch : a.substring(1).toCharArray()) {
                    switch (ch) {
                        case 'l' -> l = true;
                        case 'w' -> w = true;
                        case 'c' -> c = true;
                        default -> {
                            io.err().println("wc: invalid option -- '" + ch + "'");
                            return 1;
                        }
                    }
                }
            } else {
                files.add(a);
            }
        }
        if (!l && !w && !c) l = w = c = true;
        String text = in;
        String name = "";
        if (!files.isEmpty()) {
            try {
                text = io.shell().fs().read(files.getFirst());
                name = " " + files.getFirst();
            } catch (Vfs.VfsException e) {
                io.err().println("wc: " + files.getFirst() + ": " + e.getMessage());
                return 1;
            }
        }
        long lines = text.chars().filter(ch -> ch == '\n').count();
        long words = text.isBlank() ? 0 : text.strip().split("\\s+").length;
        long bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        List<String> parts = new ArrayList<>();
        if (l) parts.add(String.valueOf(lines));
        if (w) parts.add(String.valueOf(words));
        if (c) parts.add(String.valueOf(bytes));
        boolean single = parts.size() == 1;
        io.out().println((single ? parts.getFirst() : String.join(" ", parts.stream().map(p -> String.format("%7s", p)).toList())) + name);
        return 0;
    }

    static int dmesg(List<String> argv, String in, ShellIo io) {
        for (String a : argv.subList(1, argv.size())) {
            if (a.equals("-C") || a.equals("--clear")) {
                io.host().log().clear();
                return 0;
            }
            io.err().println("dmesg: unrecognized option '" + a + "'");
            return 1;
        }
        io.out().print(io.host().log().dmesg());
        return 0;
    }
}

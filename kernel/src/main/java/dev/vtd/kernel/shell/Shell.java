package dev.vtd.kernel.shell;

import dev.vtd.kernel.host.Host;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The host's command shell: a small subset of bash over the host's file tree. A line is a list of pipelines
 * separated by {@code ;} or {@code &&}; a pipeline is commands joined by {@code |}, each command's output being the
 * next one's input; the last command may redirect its output with {@code > PATH} or {@code >> PATH}. Words may be
 * quoted with single or double quotes or escaped with a backslash; unquoted words with {@code *} or {@code ?} are
 * expanded against the file tree. Commands come from a registry ({@link #register}) filled with the built-in
 * commands and by {@link ShellExtension}s found on the class path.
 */
public final class Shell {
    private final Host host;
    private final Map<String, ShellCommand> commands = new TreeMap<>();
    private final List<String> history = new ArrayList<>();
    private final Vfs fs;
    private boolean exitRequested;
    private int lastStatus;
    private InputReader reader;

    /**
     * A program that reads the lines typed (or scripted) after the command that started it, instead of the shell:
     * a here-document's body, QEMU's {@code -monitor stdio}. It keeps reading until it says it is done or the input
     * ends.
     */
    public interface InputReader {
        /** Takes one input line; returns false once this line was its last. */
        boolean accept(String line, PrintWriter out, PrintWriter err);

        /** The prompt shown while it reads ({@code "(qemu) "}), or "" for none. */
        String prompt();

        /** The input ended (end of script, Ctrl-D) while it was still reading. */
        default void endOfInput(PrintWriter out, PrintWriter err) {}
    }

    public Shell(Host host) {
        this.host = host;
        this.fs = new Vfs(() -> HostFs.root(host));
    }

    /** A shell with the built-in commands and every {@link ShellExtension} the class path provides. */
    public static Shell create(Host host) {
        Shell s = new Shell(host);
        Builtins.install(s);
        HostCommands.install(s);
        for (ShellExtension e : ServiceLoader.load(ShellExtension.class)) e.install(s);
        return s;
    }

    /** Adds (or replaces) a command. */
    public void register(String command, ShellCommand handler) {
        if (command == null || command.isBlank() || command.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("command name '" + command + "'");
        }
        commands.put(command, handler);
    }

    public ShellCommand command(String name) {
        return commands.get(name);
    }

    /** Registered command names, sorted (for completion and {@code help}). */
    public List<String> commandNames() {
        return List.copyOf(commands.keySet());
    }

    public Host host() { return host; }
    public Vfs fs() { return fs; }
    public List<String> history() { return Collections.unmodifiableList(history); }
    public int lastStatus() { return lastStatus; }
    /** True once {@code exit} ran. */
    public boolean exitRequested() { return exitRequested; }
    void requestExit() { exitRequested = true; }

    /** Hands the following input lines to {@code r} until it is done (see {@link InputReader}). */
    public void readFollowingLines(InputReader r) {
        this.reader = r;
    }

    /** True while a program started by an earlier line reads the input. */
    public boolean readingInput() {
        return reader != null;
    }

    /** The prompt of the program reading the input, or null when the shell itself reads it. */
    public String inputPrompt() {
        return reader == null ? null : reader.prompt();
    }

    /** The input ended: a program still reading it is told so and the shell reads again. */
    public void endOfInput(PrintWriter out, PrintWriter err) {
        InputReader r = reader;
        reader = null;
        if (r != null) r.endOfInput(out, err);
        out.flush();
        err.flush();
    }

    /**
     * Runs a line and returns the status of the last pipeline that ran. Blank lines and comments do nothing. While
     * a program reads the input ({@link #readFollowingLines}) the line is its input instead.
     */
    public int execute(String line, PrintWriter out, PrintWriter err) {
        if (reader != null) {
            InputReader r = reader;
            boolean more;
            try {
                more = r.accept(line, out, err);
            } catch (RuntimeException e) {
                err.println(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                more = false;
            }
            if (!more && reader == r) reader = null;
            out.flush();
            err.flush();
            return lastStatus;
        }
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) return lastStatus;
        history.add(trimmed);
        List<ShellParser.Token> tokens;
        try {
            tokens = ShellParser.tokenize(line);
        } catch (ShellParser.SyntaxError e) {
            err.println("bash: " + e.getMessage());
            out.flush();
            err.flush();
            return lastStatus = 2;
        }
        // A here-document (COMMAND <<WORD): the following lines up to WORD are the pipeline's standard input.
        for (int i = 0; i < tokens.size(); i++) {
            ShellParser.Token t = tokens.get(i);
            if (t.op() || !t.text().startsWith("<<")) continue;
            String word = t.text().substring(2);
            List<ShellParser.Token> rest = new ArrayList<>(tokens);
            rest.remove(i);
            if (word.isEmpty() && i < rest.size() && !rest.get(i).op()) word = rest.remove(i).text();
            if (word.startsWith("-")) word = word.substring(1);
            if (word.isEmpty()) {
                err.println("bash: syntax error near unexpected token `newline'");
                err.flush();
                return lastStatus = 2;
            }
            int pipelineIndex = 0;
            for (int k = 0; k < i; k++) if (tokens.get(k).isOp(";") || tokens.get(k).isOp("&&")) pipelineIndex++;
            String delimiter = word;
            int at = pipelineIndex;
            StringBuilder body = new StringBuilder();
            reader = new InputReader() {
                public boolean accept(String l, PrintWriter o, PrintWriter e) {
                    if (l.strip().equals(delimiter)) {
                        reader = null;
                        lastStatus = runTokens(rest, at, body.toString(), o, e);
                        return false;
                    }
                    body.append(l).append('\n');
                    return true;
                }

                public String prompt() { return "> "; }

                public void endOfInput(PrintWriter o, PrintWriter e) {
                    e.println("bash: warning: here-document delimited by end-of-file (wanted `" + delimiter + "')");
                    lastStatus = runTokens(rest, at, body.toString(), o, e);
                }
            };
            return lastStatus;
        }
        return runTokens(tokens, -1, "", out, err);
    }

    /** Runs parsed pipelines; pipeline number {@code stdinFor} (0-based) reads {@code stdin}. */
    private int runTokens(List<ShellParser.Token> tokens, int stdinFor, String stdin, PrintWriter out, PrintWriter err) {
        int status = 0;
        int index = 0;
        List<ShellParser.Token> pipeline = new ArrayList<>();
        String pendingOp = ";";
        for (int i = 0; i <= tokens.size(); i++) {
            ShellParser.Token t = i < tokens.size() ? tokens.get(i) : null;
            if (t == null || t.isOp(";") || t.isOp("&&")) {
                if (!pipeline.isEmpty() && (pendingOp.equals(";") || status == 0)) {
                    status = runPipeline(pipeline, index == stdinFor ? stdin : "", out, err);
                }
                index++;
                pipeline.clear();
                if (t != null) pendingOp = t.text();
                if (exitRequested) break;
                continue;
            }
            pipeline.add(t);
        }
        out.flush();
        err.flush();
        return lastStatus = status;
    }

    /** Runs a line and returns what it printed on stdout and stderr, interleaved in that order. */
    public String run(String line) {
        StringWriter sw = new StringWriter();
        PrintWriter pw = new PrintWriter(sw);
        execute(line, pw, pw);
        return sw.toString();
    }

    private int runPipeline(List<ShellParser.Token> tokens, String stdin, PrintWriter out, PrintWriter err) {
        List<List<ShellParser.Token>> stages = new ArrayList<>();
        stages.add(new ArrayList<>());
        for (ShellParser.Token t : tokens) {
            if (t.isOp("|")) stages.add(new ArrayList<>());
            else stages.getLast().add(t);
        }
        String input = stdin;
        int status = 0;
        for (int s = 0; s < stages.size(); s++) {
            List<String> argv = new ArrayList<>();
            String redirect = null;
            boolean append = false;
            List<ShellParser.Token> st = stages.get(s);
            for (int i = 0; i < st.size(); i++) {
                ShellParser.Token t = st.get(i);
                if (t.isOp(">") || t.isOp(">>")) {
                    if (i + 1 >= st.size() || st.get(i + 1).op()) {
                        err.println("bash: syntax error near unexpected token `newline'");
                        return 2;
                    }
                    redirect = st.get(++i).text();
                    append = t.isOp(">>");
                } else if (t.globbable()) {
                    argv.addAll(fs.glob(t.text()));
                } else {
                    argv.add(t.text());
                }
            }
            if (argv.isEmpty()) {
                err.println("bash: syntax error near unexpected token `|'");
                return 2;
            }
            StringWriter captured = new StringWriter();
            PrintWriter stageOut = new PrintWriter(captured);
            status = runCommand(argv, input, stageOut, err);
            stageOut.flush();
            String produced = captured.toString();
            if (redirect != null) {
                try {
                    fs.write(redirect, produced, append);
                } catch (Vfs.VfsException e) {
                    // bash reports a failed open as "bash: PATH: ERR"; a refused store as a write error.
                    boolean openFailed = e.getMessage().equals(Vfs.ENOENT) || e.getMessage().equals(Vfs.EACCES)
                            || e.getMessage().equals(Vfs.EISDIR) || e.getMessage().equals(Vfs.ENOTDIR);
                    err.println(openFailed ? "bash: " + redirect + ": " + e.getMessage()
                            : "bash: " + argv.getFirst() + ": write error: " + e.getMessage());
                    status = 1;
                }
                produced = "";
            }
            if (s == stages.size() - 1) out.print(produced);
            else input = produced;
        }
        return status;
    }

    private int runCommand(List<String> argv, String stdin, PrintWriter out, PrintWriter err) {
        ShellCommand c = commands.get(argv.getFirst());
        if (c == null) {
            err.println("bash: " + argv.getFirst() + ": command not found");
            return 127;
        }
        ShellIo io = new ShellIo() {
            public PrintWriter out() { return out; }
            public PrintWriter err() { return err; }
            public Host host() { return host; }
            public Shell shell() { return Shell.this; }
        };
        try {
            return c.run(List.copyOf(argv), stdin, io);
        } catch (RuntimeException e) {
            // A command must not take the shell down; report like a crashed tool would, on one line.
            err.println(argv.getFirst() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            return 1;
        }
    }
}

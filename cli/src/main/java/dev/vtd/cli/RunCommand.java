package dev.vtd.cli;

import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.Shell;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;
import dev.vtd.cli.args.CommandLine.Parameters;
import dev.vtd.cli.args.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code vtd run SCRIPT}: the shell's commands from a file, each echoed as {@code # COMMAND} before its output (a
 * transcript, as if typed at a root prompt). Blank lines and comment lines are skipped. The exit status is the last
 * command's, as for a shell script.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run host shell commands from a script on a freshly booted machine, echoing each command.")
public final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HostOptions options;

    @Parameters(paramLabel = "SCRIPT", description = "File with one command per line ('-' for standard input).")
    String script;

    @Override
    public Integer call() {
        List<String> lines = read(script);
        PrintWriter out = spec.commandLine().getOut();
        try (Host host = options.boot()) {
            Shell shell = Shell.create(host);
            for (String line : lines) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) continue;
                out.println("# " + t);
                out.flush();
                shell.execute(t, out, out);
                if (shell.exitRequested()) break;
            }
            out.flush();
            return shell.lastStatus();
        }
    }

    static List<String> read(String script) {
        try {
            if (script.equals("-")) return new String(System.in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            try {
                return dev.vtd.platform.io.UserFiles.readText(script, dev.vtd.platform.io.UserFiles.TEXT_LIMIT).lines().toList();
            } catch (dev.vtd.platform.io.UserFiles.Problem e) {
                throw new UserInputException(script + ": " + e.getMessage());
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new UserInputException(script + ": cannot read script (" + e.getMessage() + ")");
        }
    }
}

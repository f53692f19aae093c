package dev.vtd.cli;

import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.Shell;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.cli.args.CommandLine.Spec;
import dev.vtd.vmm.shell.VmmShell;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code vtd audit}: boots the host, runs an optional script of shell commands (their output discarded unless
 * they fail), then prints what every requester can reach, by owner, with the verdict. Exit 1 when the policy
 * is broken.
 */
@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Audit what every device can reach by DMA (after an optional script) against the isolation policy.")
public final class AuditCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HostOptions options;

    @Option(names = "--script", paramLabel = "FILE", description = "Shell commands to run first (as `vtd run`).")
    String script;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() {
        List<String> lines = script == null ? List.of() : Scripts.read(script);
        PrintWriter out = spec.commandLine().getOut();
        try (Host host = options.boot()) {
            Shell shell = Shell.create(host);
            Scripts.runQuietly(shell, lines, spec.commandLine().getErr());
            return Audit.print(host, Audit.run(host, VmmShell.existingVmm(shell)), json, out);
        }
    }

    /** Script helpers shared by the commands that run a script before looking. */
    static final class Scripts {
        private Scripts() {
        }

        static List<String> read(String file) {
            return RunCommand.read(file);
        }

        /** Runs each line; output is kept only to show a failing command's messages. */
        static void runQuietly(Shell shell, List<String> lines, PrintWriter err) {
            for (String line : lines) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) continue;
                StringWriter sink = new StringWriter();
                PrintWriter w = new PrintWriter(sink);
                shell.execute(t, w, w);
                if (shell.exitRequested()) break;
            }
            if (shell.readingInput()) {                 // e.g. a QEMU monitor on stdio: the script's end is its EOF
                StringWriter sink = new StringWriter();
                PrintWriter w = new PrintWriter(sink);
                shell.endOfInput(w, w);
            }
        }
    }
}

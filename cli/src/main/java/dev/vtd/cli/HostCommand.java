package dev.vtd.cli;

import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.cli.args.CommandLine.Parameters;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.HostExport;
import dev.vtd.kernel.shell.Shell;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code vtd host ...}: the booted host as files. */
@Command(name = "host", mixinStandardHelpOptions = true, description = "The booted host's trees as real files.",
        subcommands = {HostCommand.Export.class})
public final class HostCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code vtd host export DIR [--machine M] [--script FILE]}. */
    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Boot the machine, run the script if given, and write its /sys, /proc and dmesg as real "
                    + "files and symbolic links under DIR (sys/..., proc/..., dmesg.txt).")
    public static final class Export implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write (created if needed).")
        String dir;

        @Option(names = "--script", paramLabel = "FILE", description = "Shell commands to run before exporting.")
        String script;

        @Mixin
        HostOptions options;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            List<String> lines = script == null ? List.of() : RunCommand.read(script);
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try (Host host = options.boot()) {
                Shell shell = Shell.create(host);
                StringWriter sink = new StringWriter();
                PrintWriter quiet = new PrintWriter(sink);
                for (String line : lines) {
                    String t = line.strip();
                    if (t.isEmpty() || t.startsWith("#")) continue;
                    shell.execute(t, quiet, err);
                    if (shell.exitRequested()) break;
                }
                HostExport.Counts c;
                try {
                    c = HostExport.export(shell, Path.of(dir));
                } catch (IOException | RuntimeException e) {
                    throw new UserInputException("host export: cannot write " + dir + ": " + e.getMessage());
                }
                out.printf("exported %s to %s: %d files, %d directories, %d links%n", host.machine().name(), dir,
                        c.files(), c.dirs(), c.links());
                out.flush();
                return 0;
            }
        }
    }
}

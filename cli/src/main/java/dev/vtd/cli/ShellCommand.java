package dev.vtd.cli;

import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.shell.Shell;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.completer.StringsCompleter;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;
import dev.vtd.cli.args.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code vtd shell}: a root shell on the host. On a terminal it has line editing, history and completion of
 * command names and common sysfs paths; with standard input not a terminal it reads commands line by line.
 */
@Command(name = "shell", mixinStandardHelpOptions = true,
        description = "Power on a machine, boot the host kernel, and open a root shell on it.")
public final class ShellCommand implements Callable<Integer> {
    static final String PROMPT = "[root@localhost ~]# ";

    @Spec
    CommandSpec spec;

    @Mixin
    HostOptions options;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Host host = options.boot()) {
            Shell shell = Shell.create(host);
            if (System.console() != null && System.console().isTerminal()) {
                return interactive(shell);
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while (!shell.exitRequested() && (line = in.readLine()) != null) shell.execute(line, out, err);
            return shell.lastStatus();
        }
    }

    private static int interactive(Shell shell) throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            List<String> words = new ArrayList<>(shell.commandNames());
            words.addAll(List.of("/sys/bus/pci/drivers/", "/sys/bus/pci/devices/", "/sys/kernel/iommu_groups/",
                    "/proc/cmdline", "/proc/cpuinfo", "/etc/default/grub", "/boot/grub2/grub.cfg"));
            LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("vtd")
                    .completer(new StringsCompleter(words)).build();
            PrintWriter out = terminal.writer();
            out.println("vtd shell on " + HostOptions.describe(shell.host().machine()) + " (type 'help', 'exit')");
            while (!shell.exitRequested()) {
                String line;
                try {
                    line = reader.readLine(PROMPT);
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    break;
                }
                shell.execute(line, out, out);
            }
            return shell.lastStatus();
        }
    }
}

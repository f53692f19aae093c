package dev.vtd.cli;

import dev.vtd.cli.qtest.QtestCommand;
import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;

/** The {@code vtd} command. Each subcommand is its own class in this package. */
@Command(name = "vtd", mixinStandardHelpOptions = true, version = "vtd 0.1.0",
        description = "A software implementation of Intel VT-d (DMA and interrupt remapping) and the system around it.",
        subcommands = {CommandLine.HelpCommand.class, DemoCommand.class, DecodeCommand.class, DmarCommand.class,
                MachineCommand.class, ShellCommand.class, RunCommand.class, CheckCommand.class, GroupsCommand.class,
                QtestCommand.class, TraceCommand.class, BenchCommand.class, IvrsCommand.class, HostCommand.class,
                AuditCommand.class})
public final class Main implements Runnable {
    /** Exit code for bad user input (arguments, files). */
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("vtd: " + ex.getMessage());
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            if (ex instanceof DemoCommand.DemoFailed) return 1;
            if (ex instanceof UserInputException u) {
                c.getErr().println("vtd: " + u.getMessage());
                return EXIT_USAGE;
            }
            throw ex;
        });
        return cl;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals(AotTraining.FLAG)) System.exit(AotTraining.run());
        System.exit(commandLine().execute(args));
    }
}

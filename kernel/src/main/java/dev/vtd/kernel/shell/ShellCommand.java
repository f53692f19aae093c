package dev.vtd.kernel.shell;

import java.util.List;

/**
 * One command of the host shell. {@code argv[0]} is the command name as typed; {@code stdin} is what the previous
 * stage of a pipeline wrote (empty when the command starts the line). Output goes to {@link ShellIo#out()}, errors
 * to {@link ShellIo#err()} in the real tool's style ({@code cat: /x: No such file or directory}); the return value
 * is the exit status (0 success). A handler never throws for bad input: it reports and returns non-zero.
 */
@FunctionalInterface
public interface ShellCommand {
    int run(List<String> argv, String stdin, ShellIo io);
}

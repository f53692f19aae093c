package dev.vtd.kernel.shell;

import dev.vtd.kernel.host.Host;

import java.io.PrintWriter;

/** What a {@link ShellCommand} sees: its output and error streams, the host it runs on, and the shell itself. */
public interface ShellIo {
    PrintWriter out();

    PrintWriter err();

    /** The running host (machine, kernel, drivers); it changes identity only across {@code reboot}. */
    Host host();

    Shell shell();
}

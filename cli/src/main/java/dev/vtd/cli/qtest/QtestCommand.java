package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code vtd qtest [QEMU options]}: the machine a QEMU q35 qtest command line describes, driven by
 * QEMU's qtest protocol on stdin/stdout or a Unix socket. Errors in the command line are reported as
 * QEMU reports them ({@code qemu-system-x86_64: OPTION: message}, exit status 1), so harnesses
 * written for QEMU can run it unchanged.
 */
@Command(name = "qtest", description = {
        "Runs QEMU's q35 machine with intel-iommu and edu devices, driven by the qtest protocol.",
        "Takes QEMU's options: -machine q35[,accel=..] -m SIZE -device intel-iommu[,PROPS]",
        "-device edu,addr=DD.F[,dma_mask=N] -qtest stdio|unix:PATH[,server][,wait=off] [-qtest-log FILE];",
        "-nodefaults, -display, -bios, -accel, -serial, -monitor, -nographic are accepted and ignored."})
public final class QtestCommand implements Callable<Integer> {
    /** QEMU's exit status for a bad command line. */
    public static final int EXIT_QEMU_ERROR = 1;
    static final String PROGRAM = "qemu-system-x86_64";

    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (args.contains("-help") || args.contains("--help") || args.contains("-h")) {
            spec.commandLine().usage(spec.commandLine().getOut());
            return 0;
        }
        QemuCommandLine cl;
        try {
            cl = QemuCommandLine.parse(args);
        } catch (QemuOptionException e) {
            spec.commandLine().getErr().println(PROGRAM + ": " + e.getMessage());
            spec.commandLine().getErr().flush();
            return EXIT_QEMU_ERROR;
        }
        Writer log = null;
        if (cl.qtestLog() != null) {
            try {
                log = new FileWriter(cl.qtestLog());
            } catch (IOException e) {
                spec.commandLine().getErr().println(PROGRAM + ": -qtest-log " + cl.qtestLog() + ": " + e.getMessage());
                spec.commandLine().getErr().flush();
                return EXIT_QEMU_ERROR;
            }
        }
        try (Machine m = QtestMachine.build(cl)) {
            QtestServer server = new QtestServer(new QtestSession(m), log);
            switch (cl.qtest()) {
                case QemuCommandLine.Stdio s ->
                        server.serve(new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out));
                case QemuCommandLine.UnixSocket u -> {
                    try {
                        if (u.server()) server.listen(Path.of(u.path()), -1);
                        else server.connect(Path.of(u.path()));
                    } catch (IOException e) {
                        spec.commandLine().getErr().println(PROGRAM + ": -qtest unix:" + u.path() + ": " + e.getMessage());
                        spec.commandLine().getErr().flush();
                        return EXIT_QEMU_ERROR;
                    }
                }
            }
        } finally {
            if (log != null) log.close();
        }
        return 0;
    }
}

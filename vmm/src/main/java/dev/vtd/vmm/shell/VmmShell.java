package dev.vtd.vmm.shell;

import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.shell.Shell;
import dev.vtd.kernel.shell.ShellExtension;
import dev.vtd.kernel.shell.ShellIo;
import dev.vtd.kernel.shell.Vfs;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.VmmException;
import dev.vtd.vmm.config.Qemu;
import dev.vtd.vmm.config.QemuMonitor;
import dev.vtd.vmm.config.Virsh;
import dev.vtd.vmm.host.Host;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The VMM's commands in the host shell ({@code vtd shell}, {@code vtd run}):
 * <ul>
 * <li>{@code qemu-system-x86_64 ARGS}: starts a VM (it keeps running after the command returns, as with
 * {@code -daemonize}); with {@code -monitor stdio} the following input lines are monitor commands at a
 * {@code (qemu)} prompt until {@code quit} or the end of input. A script may write them with the prompt in front
 * ({@code (qemu) info pci}); a pipeline's input ({@code printf ... | qemu-system-x86_64 ...}) is read first.</li>
 * <li>{@code virsh SUBCOMMAND ARGS}: {@link Virsh}; file arguments are read from the shell's file tree, then from
 * the file system; {@code /dev/stdin} is the command's input (a here-document).</li>
 * </ul>
 * One hypervisor per booted kernel: a reboot starts with no VMs.
 */
public final class VmmShell implements ShellExtension {
    /** QEMU's monitor greeting (the version RHEL 7.3's qemu-kvm-rhev reports). */
    public static final String MONITOR_BANNER = "QEMU 2.6.0 monitor - type 'help' for more information";

    /** The hypervisor state of one boot. */
    static final class Session {
        final Host host;
        final Vmm vmm;
        final Virsh virsh;
        String stdin = "";
        /** The shell running a virsh command (set only during the command: the map's key must stay weak). */
        Shell shell;

        Session(dev.vtd.kernel.host.Host kernelHost) {
            this.host = Host.on(kernelHost);
            this.vmm = new Vmm(host);
            this.virsh = new Virsh(vmm, this::readFile);
        }

        private String readFile(String name) {
            if (name.equals("/dev/stdin") || name.equals("-")) return stdin;
            if (shell != null) {
                try {
                    return shell.fs().read(name);
                } catch (Vfs.VfsException e) {
                    // not in the host's file tree: try the file system the tool runs on
                }
            }
            try {
                return Files.readString(Path.of(name));
            } catch (IOException | RuntimeException e) {
                throw new VmmException("error: Failed to open file '" + name + "': No such file or directory");
            }
        }
    }

    /** Per shell (weakly, so a finished shell's machine can go): the session of the kernel it runs on. */
    private static final Map<Shell, Session> SESSIONS = new WeakHashMap<>();

    /** The hypervisor on the host a shell runs on (created on first use, one per boot). */
    public static Vmm vmm(ShellIo io) {
        return session(io).vmm;
    }

    /** The hypervisor already running on the kernel a shell runs on, or null (read-only: never starts one). */
    public static synchronized Vmm existingVmm(Shell shell) {
        Session s = SESSIONS.get(shell);
        return s == null || s.host.kernel() != shell.host().kernel() ? null : s.vmm;
    }

    static synchronized Session session(ShellIo io) {
        Session s = SESSIONS.get(io.shell());
        Kernel running = io.host().kernel();
        if (s == null || s.host.kernel() != running) {
            s = new Session(io.host());
            SESSIONS.put(io.shell(), s);
        }
        return s;
    }

    @Override
    public void install(Shell shell) {
        shell.register("qemu-system-x86_64", VmmShell::qemu);
        shell.register("qemu-kvm", VmmShell::qemu);
        shell.register("virsh", VmmShell::virsh);
    }

    static int qemu(List<String> argv, String stdin, ShellIo io) {
        Session s;
        Qemu.Started started;
        try {
            s = session(io);
            started = Qemu.start(s.vmm, argv);
        } catch (VmmException e) {
            io.err().println(e.getMessage());
            return 1;
        }
        for (String w : started.output()) io.err().println(w);
        if (!started.monitorStdio()) return 0;
        MonitorReader reader = new MonitorReader(started.monitor());
        io.out().println(MONITOR_BANNER);
        for (String line : stdin.lines().toList()) {
            if (!reader.accept(line, io.out(), io.err())) return 0;
        }
        if (!stdin.isEmpty()) return 0;        // the pipe's end is the monitor's end of input
        io.shell().readFollowingLines(reader);
        return 0;
    }

    /** The {@code (qemu)} prompt on stdio: one monitor command per line until {@code quit}. */
    static final class MonitorReader implements Shell.InputReader {
        private final QemuMonitor monitor;

        MonitorReader(QemuMonitor monitor) {
            this.monitor = monitor;
        }

        @Override
        public boolean accept(String line, PrintWriter out, PrintWriter err) {
            String l = line.strip();
            if (l.startsWith("(qemu)")) l = l.substring("(qemu)".length()).strip();
            if (l.isEmpty()) return true;
            String result = monitor.execute(l);
            if (!result.isEmpty()) out.println(result);
            String cmd = l.split("\\s+")[0];
            return !(cmd.equals("quit") || cmd.equals("q"));
        }

        @Override
        public String prompt() {
            return QemuMonitor.PROMPT;
        }
    }

    static int virsh(List<String> argv, String stdin, ShellIo io) {
        Session s;
        try {
            s = session(io);
        } catch (VmmException e) {
            io.err().println("error: failed to connect to the hypervisor\nerror: " + e.getMessage());
            return 1;
        }
        s.stdin = stdin;
        s.shell = io.shell();
        try {
            String out = s.virsh.execute(argv.subList(1, argv.size()));
            if (!out.isEmpty()) io.out().println(out);
            return 0;
        } catch (VmmException e) {
            io.err().println(e.getMessage());
            return 1;
        } finally {
            s.stdin = "";
            s.shell = null;
        }
    }
}

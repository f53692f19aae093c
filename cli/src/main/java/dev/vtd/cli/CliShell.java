package dev.vtd.cli;

import dev.vtd.kernel.shell.Shell;
import dev.vtd.kernel.shell.ShellExtension;
import dev.vtd.kernel.shell.ShellIo;
import dev.vtd.vmm.shell.VmmShell;

import java.util.List;

/** The inspection commands in the host shell: {@code audit [--json]}. */
public final class CliShell implements ShellExtension {
    @Override
    public void install(Shell shell) {
        shell.register("audit", CliShell::audit);
    }

    static int audit(List<String> argv, String stdin, ShellIo io) {
        boolean json = false;
        for (String a : argv.subList(1, argv.size())) {
            if (a.equals("--json")) {
                json = true;
            } else {
                io.err().println("audit: unknown option '" + a + "' (usage: audit [--json])");
                return 2;
            }
        }
        return Audit.print(io.host(), Audit.run(io.host(), VmmShell.existingVmm(io.shell())), json, io.out());
    }
}

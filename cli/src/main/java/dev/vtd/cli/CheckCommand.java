package dev.vtd.cli;

import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.host.Readiness;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;
import dev.vtd.cli.args.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code vtd check}: passthrough readiness in virt-host-validate's format; exit 0 only when everything passes. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Report device-passthrough readiness (like virt-host-validate): PASS/WARN/FAIL with the fix.")
public final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HostOptions options;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Host host = options.boot()) {
            List<Readiness.Check> checks = Readiness.check(host);
            for (Readiness.Check c : checks) out.println(c.format());
            out.flush();
            return Readiness.allPass(checks) ? 0 : 1;
        }
    }
}

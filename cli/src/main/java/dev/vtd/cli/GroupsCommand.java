package dev.vtd.cli;

import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.shell.HostCommands;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Mixin;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;
import dev.vtd.cli.args.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code vtd groups}: the IOMMU groups with their devices and drivers, and whether each group can be assigned
 * (every endpoint bound to vfio-pci or pci-stub, or to no driver; bridges do not count, as in vfio).
 */
@Command(name = "groups", mixinStandardHelpOptions = true,
        description = "List IOMMU groups, their devices, and whether each group is viable for device assignment.")
public final class GroupsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    HostOptions options;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Host host = options.boot()) {
            Kernel k = host.kernel();
            if (k.groups().numbers().isEmpty()) {
                out.println("No IOMMU groups: " + (host.machine().dmar() == null
                        ? "VT-d is disabled in the BIOS (no ACPI DMAR table)"
                        : "the IOMMU is disabled by the kernel (add intel_iommu=on)"));
                out.flush();
                return 1;
            }
            for (int g : k.groups().numbers()) {
                StringBuilder why = new StringBuilder();
                for (PciDevice d : k.groups().members(g)) {
                    if (d.driver() != null && d.normalHeader() && !d.driver().name().equals("vfio-pci")
                            && !d.driver().name().equals("pci-stub")) {
                        why.append(why.isEmpty() ? "" : ", ").append(d.bdf()).append(" bound to ").append(d.driver().name());
                    }
                }
                out.println("IOMMU group " + g + ": " + (why.isEmpty() ? "viable" : "not viable (" + why + ")"));
                for (PciDevice d : k.groups().members(g)) {
                    out.println("    " + HostCommands.headline(d, false, false, true)
                            + (d.driver() == null ? "" : " [" + d.driver().name() + "]"));
                }
            }
            out.flush();
            return 0;
        }
    }
}

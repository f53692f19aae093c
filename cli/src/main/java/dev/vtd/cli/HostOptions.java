package dev.vtd.cli;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.cli.args.CommandLine.Option;

import java.util.List;

/** The options that say which host to power on: machine, BIOS VT-d switch, kernel command line. */
public final class HostOptions {
    /** QEMU's intel-iommu as q35 exposes it: caching mode off, QI, IR, pass-through. */
    static final Cap Q35_CAP = new Cap(0x00d2008c22260206L);
    static final Ecap Q35_ECAP = new Ecap(0xf00f4aL);

    @Option(names = "--machine", paramLabel = "NAME|FILE", defaultValue = "r630",
            description = "Machine to power on: r630 (default), q35-like, q35, desktop, or a YAML machine file.")
    String machine;

    @Option(names = "--vtd", paramLabel = "on|off", defaultValue = "on",
            description = "The BIOS setup's Intel VT for Directed I/O switch (default on).")
    String vtd;

    @Option(names = "--cmdline", paramLabel = "TEXT", description = "Kernel command line (default: ${DEFAULT-VALUE}).",
            defaultValue = Host.DEFAULT_CMDLINE)
    String cmdline;

    /** Powers the host on; bad options are {@link UserInputException}s (nothing is left running). */
    Host boot() {
        Host.MachineFactory factory = factory(machine);
        if (!vtd.equals("on") && !vtd.equals("off")) {
            throw new UserInputException("--vtd: expected on or off, got '" + vtd + "'");
        }
        if (cmdline.length() > 4096) throw new UserInputException("--cmdline: longer than the kernel's 4096 bytes");
        return Host.boot(factory, new Host.BiosSettings(vtd.equals("on")), cmdline);
    }

    /**
     * The machine source: "r630" (the seeds' server, built in code), "q35-like" (QEMU's q35 with two
     * edu devices), or any other preset (q35, desktop) or YAML machine file, loaded and checked once
     * before boot.
     */
    static Host.MachineFactory factory(String name) {
        switch (name) {
            case "r630":
                return bios -> Presets.r630().vtdEnabledInBios(bios.vtd()).build();
            case "q35-like":
                return bios -> q35().vtdEnabledInBios(bios.vtd()).build();
            default:
                dev.vtd.firmware.machine.MachineDescription d;
                try {
                    d = dev.vtd.firmware.machine.Machines.load(name);
                } catch (IllegalArgumentException e) {
                    throw new UserInputException("--machine: unknown machine '" + name
                            + "' (known: r630, q35-like, q35, desktop, or a .yaml file): " + e.getMessage());
                }
                return bios -> d.builder().vtdEnabledInBios(bios.vtd()).build();
        }
    }

    private static dev.vtd.firmware.machine.MachineBuilder q35() {
        return Presets.q35(1L << 30, Q35_CAP, Q35_ECAP, 39, true,
                List.of(new Presets.Edu(3, 0, (1L << 28) - 1), new Presets.Edu(4, 0, (1L << 28) - 1)));
    }

    static String describe(Machine m) {
        return m.name() + ": " + m.description();
    }
}

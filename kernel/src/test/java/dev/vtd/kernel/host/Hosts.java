package dev.vtd.kernel.host;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.shell.Shell;

/** Test hosts: the R630 preset with BIOS settings and a command line. */
final class Hosts {
    private Hosts() {}

    static final Host.MachineFactory R630 = b -> Presets.r630().vtdEnabledInBios(b.vtd()).build();

    static Host r630(String cmdline) {
        return Host.boot(R630, Host.BiosSettings.DEFAULTS, cmdline);
    }

    static Host r630() {
        return r630(Host.DEFAULT_CMDLINE);
    }

    static Host r630VtdOff() {
        return Host.boot(R630, new Host.BiosSettings(false), Host.DEFAULT_CMDLINE);
    }

    static String sh(Host h, String line) {
        return Shell.create(h).run(line);
    }
}

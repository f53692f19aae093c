package dev.vtd.platform.pci;

import java.util.ArrayList;
import java.util.List;

/**
 * A PCI Express switch: one upstream port whose secondary (internal) bus holds the downstream
 * ports at devices 0, 1, ... (PCIe base spec 1.3.3). Attach {@link #upstream()} below a root port
 * or another downstream port; attach devices below {@link #downstream(int)}.
 */
public final class PcieSwitch {
    private final PciBridge upstream;
    private final List<PciBridge> downstream = new ArrayList<>();

    public PcieSwitch(String name, PciIds upstreamIds, PciIds downstreamIds, int ports) {
        if (ports < 1 || ports > 32) throw new IllegalArgumentException("switch ports " + ports);
        upstream = new PciBridge(name + "-up", upstreamIds, PciBridge.Kind.SWITCH_UPSTREAM);
        for (int i = 0; i < ports; i++) {
            PciBridge d = new PciBridge(name + "-down" + i, downstreamIds, PciBridge.Kind.SWITCH_DOWNSTREAM);
            upstream.secondaryBus().add(i, 0, d);
            downstream.add(d);
        }
    }

    public PciBridge upstream() {
        return upstream;
    }

    public PciBridge downstream(int port) {
        return downstream.get(port);
    }

    public List<PciBridge> downstreamPorts() {
        return List.copyOf(downstream);
    }
}

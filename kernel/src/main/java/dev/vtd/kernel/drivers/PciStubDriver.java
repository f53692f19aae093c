package dev.vtd.kernel.drivers;

import java.util.List;

/** pci-stub: claims devices so no other driver takes them (the older way to reserve a device for assignment). */
public final class PciStubDriver implements PciDriver {
    public static final String NAME = "pci-stub";

    @Override public String name() { return NAME; }
    @Override public String module() { return "pci_stub"; }
    @Override public List<DeviceId> idTable() { return List.of(); }

    @Override
    public int probe(PciDevice dev, PciCore core) {
        core.kernel().log().info("pci-stub " + dev.name() + ": claimed by stub");
        return 0;
    }

    @Override
    public void remove(PciDevice dev, PciCore core) {
    }
}

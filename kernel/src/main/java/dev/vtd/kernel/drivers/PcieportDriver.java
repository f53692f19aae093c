package dev.vtd.kernel.drivers;

import dev.vtd.platform.pci.PciBridge;

import java.util.List;

/** pcieport: the built-in port service driver bound to PCIe root and switch ports. */
public final class PcieportDriver implements PciDriver {
    public static final String NAME = "pcieport";
    static final int CLASS_PCI_BRIDGE = 0x060400;

    @Override public String name() { return NAME; }
    @Override public String module() { return null; }

    @Override
    public List<DeviceId> idTable() {
        return List.of(new DeviceId(DeviceId.ANY, DeviceId.ANY, DeviceId.ANY, DeviceId.ANY, CLASS_PCI_BRIDGE, 0xFFFFFF));
    }

    @Override
    public int probe(PciDevice dev, PciCore core) {
        if (!(dev.function() instanceof PciBridge b)) return -Errno.ENODEV.number;
        return switch (b.kind()) {
            case ROOT_PORT, SWITCH_UPSTREAM, SWITCH_DOWNSTREAM -> 0;
            default -> -Errno.ENODEV.number;
        };
    }

    @Override
    public void remove(PciDevice dev, PciCore core) {
    }
}

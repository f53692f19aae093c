package dev.vtd.platform.pci;

/** The host bridge function at 00:00.0 of a root bus (class 06/00/00: host bridge). */
public final class HostBridge extends PciFunction {
    public static final int CLASS_HOST_BRIDGE = 0x060000;

    public HostBridge(String name, int vendorId, int deviceId, int revision, boolean pcieExtendedConfig) {
        super(name, new PciIds(vendorId, deviceId, CLASS_HOST_BRIDGE, revision, vendorId, 0), pcieExtendedConfig);
    }

    /** The q35 (MCH) host bridge, 8086:29c0 as QEMU's q35 presents it. */
    public static HostBridge q35() {
        return new HostBridge("q35-host", 0x8086, 0x29c0, 0x00, false);
    }
}

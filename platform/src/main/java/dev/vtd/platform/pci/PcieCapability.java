package dev.vtd.platform.pci;

/**
 * PCI Express capability (PCIe base spec 7.5.3), version 2, 0x3C bytes: capabilities with the
 * Device/Port Type, device/link/slot/root registers and their "2" variants. Endpoints that
 * advertise Function Level Reset Capability reset when software sets Initiate FLR.
 */
public final class PcieCapability extends Capability {
    public static final int TYPE_ENDPOINT = 0x0;
    public static final int TYPE_LEGACY_ENDPOINT = 0x1;
    public static final int TYPE_ROOT_PORT = 0x4;
    public static final int TYPE_UPSTREAM_PORT = 0x5;
    public static final int TYPE_DOWNSTREAM_PORT = 0x6;
    public static final int TYPE_PCIE_TO_PCI_BRIDGE = 0x7;
    public static final int TYPE_PCI_TO_PCIE_BRIDGE = 0x8;
    public static final int TYPE_RC_INTEGRATED_ENDPOINT = 0x9;
    public static final int TYPE_RC_EVENT_COLLECTOR = 0xA;

    public static final int CAPABILITIES = 0x02;
    public static final int DEVICE_CAPABILITIES = 0x04;
    public static final int DEVICE_CONTROL = 0x08;
    public static final int DEVICE_STATUS = 0x0A;
    public static final int LINK_CAPABILITIES = 0x0C;
    public static final int LINK_CONTROL = 0x10;
    public static final int LINK_STATUS = 0x12;
    public static final int SLOT_CAPABILITIES = 0x14;
    public static final int SLOT_CONTROL = 0x18;
    public static final int SLOT_STATUS = 0x1A;
    public static final int ROOT_CONTROL = 0x1C;
    public static final int ROOT_STATUS = 0x20;
    public static final int DEVICE_CAPABILITIES_2 = 0x24;
    public static final int DEVICE_CONTROL_2 = 0x28;
    public static final int LINK_CONTROL_2 = 0x30;

    public static final int CAP_VERSION_2 = 0x2;
    public static final int CAP_TYPE_SHIFT = 4;
    public static final int CAP_SLOT_IMPLEMENTED = 1 << 8;
    public static final int DEVCAP_ROLE_BASED_ERRORS = 1 << 15;
    public static final int DEVCAP_FLR = 1 << 28;
    public static final int DEVCTL_INITIATE_FLR = 1 << 15;
    /** Relaxed Ordering, Max_Read_Request_Size 512 B, No Snoop: the reset value (7.5.3.4). */
    public static final int DEVCTL_DEFAULT = 1 << 4 | 0b010 << 12 | 1 << 11;
    public static final int DEVSTA_ERRORS_W1C = 0xF;
    public static final int LNKSTA_DLL_ACTIVE = 1 << 13;
    public static final int DEVCAP2_ARI_FORWARDING = 1 << 5;
    public static final int DEVCTL2_ARI_FORWARDING = 1 << 5;

    private final int type;
    private boolean flr;
    private int linkSpeed = 3;
    private int linkWidth = 4;

    public PcieCapability(int deviceType) {
        this.type = deviceType;
    }

    /** Advertises Function Level Reset (endpoints). Call before adding the capability. */
    public PcieCapability withFlr() {
        flr = true;
        return this;
    }

    /** Link speed code (1 = 2.5 GT/s .. 4 = 16 GT/s) and width. Call before adding. */
    public PcieCapability withLink(int speed, int width) {
        linkSpeed = speed;
        linkWidth = width;
        return this;
    }

    @Override
    public int id() {
        return PciRegs.CAP_ID_PCIE;
    }

    @Override
    public int length() {
        return 0x3C;
    }

    public int deviceType() {
        return type;
    }

    private boolean isPort() {
        return type == TYPE_ROOT_PORT || type == TYPE_DOWNSTREAM_PORT;
    }

    @Override
    protected void initRegisters() {
        int o = offset;
        cfg.set16(o + CAPABILITIES, CAP_VERSION_2 | type << CAP_TYPE_SHIFT | (isPort() ? CAP_SLOT_IMPLEMENTED : 0));
        cfg.set32(o + DEVICE_CAPABILITIES, 0x1 /* 256 B max payload */ | DEVCAP_ROLE_BASED_ERRORS | (flr ? DEVCAP_FLR : 0));
        cfg.set16(o + DEVICE_CONTROL, DEVCTL_DEFAULT);
        cfg.rw(o + DEVICE_CONTROL, 2, 0x7FFF | (flr ? DEVCTL_INITIATE_FLR : 0));
        cfg.w1c(o + DEVICE_STATUS, 2, DEVSTA_ERRORS_W1C);
        int portNumber = function.isBridge() ? 1 : 0;
        cfg.set32(o + LINK_CAPABILITIES, linkSpeed | linkWidth << 4 | portNumber << 24 | (isPort() ? 1 << 20 : 0));
        cfg.rw(o + LINK_CONTROL, 2, 0x0FFB);
        cfg.set16(o + LINK_STATUS, linkSpeed | linkWidth << 4 | (isPort() ? LNKSTA_DLL_ACTIVE : 0));
        if (isPort()) {
            cfg.rw(o + SLOT_CONTROL, 2, 0x1FFF);
            cfg.w1c(o + SLOT_STATUS, 2, 0x011F);
        }
        if (type == TYPE_ROOT_PORT) {
            cfg.rw(o + ROOT_CONTROL, 2, 0x001F);
            cfg.w1c(o + ROOT_STATUS, 4, 1 << 16);
        }
        cfg.set32(o + DEVICE_CAPABILITIES_2, isPort() ? DEVCAP2_ARI_FORWARDING : 0);
        cfg.rw(o + DEVICE_CONTROL_2, 2, 0x041F | (isPort() ? DEVCTL2_ARI_FORWARDING : 0));
        cfg.rw(o + LINK_CONTROL_2, 2, 0x000F);
    }

    @Override
    protected void written(int regOffset, int size) {
        if (flr && (cfg.get16(offset + DEVICE_CONTROL) & DEVCTL_INITIATE_FLR) != 0) {
            // Initiate FLR always reads 0 (7.5.3.4); the function resets.
            cfg.setBits(offset + DEVICE_CONTROL, 2, DEVCTL_INITIATE_FLR, false);
            function.reset();
        }
    }

    public boolean flrCapable() {
        return flr;
    }
}

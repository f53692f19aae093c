package dev.vtd.platform.pci;

/** PASID capability (PCIe base spec 7.8.9): Execute/Privileged Mode Supported, Max PASID Width, enables. */
public final class PasidCapability extends ExtendedCapability {
    public static final int CAPABILITY = 0x04;
    public static final int CONTROL = 0x06;
    public static final int EXECUTE_PERMISSION = 1 << 1;
    public static final int PRIVILEGED_MODE = 1 << 2;
    public static final int WIDTH_SHIFT = 8;
    public static final int CTL_ENABLE = 1 << 0;

    private final int width;
    private final boolean execute;
    private final boolean privileged;

    public PasidCapability(int maxPasidWidth, boolean executePermission, boolean privilegedMode) {
        if (maxPasidWidth < 1 || maxPasidWidth > 20) throw new IllegalArgumentException("PASID width " + maxPasidWidth);
        this.width = maxPasidWidth;
        this.execute = executePermission;
        this.privileged = privilegedMode;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_PASID;
    }

    @Override
    public int length() {
        return 8;
    }

    @Override
    protected void initRegisters() {
        int cap = (execute ? EXECUTE_PERMISSION : 0) | (privileged ? PRIVILEGED_MODE : 0) | width << WIDTH_SHIFT;
        cfg.set16(offset + CAPABILITY, cap);
        cfg.rw(offset + CONTROL, 2, CTL_ENABLE | (execute ? EXECUTE_PERMISSION : 0) | (privileged ? PRIVILEGED_MODE : 0));
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    public int maxWidth() {
        return width;
    }
}

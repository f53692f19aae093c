package dev.vtd.platform.pci;

/** Address Translation Services (PCIe base spec 10.5.1): Invalidate Queue Depth, STU and Enable. */
public final class AtsCapability extends ExtendedCapability {
    public static final int CAPABILITY = 0x04;
    public static final int CONTROL = 0x06;
    public static final int CAP_PAGE_ALIGNED_REQUEST = 1 << 5;
    public static final int CAP_GLOBAL_INVALIDATE = 1 << 6;
    public static final int CTL_STU_MASK = 0x1F;
    public static final int CTL_ENABLE = 1 << 15;

    private final int queueDepth;

    /** @param invalidateQueueDepth 0 means 32 (as encoded) */
    public AtsCapability(int invalidateQueueDepth) {
        this.queueDepth = invalidateQueueDepth & 0x1F;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_ATS;
    }

    @Override
    public int length() {
        return 8;
    }

    @Override
    protected void initRegisters() {
        cfg.set16(offset + CAPABILITY, queueDepth | CAP_PAGE_ALIGNED_REQUEST | CAP_GLOBAL_INVALIDATE);
        cfg.rw(offset + CONTROL, 2, CTL_ENABLE | CTL_STU_MASK);
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    /** Smallest Translation Unit: 2^(12 + STU) bytes. */
    public int stu() {
        return cfg.get16(offset + CONTROL) & CTL_STU_MASK;
    }
}

package dev.vtd.platform.pci;

/**
 * Address Translation Services (PCIe base spec 10.5.1): Invalidate Queue Depth, STU and Enable,
 * and the function's device-TLB (its address translation cache, {@link #deviceTlb()}) that
 * translation requests fill through the function's {@link PciDma#ats() ATS path}.
 *
 * <p>Enable and STU take effect when written: the device-TLB rounds invalidations to the STU;
 * clearing Enable, or a function reset, empties it (a disabled function caches no translations).
 */
public final class AtsCapability extends ExtendedCapability {
    public static final int CAPABILITY = 0x04;
    public static final int CONTROL = 0x06;
    public static final int CAP_QUEUE_DEPTH_MASK = 0x1F;
    public static final int CAP_PAGE_ALIGNED_REQUEST = 1 << 5;
    public static final int CAP_GLOBAL_INVALIDATE = 1 << 6;
    public static final int CTL_STU_MASK = 0x1F;
    public static final int CTL_ENABLE = 1 << 15;
    /** Translations a device-TLB holds unless told otherwise. */
    public static final int DEFAULT_TLB_ENTRIES = 64;

    private final int queueDepth;
    private final int tlbEntries;
    private AtsEndpoint deviceTlb;

    /** @param invalidateQueueDepth 0 means 32 (as encoded) */
    public AtsCapability(int invalidateQueueDepth) {
        this(invalidateQueueDepth, DEFAULT_TLB_ENTRIES);
    }

    /**
     * @param invalidateQueueDepth 0 means 32 (as encoded)
     * @param tlbEntries           capacity of the function's device-TLB
     */
    public AtsCapability(int invalidateQueueDepth, int tlbEntries) {
        this.queueDepth = invalidateQueueDepth & CAP_QUEUE_DEPTH_MASK;
        this.tlbEntries = Math.max(1, tlbEntries);
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
        PciFunction f = function;
        deviceTlb = new AtsEndpoint(f::rid, f.dma().ats(), tlbEntries);
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    /** Smallest Translation Unit: 2^(12 + STU) bytes. */
    public int stu() {
        return cfg.get16(offset + CONTROL) & CTL_STU_MASK;
    }

    /** Invalidate requests the function accepts before flow control: 1..32 (field 0 means 32). */
    public int invalidateQueueDepth() {
        return queueDepth == 0 ? 32 : queueDepth;
    }

    /** The function's device-TLB: what the remapping unit's device-TLB invalidations reach. */
    public AtsEndpoint deviceTlb() {
        return deviceTlb;
    }

    @Override
    protected void written(int regOffset, int size) {
        deviceTlb.setSmallestTranslationUnit(stu());
        if (!enabled()) deviceTlb.invalidateAll();
    }

    @Override
    protected void reset() {
        deviceTlb.setSmallestTranslationUnit(0);
        deviceTlb.invalidateAll();
    }
}

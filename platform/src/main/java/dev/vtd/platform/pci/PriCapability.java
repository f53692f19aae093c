package dev.vtd.platform.pci;

/**
 * Page Request Interface (PCIe base spec 10.5.2): control (Enable, Reset), status (Response
 * Failure and Unexpected PRG Index RW1C, Stopped, PRG Response PASID Required), outstanding page
 * request capacity and allocation.
 */
public final class PriCapability extends ExtendedCapability {
    public static final int CONTROL = 0x04;
    public static final int STATUS = 0x06;
    public static final int CAPACITY = 0x08;
    public static final int ALLOCATION = 0x0C;
    public static final int CTL_ENABLE = 1 << 0;
    public static final int CTL_RESET = 1 << 1;
    public static final int STS_RESPONSE_FAILURE = 1 << 0;
    public static final int STS_UNEXPECTED_PRG_INDEX = 1 << 1;
    public static final int STS_STOPPED = 1 << 8;
    public static final int STS_PASID_REQUIRED = 1 << 15;

    private final int capacity;
    private final boolean pasidRequired;

    public PriCapability(int outstandingCapacity, boolean prgResponsePasidRequired) {
        this.capacity = outstandingCapacity;
        this.pasidRequired = prgResponsePasidRequired;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_PRI;
    }

    @Override
    public int length() {
        return 0x10;
    }

    @Override
    protected void initRegisters() {
        cfg.rw(offset + CONTROL, 2, CTL_ENABLE | CTL_RESET);
        cfg.set16(offset + STATUS, STS_STOPPED | (pasidRequired ? STS_PASID_REQUIRED : 0));
        cfg.w1c(offset + STATUS, 2, STS_RESPONSE_FAILURE | STS_UNEXPECTED_PRG_INDEX);
        cfg.set32(offset + CAPACITY, capacity);
        cfg.rw(offset + ALLOCATION, 4, -1);
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    /** Records a PRG response failure or unexpected index, as the function does on such a response. */
    public void reportStatus(int bits) {
        cfg.setBits(offset + STATUS, 2, bits & (STS_RESPONSE_FAILURE | STS_UNEXPECTED_PRG_INDEX), true);
    }

    @Override
    protected void written(int regOffset, int size) {
        int ctl = cfg.get16(offset + CONTROL);
        if ((ctl & CTL_RESET) != 0) {
            // Reset (reads 0) clears the error status; only meaningful while disabled (10.5.2.2).
            cfg.setBits(offset + CONTROL, 2, CTL_RESET, false);
            if ((ctl & CTL_ENABLE) == 0) cfg.setBits(offset + STATUS, 2, STS_RESPONSE_FAILURE | STS_UNEXPECTED_PRG_INDEX, false);
        }
        // Stopped is set while disabled, clear once enabled (no requests are outstanding here).
        cfg.setBits(offset + STATUS, 2, STS_STOPPED, (ctl & CTL_ENABLE) == 0);
    }
}

package dev.vtd.platform.pci;

/** Device Serial Number (PCIe base spec 7.9.3): a 64-bit EUI-64, read-only. */
public final class SerialNumberCapability extends ExtendedCapability {
    private final long serial;

    public SerialNumberCapability(long serial) {
        this.serial = serial;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_DSN;
    }

    @Override
    public int length() {
        return 0x0C;
    }

    @Override
    protected void initRegisters() {
        cfg.set32(offset + 4, (int) serial);
        cfg.set32(offset + 8, (int) (serial >>> 32));
    }
}

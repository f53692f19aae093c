package dev.vtd.platform.pci;

/** Alternative Routing-ID Interpretation (PCIe base spec 7.8.7): Next Function Number. */
public final class AriCapability extends ExtendedCapability {
    private final int nextFunction;

    public AriCapability(int nextFunction) {
        this.nextFunction = nextFunction & 0xFF;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_ARI;
    }

    @Override
    public int length() {
        return 8;
    }

    @Override
    protected void initRegisters() {
        cfg.set16(offset + 4, nextFunction << 8);
    }
}

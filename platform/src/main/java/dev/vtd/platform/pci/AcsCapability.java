package dev.vtd.platform.pci;

/**
 * Access Control Services (PCIe base spec 7.7.8): capability bits (Source Validation, Translation
 * Blocking, P2P Request/Completion Redirect, Upstream Forwarding, Egress Control, Direct Translated
 * P2P) and a control register enabling the implemented ones. No egress control vector.
 */
public final class AcsCapability extends ExtendedCapability {
    public static final int CAPABILITY = 0x04;
    public static final int CONTROL = 0x06;
    public static final int SOURCE_VALIDATION = 1 << 0;
    public static final int TRANSLATION_BLOCKING = 1 << 1;
    public static final int P2P_REQUEST_REDIRECT = 1 << 2;
    public static final int P2P_COMPLETION_REDIRECT = 1 << 3;
    public static final int UPSTREAM_FORWARDING = 1 << 4;
    public static final int EGRESS_CONTROL = 1 << 5;
    public static final int DIRECT_TRANSLATED_P2P = 1 << 6;
    /** What Linux wants for isolation (SV | RR | CR | UF). */
    public static final int LINUX_ISOLATION = SOURCE_VALIDATION | P2P_REQUEST_REDIRECT | P2P_COMPLETION_REDIRECT | UPSTREAM_FORWARDING;

    private final int capabilities;

    public AcsCapability(int capabilities) {
        this.capabilities = capabilities & 0x5F; // egress control needs a vector, not modelled
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_ACS;
    }

    @Override
    public int length() {
        return 8;
    }

    @Override
    protected void initRegisters() {
        cfg.set16(offset + CAPABILITY, capabilities);
        cfg.rw(offset + CONTROL, 2, capabilities);
    }

    public int control() {
        return cfg.get16(offset + CONTROL);
    }
}

package dev.vtd.platform.pci;

/**
 * PCI Power Management capability (PCI Bus Power Management Interface spec 1.2, ch. 3): PMC and
 * PMCSR. The function decodes memory and I/O only in D0; No_Soft_Reset is set, so D3hot to D0
 * keeps its configuration.
 */
public final class PowerManagementCapability extends Capability {
    public static final int PMC = 0x02;
    public static final int PMCSR = 0x04;
    public static final int PMC_VERSION_1_2 = 0x3;
    public static final int PMCSR_POWER_STATE_MASK = 0x3;
    public static final int PMCSR_NO_SOFT_RESET = 1 << 3;
    public static final int PMCSR_PME_ENABLE = 1 << 8;
    public static final int PMCSR_PME_STATUS = 1 << 15;

    @Override
    public int id() {
        return PciRegs.CAP_ID_PM;
    }

    @Override
    public int length() {
        return 8;
    }

    @Override
    protected void initRegisters() {
        cfg.set16(offset + PMC, PMC_VERSION_1_2 | 1 << 15 | 1 << 14 | 1 << 11 /* PME from D0, D3hot, D3cold */);
        cfg.set16(offset + PMCSR, PMCSR_NO_SOFT_RESET);
        cfg.rw(offset + PMCSR, 2, PMCSR_POWER_STATE_MASK | PMCSR_PME_ENABLE);
        cfg.w1c(offset + PMCSR, 2, PMCSR_PME_STATUS);
    }

    /** 0 = D0 .. 3 = D3hot. Only D0 and D3hot are supported; a write of D1/D2 is ignored (spec 3.2.4). */
    public int powerState() {
        return cfg.get16(offset + PMCSR) & PMCSR_POWER_STATE_MASK;
    }

    private int lastState;

    @Override
    protected void written(int regOffset, int size) {
        int s = powerState();
        if (s == 1 || s == 2) cfg.set16(offset + PMCSR, (cfg.get16(offset + PMCSR) & ~PMCSR_POWER_STATE_MASK) | lastState);
        lastState = powerState();
    }

    @Override
    protected void reset() {
        lastState = 0;
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.iommu.regs.Reg;

/**
 * Software's side of GCMD (VT-d spec 11.4.4): each write carries the persistent enables as GSTS
 * reports them, with the one command changed; one-shot bits (SRTP, SFL, WBF, SIRTP) are never
 * carried over.
 */
public final class GlobalCommand {
    private GlobalCommand() {}

    /** GSTS bits that are one-shot status, not persistent enables. */
    public static final int ONE_SHOT = Reg.GSTS_RTPS | Reg.GSTS_FLS | Reg.GSTS_WBFS | Reg.GSTS_IRTPS;

    /** Sets or clears a persistent enable (TE, QIE, IRE, CFI, EAFL) and returns GSTS afterwards. */
    public static int set(MmioDevice unit, int bit, boolean on) {
        int st = (int) unit.read(Reg.GSTS, 4) & ~ONE_SHOT;
        unit.write(Reg.GCMD, 4, (on ? st | bit : st & ~bit) & 0xFFFF_FFFFL);
        return (int) unit.read(Reg.GSTS, 4);
    }

    /** Issues a one-shot command (SRTP, SIRTP, WBF) and returns GSTS afterwards. */
    public static int oneShot(MmioDevice unit, int bit) {
        int st = (int) unit.read(Reg.GSTS, 4) & ~ONE_SHOT;
        unit.write(Reg.GCMD, 4, (st | bit) & 0xFFFF_FFFFL);
        return (int) unit.read(Reg.GSTS, 4);
    }
}

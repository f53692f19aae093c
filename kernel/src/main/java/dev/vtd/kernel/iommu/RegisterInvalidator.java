package dev.vtd.kernel.iommu;

import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Reg;

import java.util.function.Consumer;

/**
 * Register-based invalidation (VT-d spec 6.5.1, 11.4.7, 11.4.8): one command at a time through CCMD and
 * IVA/IOTLB_REG, each followed by a poll until ICC / IVT reads 0; the actual granularity (CAIG / IAIG) is
 * checked, 0 meaning the request was not performed.
 */
public final class RegisterInvalidator implements Invalidator {
    private final UnitRegisters regs;
    private final Cap cap;
    private final int ivaOffset;
    private final Consumer<String> errors;

    /** @param errors receives "Flush IOTLB failed"-style error messages for the kernel log */
    public RegisterInvalidator(UnitRegisters regs, Cap cap, int iroBytes, Consumer<String> errors) {
        this.regs = regs;
        this.cap = cap;
        this.ivaOffset = iroBytes;
        this.errors = errors;
    }

    @Override
    public String kind() {
        return "Register based";
    }

    @Override
    public void flushContext(int granularity, int domainId, int sourceId, int functionMask) {
        long v = Reg.CCMD_ICC | ((long) (granularity & 3) << Reg.CCMD_CIRG_SHIFT);
        if (granularity != CC_GLOBAL) v |= domainId & 0xFFFFL;
        if (granularity == CC_DEVICE) {
            v |= ((long) (sourceId & 0xFFFF) << Reg.CCMD_SID_SHIFT) | ((long) (functionMask & 3) << Reg.CCMD_FM_SHIFT);
        }
        regs.write64(Reg.CCMD, v);
        long done = regs.poll64(Reg.CCMD, r -> (r & Reg.CCMD_ICC) == 0, "context-cache invalidation");
        if (((done >>> Reg.CCMD_CAIG_SHIFT) & 3) == 0) errors.accept("DMAR: Flush context cache failed");
    }

    @Override
    public void flushIotlb(int granularity, int domainId, long address, int addressMask, boolean leafOnly) {
        long v = Reg.IOTLB_IVT | ((long) (granularity & 3) << Reg.IOTLB_IIRG_SHIFT);
        if (granularity != IOTLB_GLOBAL) v |= (domainId & 0xFFFFL) << Reg.IOTLB_DID_SHIFT;
        // Drain reads/writes where the hardware can (CAP.DRD/DWD), as Linux does for every flush.
        if (cap.get(Cap.DRD) != 0) v |= Reg.IOTLB_DR;
        if (cap.get(Cap.DWD) != 0) v |= Reg.IOTLB_DW;
        if (granularity == IOTLB_PAGE) {
            long iva = (address & ~0xFFFL) | (leafOnly ? Reg.IVA_IH : 0) | (addressMask & Reg.IVA_AM_MASK);
            regs.write64(ivaOffset, iva);
        }
        regs.write64(ivaOffset + 8, v);
        long done = regs.poll64(ivaOffset + 8, r -> (r & Reg.IOTLB_IVT) == 0, "IOTLB invalidation");
        if (((done >>> Reg.IOTLB_IAIG_SHIFT) & 3) == 0) errors.accept("DMAR: Flush IOTLB failed");
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.ir.Irte;

/** Test access to the source-ID verification rule. */
final class IrteValidation {
    private IrteValidation() {}

    static boolean valid(Irte e, int requester) {
        return InterruptRemappingUnit.sourceValid(e, requester);
    }
}

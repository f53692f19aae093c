package dev.vtd.platform.iommu.ir;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.iommu.GlobalCommand;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Software's side of interrupt remapping: an interrupt-remapping table of 2^(S+1) IRTEs in RAM,
 * programmed into IRTA and activated with SIRTP and IRE (VT-d spec 5.1, 9.10).
 */
public final class InterruptRemappingTable {
    private final PhysicalMemory memory;
    private final long base;
    private final int sizeField;

    public InterruptRemappingTable(PhysicalMemory memory, long base, int sizeField) {
        this.memory = memory;
        this.base = base;
        this.sizeField = sizeField & 0xF;
    }

    public long base() { return base; }
    public int entries() { return 2 << sizeField; }

    public void set(int index, Irte e) {
        memory.write64(base + (long) index * InterruptRemappingUnit.IRTE_SIZE, e.rawLo());
        memory.write64(base + (long) index * InterruptRemappingUnit.IRTE_SIZE + 8, e.rawHi());
    }

    public void setRaw(int index, long lo, long hi) {
        memory.write64(base + (long) index * InterruptRemappingUnit.IRTE_SIZE, lo);
        memory.write64(base + (long) index * InterruptRemappingUnit.IRTE_SIZE + 8, hi);
    }

    public Irte get(int index) {
        long a = base + (long) index * InterruptRemappingUnit.IRTE_SIZE;
        return Irte.decode(memory.read64(a), memory.read64(a + 8));
    }

    /** IRTA (with EIME if asked), SIRTP, then IRE; returns GSTS. */
    public int enable(MmioDevice regs, boolean eime) {
        regs.write(Reg.IRTA, 8, base | (eime ? InterruptRemappingUnit.IRTA_EIME : 0) | sizeField);
        GlobalCommand.oneShot(regs, Reg.GCMD_SIRTP);
        return GlobalCommand.set(regs, Reg.GCMD_IRE, true);
    }
}

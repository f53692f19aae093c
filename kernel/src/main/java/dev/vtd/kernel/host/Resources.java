package dev.vtd.kernel.host;

import dev.vtd.platform.pci.Bar;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.PciSegment;
import dev.vtd.platform.pci.SriovCapability;

/**
 * Memory BAR assignment (pci_assign_unassigned_resources, reduced): every memory BAR of every function gets a
 * naturally aligned address from a root bus window, depth first, and each bridge's memory window is set to cover
 * what lies below it (1 MiB granularity, PCI-to-PCI Bridge spec 3.2.5.8). A PF's SR-IOV VF BARs get one aperture
 * each, large enough for TotalVFs VFs (SR-IOV 1.1, 2.1.1.1: VF k at VF BARn + k * size), right after its own BARs,
 * so that enabling VFs later needs no new resources. I/O BARs are left unassigned.
 */
final class Resources {
    static final long WINDOW_GRANULE = 1 << 20;

    private long next;
    private final long limit;

    private Resources(long base, long limit) {
        this.next = base;
        this.limit = limit;
    }

    /** Assigns BARs below each root bus of a segment from [base, limit). Returns false if the window ran out. */
    static boolean assign(PciSegment seg, long base, long limit) {
        Resources r = new Resources(base, limit);
        boolean ok = true;
        for (PciBus root : seg.rootBuses()) ok &= r.assignBus(root);
        return ok;
    }

    /** VF BARn apertures (SR-IOV 3.3.14): naturally aligned to the per-VF size, TotalVFs of them. */
    private boolean assignVfBars(PciFunction f, SriovCapability s) {
        boolean ok = true;
        for (int i = 0; i < 6; i++) {
            long stride = s.vfBarStride(i);
            if (stride == 0) continue;
            int reg = s.offset() + SriovCapability.VF_BAR0 + 4 * i;
            boolean is64 = (f.configRead(reg, 4) & PciRegs.BAR_MEM_TYPE_64) == PciRegs.BAR_MEM_TYPE_64;
            long size = stride * Math.max(1, s.totalVfs());
            long a = (next + stride - 1) & -stride;
            if (a + size > limit) {
                ok = false;
                continue;
            }
            f.configWrite(reg, 4, (int) a);
            if (is64) f.configWrite(reg + 4, 4, (int) (a >>> 32));
            next = a + size;
        }
        return ok;
    }

    private boolean assignBus(PciBus bus) {
        boolean ok = true;
        for (PciFunction f : bus.functions()) {
            for (Bar b : f.bars()) {
                if (!b.isMemory() || b.address() != 0) continue;
                long a = (next + b.size() - 1) & -b.size();
                if (a + b.size() > limit) {
                    ok = false;
                    continue;
                }
                f.configWrite(PciRegs.BAR0 + 4 * b.index(), 4, (int) a);
                if (b.type() == Bar.Type.MEMORY64) f.configWrite(PciRegs.BAR0 + 4 * b.index() + 4, 4, (int) (a >>> 32));
                next = a + b.size();
            }
            if (f.sriov() != null) ok &= assignVfBars(f, f.sriov());
            int cmd = f.configRead(PciRegs.COMMAND, 2);
            if (!f.bars().isEmpty()) f.configWrite(PciRegs.COMMAND, 2, cmd | PciRegs.CMD_MEMORY_SPACE);
        }
        for (PciFunction f : bus.functions()) {
            if (!(f instanceof PciBridge b)) continue;
            long start = (next + WINDOW_GRANULE - 1) & -WINDOW_GRANULE;
            next = start;
            ok &= assignBus(b.secondaryBus());
            long end = (next + WINDOW_GRANULE - 1) & -WINDOW_GRANULE;
            if (end > start) {
                b.configWrite(PciRegs.MEMORY_BASE, 2, (int) (start >>> 16) & 0xFFF0);
                b.configWrite(PciRegs.MEMORY_LIMIT, 2, (int) ((end - 1) >>> 16) & 0xFFF0);
                int cmd = b.configRead(PciRegs.COMMAND, 2);
                b.configWrite(PciRegs.COMMAND, 2, cmd | PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
            }
            next = end;
        }
        return ok;
    }
}

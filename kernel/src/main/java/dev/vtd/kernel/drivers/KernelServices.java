package dev.vtd.kernel.drivers;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.log.KernelLog;

/** What drivers use of the running kernel. */
public interface KernelServices {
    KernelLog log();

    Machine machine();

    /** The IOMMU layer, or null when the firmware has no DMAR table (VT-d off in the BIOS). */
    IommuSubsystem iommu();

    KernelIrq irq();

    /** The kernel's page pool (coherent DMA buffers, packet buffers). */
    PageAllocator pages();
}

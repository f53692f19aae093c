package dev.vtd.kernel.dma;

import dev.vtd.kernel.iommu.PageTable;

/**
 * enum dma_data_direction, and the IOMMU permissions each one gives the device (dma-iommu.c dma_info_to_prot):
 * to the device = the device only reads (R); from the device = the device only writes (W); bidirectional = both.
 */
public enum DmaDirection {
    BIDIRECTIONAL, TO_DEVICE, FROM_DEVICE, NONE;

    /** PageTable.PROT_* bits for this direction; NONE maps nothing. */
    public int prot() {
        return switch (this) {
            case BIDIRECTIONAL -> PageTable.PROT_READ | PageTable.PROT_WRITE;
            case TO_DEVICE -> PageTable.PROT_READ;
            case FROM_DEVICE -> PageTable.PROT_WRITE;
            case NONE -> 0;
        };
    }
}

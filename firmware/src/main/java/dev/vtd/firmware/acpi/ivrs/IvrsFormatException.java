package dev.vtd.firmware.acpi.ivrs;

import dev.vtd.firmware.acpi.AcpiTableFormatException;

/**
 * An IVRS table that does not follow the layout of the AMD I/O Virtualization Technology (IOMMU)
 * Specification's chapter on the ACPI table.
 */
public final class IvrsFormatException extends AcpiTableFormatException {
    public IvrsFormatException(String source, int offset, String problem) {
        super(source, offset, problem);
    }
}

package dev.vtd.firmware.acpi.ivrs;

/**
 * An IVRS table that does not follow the layout of the AMD I/O Virtualization Technology (IOMMU)
 * Specification's chapter on the ACPI table. The message names the source and the byte offset:
 * {@code "ivrs.bin: offset 0x48: IVHD device entry type 0x43 (8 bytes) runs past the end of its IVHD"}.
 */
public final class IvrsFormatException extends Exception {
    private final String source;
    private final int offset;
    private final String problem;

    public IvrsFormatException(String source, int offset, String problem) {
        super(source + ": offset 0x" + Integer.toHexString(offset) + ": " + problem);
        this.source = source;
        this.offset = offset;
        this.problem = problem;
    }

    public String source() {
        return source;
    }

    /** Byte offset from the start of the table. */
    public int offset() {
        return offset;
    }

    /** The message without the source and offset prefix. */
    public String problem() {
        return problem;
    }
}

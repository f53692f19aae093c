package dev.vtd.firmware.acpi;

/**
 * An ACPI table (DMAR, IVRS) that does not follow its specification's layout. The message names the source
 * and the byte offset of the offending field: {@code "dmar.bin: offset 0x30: DRHD length 8 is shorter than its
 * 16-byte header"}.
 */
public abstract class AcpiTableFormatException extends Exception {
    private final String source;
    private final int offset;
    private final String problem;

    protected AcpiTableFormatException(String source, int offset, String problem) {
        super(source + ": offset 0x" + Integer.toHexString(offset) + ": " + problem);
        this.source = source;
        this.offset = offset;
        this.problem = problem;
    }

    /** The name of the input (a file name, or whatever the caller passed to the parser). */
    public String source() {
        return source;
    }

    /** Byte offset from the start of the table where the problem was found. */
    public int offset() {
        return offset;
    }

    /** The message without the source and offset prefix. */
    public String problem() {
        return problem;
    }
}

package dev.vtd.firmware.acpi;

/**
 * A DMAR table that does not follow the VT-d specification's layout (chapter 8). The message names the
 * source and the byte offset of the offending field: {@code "dmar.bin: offset 0x30: DRHD length 8 is shorter
 * than its 16-byte header"}.
 */
public final class DmarFormatException extends Exception {
    private final String source;
    private final int offset;
    private final String problem;

    public DmarFormatException(String source, int offset, String problem) {
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

package dev.vtd.platform.trace;

/** A trace file that is not what the format defines, with the byte offset (or line) of the problem. */
public final class TraceFormatException extends Exception {
    private final long offset;

    public TraceFormatException(long offset, String message) {
        super(message);
        this.offset = offset;
    }

    /** Byte offset of the problem in a binary trace, or the 1-based line in a JSON-lines trace. */
    public long offset() {
        return offset;
    }
}

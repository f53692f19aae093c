package dev.vtd.firmware.machine;

/**
 * A machine description (YAML) that cannot be used, as one line naming the file, the line and the
 * field: {@code r630.yaml:12: field 'iommus[0].cap': '0xzz' is not a hex number}.
 */
public final class MachineDescriptionException extends IllegalArgumentException {
    private final String source;
    private final int line;
    private final String field;

    public MachineDescriptionException(String source, int line, String field, String problem) {
        super(source + ":" + line + ": " + (field == null || field.isEmpty() ? "" : "field '" + field + "': ") + problem);
        this.source = source;
        this.line = line;
        this.field = field == null ? "" : field;
    }

    /** The file (or preset resource) name. */
    public String source() { return source; }

    /** 1-based line of the offending node (0 if unknown). */
    public int line() { return line; }

    /** The field path, e.g. {@code iommus[0].cap}; empty for file-level problems. */
    public String field() { return field; }
}

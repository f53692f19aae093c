package dev.vtd.firmware.acpi;

/** A DMAR table that does not follow the VT-d specification's layout (chapter 8). */
public final class DmarFormatException extends AcpiTableFormatException {
    public DmarFormatException(String source, int offset, String problem) {
        super(source, offset, problem);
    }
}

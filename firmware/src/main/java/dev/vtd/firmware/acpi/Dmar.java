package dev.vtd.firmware.acpi;

/**
 * Constants of the ACPI DMA Remapping Reporting table (Intel VT-d specification chapter 8, "BIOS
 * Considerations"; ACPI 6.x section 5.2.6 for the common table header).
 */
public final class Dmar {
    private Dmar() {}

    /** Table signature (ACPI 5.2.6). */
    public static final String SIGNATURE = "DMAR";

    // ACPI common table header (ACPI 5.2.6), byte offsets.
    public static final int OFF_SIGNATURE = 0;
    public static final int OFF_LENGTH = 4;
    public static final int OFF_REVISION = 8;
    public static final int OFF_CHECKSUM = 9;
    public static final int OFF_OEM_ID = 10;
    public static final int OFF_OEM_TABLE_ID = 16;
    public static final int OFF_OEM_REVISION = 24;
    public static final int OFF_CREATOR_ID = 28;
    public static final int OFF_CREATOR_REVISION = 32;
    public static final int OEM_ID_LENGTH = 6;
    public static final int OEM_TABLE_ID_LENGTH = 8;
    public static final int CREATOR_ID_LENGTH = 4;

    // DMAR-specific header fields (VT-d 8.1, table "DMA Remapping Reporting Structure").
    public static final int OFF_HOST_ADDRESS_WIDTH = 36;
    public static final int OFF_FLAGS = 37;
    public static final int OFF_RESERVED = 38;
    public static final int RESERVED_LENGTH = 10;
    /** Header length; remapping structures start here. */
    public static final int HEADER_LENGTH = 48;

    // DMAR header flags (VT-d 8.1).
    public static final int FLAG_INTR_REMAP = 1 << 0;
    public static final int FLAG_X2APIC_OPT_OUT = 1 << 1;
    public static final int FLAG_DMA_CTRL_PLATFORM_OPT_IN = 1 << 2;

    // Remapping structure types (VT-d 8.2).
    public static final int TYPE_DRHD = 0;
    public static final int TYPE_RMRR = 1;
    public static final int TYPE_ATSR = 2;
    public static final int TYPE_RHSA = 3;
    public static final int TYPE_ANDD = 4;
    public static final int TYPE_SATC = 5;
    public static final int TYPE_SIDP = 6;

    /** Every remapping structure starts with a 2-byte type and a 2-byte length (VT-d 8.2). */
    public static final int STRUCTURE_HEADER_LENGTH = 4;

    /** The revision our builders write (the revision of the tables Linux and QEMU produce). */
    public static final int DEFAULT_REVISION = 1;

    /** Short name of a remapping structure type, "type 7" for unknown ones. */
    public static String structureName(int type) {
        return switch (type) {
            case TYPE_DRHD -> "DRHD";
            case TYPE_RMRR -> "RMRR";
            case TYPE_ATSR -> "ATSR";
            case TYPE_RHSA -> "RHSA";
            case TYPE_ANDD -> "ANDD";
            case TYPE_SATC -> "SATC";
            case TYPE_SIDP -> "SIDP";
            default -> "type " + type;
        };
    }

    static void checkUnsigned(String what, long value, int bits) {
        long max = bits == 64 ? -1L : (1L << bits) - 1;
        if (bits < 64 && (value < 0 || value > max)) {
            throw new IllegalArgumentException(what + " " + value + " does not fit in " + bits + " bits");
        }
    }
}

package dev.vtd.firmware.acpi.ivrs;

/**
 * Constants of the ACPI IVRS table (I/O Virtualization Reporting Structure), as the AMD IOMMU
 * specification lays it out: the 36-byte ACPI header, IVinfo (offset 36), 8 reserved bytes, then IVHD
 * (I/O Virtualization Hardware Definition) and IVMD (I/O Virtualization Memory Definition) blocks.
 */
public final class Ivrs {
    private Ivrs() {}

    public static final String SIGNATURE = "IVRS";
    public static final int HEADER_LENGTH = 48;
    public static final int OFF_LENGTH = 4;
    public static final int OFF_CHECKSUM = 9;
    public static final int OFF_IVINFO = 36;
    public static final int OFF_RESERVED = 40;

    // IVinfo fields
    public static final int IVINFO_EFR_SUP = 1;          // bit 0: IVHD 11h/40h EFR image valid
    public static final int IVINFO_DMA_REMAP_SUP = 1 << 1; // bit 1: pre-boot DMA protection (Linux IOMMU_IVINFO_DMA_REMAP)
    public static final int IVINFO_HT_ATS_RESV = 1 << 22;

    // Subtable types
    public static final int IVHD_10 = 0x10;
    public static final int IVHD_11 = 0x11;
    public static final int IVHD_40 = 0x40;
    public static final int IVMD_ALL = 0x20;
    public static final int IVMD_SELECT = 0x21;
    public static final int IVMD_RANGE = 0x22;

    /** Subtable header: type, flags, length (u16). */
    public static final int SUBTABLE_HEADER_LENGTH = 4;
    public static final int IVMD_LENGTH = 32;

    // IVHD device entry types
    public static final int DEV_PAD4 = 0x00;
    public static final int DEV_ALL = 0x01;
    public static final int DEV_SELECT = 0x02;
    public static final int DEV_RANGE_START = 0x03;
    public static final int DEV_RANGE_END = 0x04;
    public static final int DEV_PAD8 = 0x40;
    public static final int DEV_ALIAS_SELECT = 0x42;
    public static final int DEV_ALIAS_RANGE = 0x43;
    public static final int DEV_EXT_SELECT = 0x46;
    public static final int DEV_EXT_RANGE = 0x47;
    public static final int DEV_SPECIAL = 0x48;
    public static final int DEV_ACPI_HID = 0xF0;

    public static final int VARIETY_IOAPIC = 1;
    public static final int VARIETY_HPET = 2;

    public static boolean isIvhd(int type) {
        return type == IVHD_10 || type == IVHD_11 || type == IVHD_40;
    }

    public static boolean isIvmd(int type) {
        return type == IVMD_ALL || type == IVMD_SELECT || type == IVMD_RANGE;
    }

    /** IVHD header length by type (24 for 10h, 40 for 11h and 40h), as Linux's get_ivhd_header_size. */
    public static int ivhdHeaderLength(int type) {
        return type == IVHD_10 ? 24 : 40;
    }

    public static String subtableName(int type) {
        if (isIvhd(type)) return "Hardware Definition Block";
        if (isIvmd(type)) return "Memory Definition Block";
        return "Unknown Subtable Type";
    }

    public static String entryName(int type) {
        return switch (type) {
            case DEV_PAD4 -> "Padding (4 bytes)";
            case DEV_ALL -> "All";
            case DEV_SELECT -> "Select";
            case DEV_RANGE_START -> "Start of Range";
            case DEV_RANGE_END -> "End of Range";
            case DEV_PAD8 -> "Padding (8 bytes)";
            case DEV_ALIAS_SELECT -> "Alias Select";
            case DEV_ALIAS_RANGE -> "Alias Start of Range";
            case DEV_EXT_SELECT -> "Extended Select";
            case DEV_EXT_RANGE -> "Extended Start of Range";
            case DEV_SPECIAL -> "Special Device";
            case DEV_ACPI_HID -> "ACPI HID Device";
            default -> "Reserved";
        };
    }

    static void checkUnsigned(String what, long value, int bits) {
        if (value < 0 || (bits < 64 && value >>> bits != 0)) {
            throw new IllegalArgumentException(what + " 0x" + Long.toHexString(value) + " does not fit in "
                    + bits + " bits");
        }
    }
}

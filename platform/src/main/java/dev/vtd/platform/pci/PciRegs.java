package dev.vtd.platform.pci;

/** Configuration header offsets and bits (PCI Local Bus spec 3.0 ch. 6, PCI-to-PCI Bridge spec 1.2 ch. 3). */
public final class PciRegs {
    private PciRegs() {}

    // Common header (type 0 and type 1).
    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int CLASS_PROG = 0x09;
    public static final int CACHE_LINE_SIZE = 0x0C;
    public static final int LATENCY_TIMER = 0x0D;
    public static final int HEADER_TYPE = 0x0E;
    public static final int BIST = 0x0F;
    public static final int BAR0 = 0x10;
    public static final int CAPABILITIES_PTR = 0x34;
    public static final int INTERRUPT_LINE = 0x3C;
    public static final int INTERRUPT_PIN = 0x3D;

    // Type 0.
    public static final int SUBSYSTEM_VENDOR_ID = 0x2C;
    public static final int SUBSYSTEM_ID = 0x2E;
    public static final int EXPANSION_ROM = 0x30;

    // Type 1 (bridge).
    public static final int PRIMARY_BUS = 0x18;
    public static final int SECONDARY_BUS = 0x19;
    public static final int SUBORDINATE_BUS = 0x1A;
    public static final int SECONDARY_LATENCY = 0x1B;
    public static final int IO_BASE = 0x1C;
    public static final int IO_LIMIT = 0x1D;
    public static final int SECONDARY_STATUS = 0x1E;
    public static final int MEMORY_BASE = 0x20;
    public static final int MEMORY_LIMIT = 0x22;
    public static final int PREF_MEMORY_BASE = 0x24;
    public static final int PREF_MEMORY_LIMIT = 0x26;
    public static final int PREF_BASE_UPPER = 0x28;
    public static final int PREF_LIMIT_UPPER = 0x2C;
    public static final int IO_BASE_UPPER = 0x30;
    public static final int IO_LIMIT_UPPER = 0x32;
    public static final int BRIDGE_EXPANSION_ROM = 0x38;
    public static final int BRIDGE_CONTROL = 0x3E;

    public static final int HEADER_TYPE_NORMAL = 0x00;
    public static final int HEADER_TYPE_BRIDGE = 0x01;
    public static final int HEADER_TYPE_MULTIFUNCTION = 0x80;

    // Command register bits.
    public static final int CMD_IO_SPACE = 1 << 0;
    public static final int CMD_MEMORY_SPACE = 1 << 1;
    public static final int CMD_BUS_MASTER = 1 << 2;
    public static final int CMD_PARITY_ERROR_RESPONSE = 1 << 6;
    public static final int CMD_SERR = 1 << 8;
    public static final int CMD_INTX_DISABLE = 1 << 10;

    // Status register bits.
    public static final int STS_INTERRUPT = 1 << 3;
    public static final int STS_CAP_LIST = 1 << 4;
    public static final int STS_MASTER_DATA_PARITY = 1 << 8;
    public static final int STS_SIGNALED_TARGET_ABORT = 1 << 11;
    public static final int STS_RECEIVED_TARGET_ABORT = 1 << 12;
    public static final int STS_RECEIVED_MASTER_ABORT = 1 << 13;
    public static final int STS_SIGNALED_SYSTEM_ERROR = 1 << 14;
    public static final int STS_DETECTED_PARITY = 1 << 15;
    /** The error bits of (secondary) status, all RW1C. */
    public static final int STS_ERRORS_W1C = STS_MASTER_DATA_PARITY | STS_SIGNALED_TARGET_ABORT
            | STS_RECEIVED_TARGET_ABORT | STS_RECEIVED_MASTER_ABORT | STS_SIGNALED_SYSTEM_ERROR | STS_DETECTED_PARITY;

    // Bridge control bits (PCI-to-PCI Bridge spec 3.2.5.18).
    public static final int BCTL_PARITY = 1 << 0;
    public static final int BCTL_SERR = 1 << 1;
    public static final int BCTL_ISA = 1 << 2;
    public static final int BCTL_VGA = 1 << 3;
    public static final int BCTL_MASTER_ABORT = 1 << 5;
    public static final int BCTL_SECONDARY_RESET = 1 << 6;

    // BAR low bits (PCI Local Bus spec 6.2.5.1).
    public static final int BAR_IO = 1 << 0;
    public static final int BAR_MEM_TYPE_64 = 0b10 << 1;
    public static final int BAR_MEM_PREFETCHABLE = 1 << 3;

    // Capability IDs (PCI Code and ID Assignment spec).
    public static final int CAP_ID_PM = 0x01;
    public static final int CAP_ID_MSI = 0x05;
    public static final int CAP_ID_PCIX = 0x07;
    public static final int CAP_ID_SSVID = 0x0D;
    public static final int CAP_ID_PCIE = 0x10;
    public static final int CAP_ID_MSIX = 0x11;

    // Extended capability IDs.
    public static final int EXT_CAP_ID_AER = 0x0001;
    public static final int EXT_CAP_ID_DSN = 0x0003;
    public static final int EXT_CAP_ID_ACS = 0x000D;
    public static final int EXT_CAP_ID_ARI = 0x000E;
    public static final int EXT_CAP_ID_ATS = 0x000F;
    public static final int EXT_CAP_ID_SRIOV = 0x0010;
    public static final int EXT_CAP_ID_PRI = 0x0013;
    public static final int EXT_CAP_ID_PASID = 0x001B;

    public static final int EXT_CAP_START = 0x100;

    /** Requester/routing ID: bus << 8 | device << 3 | function. */
    public static int rid(int bus, int devfn) {
        return ((bus & 0xFF) << 8) | (devfn & 0xFF);
    }

    public static int devfn(int device, int function) {
        return ((device & 0x1F) << 3) | (function & 7);
    }

    /** "bb:dd.f" of a routing ID. */
    public static String bdf(int rid) {
        return String.format("%02x:%02x.%x", (rid >>> 8) & 0xFF, (rid >>> 3) & 0x1F, rid & 7);
    }
}

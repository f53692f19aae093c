package dev.vtd.firmware.acpi;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A device scope entry (VT-d spec 8.3.1): which device (or hierarchy) a remapping structure applies to.
 * Layout: type (1), length (1), flags (1, reserved before VT-d 4.0), reserved (1), enumeration ID (1),
 * start bus number (1), then {@code (length - 6) / 2} path entries of (device, function).
 *
 * @param type          one of the {@code TYPE_*} constants (other values are kept as read)
 * @param flags         device scope flags (VT-d 4.0, used in SIDP scopes); 0 in older tables
 * @param enumerationId IOAPIC id, HPET number or ACPI namespace device number; 0 for PCI scopes
 * @param startBus      bus number where the path walk starts
 * @param path          hierarchical path from the start bus to the device; never empty for known types
 */
public record DeviceScope(int type, int flags, int enumerationId, int startBus, List<PciPath> path) {
    public static final int TYPE_PCI_ENDPOINT = 1;
    public static final int TYPE_PCI_SUB_HIERARCHY = 2;
    public static final int TYPE_IOAPIC = 3;
    public static final int TYPE_MSI_CAPABLE_HPET = 4;
    public static final int TYPE_ACPI_NAMESPACE_DEVICE = 5;

    // Device scope flags (VT-d 4.0, 8.3.1; meaningful in SIDP scopes).
    public static final int FLAG_REQ_WO_PASID_NESTED_NOTALLOWED = 1 << 0;
    public static final int FLAG_REQ_WO_PASID_PWSNP_NOTALLOWED = 1 << 1;
    public static final int FLAG_REQ_WO_PASID_PGSNP_NOTALLOWED = 1 << 2;
    public static final int FLAG_ATC_HARDENED = 1 << 3;
    public static final int FLAG_ATC_REQUIRED = 1 << 4;

    /** Bytes before the path. */
    public static final int HEADER_LENGTH = 6;
    /** Bytes per path entry. */
    public static final int PATH_ENTRY_LENGTH = 2;
    static final int OFF_TYPE = 0;
    static final int OFF_LENGTH = 1;
    static final int OFF_FLAGS = 2;
    static final int OFF_RESERVED = 3;
    static final int OFF_ENUMERATION_ID = 4;
    static final int OFF_START_BUS = 5;
    /** The length field is one byte, which bounds the path. */
    public static final int MAX_PATH_ENTRIES = (0xFF - HEADER_LENGTH) / PATH_ENTRY_LENGTH;

    public DeviceScope {
        Dmar.checkUnsigned("device scope type", type, 8);
        Dmar.checkUnsigned("device scope flags", flags, 8);
        Dmar.checkUnsigned("enumeration ID", enumerationId, 8);
        Dmar.checkUnsigned("start bus", startBus, 8);
        path = List.copyOf(path);
        if (path.size() > MAX_PATH_ENTRIES) {
            throw new IllegalArgumentException("device scope path of " + path.size() + " entries exceeds "
                    + MAX_PATH_ENTRIES);
        }
        if (path.isEmpty() && isKnownType(type)) {
            throw new IllegalArgumentException(typeName(type) + " device scope needs at least one path entry");
        }
    }

    /** A PCI endpoint at bus:device.function. */
    public static DeviceScope endpoint(int bus, int device, int function) {
        return new DeviceScope(TYPE_PCI_ENDPOINT, 0, 0, bus, List.of(new PciPath(device, function)));
    }

    /** A PCI-PCI bridge and everything below it. */
    public static DeviceScope subHierarchy(int bus, int device, int function) {
        return new DeviceScope(TYPE_PCI_SUB_HIERARCHY, 0, 0, bus, List.of(new PciPath(device, function)));
    }

    /** An I/O APIC with the given APIC id, at the given requester bus:device.function. */
    public static DeviceScope ioapic(int apicId, int bus, int device, int function) {
        return new DeviceScope(TYPE_IOAPIC, 0, apicId, bus, List.of(new PciPath(device, function)));
    }

    /** An MSI-capable HPET block with the given number, at the given requester bus:device.function. */
    public static DeviceScope hpet(int hpetNumber, int bus, int device, int function) {
        return new DeviceScope(TYPE_MSI_CAPABLE_HPET, 0, hpetNumber, bus, List.of(new PciPath(device, function)));
    }

    /** An ACPI namespace device (named by an ANDD with the same device number). */
    public static DeviceScope acpiNamespaceDevice(int deviceNumber, int bus, int device, int function) {
        return new DeviceScope(TYPE_ACPI_NAMESPACE_DEVICE, 0, deviceNumber, bus,
                List.of(new PciPath(device, function)));
    }

    static boolean isKnownType(int type) {
        return type >= TYPE_PCI_ENDPOINT && type <= TYPE_ACPI_NAMESPACE_DEVICE;
    }

    /** Encoded length: the value of the length byte. */
    public int length() {
        return HEADER_LENGTH + PATH_ENTRY_LENGTH * path.size();
    }

    /** The path's last hop, i.e. the device this scope names. */
    public PciPath last() {
        return path.getLast();
    }

    void encodeTo(ByteBuffer out) {
        out.put((byte) type).put((byte) length()).put((byte) flags).put((byte) 0)
                .put((byte) enumerationId).put((byte) startBus);
        for (PciPath p : path) {
            out.put((byte) p.device()).put((byte) p.function());
        }
    }

    /** The name iasl gives the type. */
    public static String typeName(int type) {
        return switch (type) {
            case TYPE_PCI_ENDPOINT -> "PCI Endpoint Device";
            case TYPE_PCI_SUB_HIERARCHY -> "PCI Bridge Device";
            case TYPE_IOAPIC -> "IOAPIC Device";
            case TYPE_MSI_CAPABLE_HPET -> "Message-capable HPET Device";
            case TYPE_ACPI_NAMESPACE_DEVICE -> "Namespace Device";
            default -> "Unknown scope type " + type;
        };
    }
}

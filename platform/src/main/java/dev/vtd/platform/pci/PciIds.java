package dev.vtd.platform.pci;

/**
 * The identity registers of a function: vendor and device ID, 24-bit class code (base class,
 * sub-class, programming interface), revision, and subsystem vendor/ID (type 0 headers only).
 */
public record PciIds(int vendorId, int deviceId, int classCode, int revision, int subsystemVendorId, int subsystemId) {
    public PciIds {
        vendorId &= 0xFFFF;
        deviceId &= 0xFFFF;
        classCode &= 0xFF_FFFF;
        revision &= 0xFF;
        subsystemVendorId &= 0xFFFF;
        subsystemId &= 0xFFFF;
    }

    public static PciIds of(int vendorId, int deviceId, int classCode, int revision) {
        return new PciIds(vendorId, deviceId, classCode, revision, 0, 0);
    }

    public PciIds withSubsystem(int subsystemVendorId, int subsystemId) {
        return new PciIds(vendorId, deviceId, classCode, revision, subsystemVendorId, subsystemId);
    }

    public PciIds withDeviceId(int id) {
        return new PciIds(vendorId, id, classCode, revision, subsystemVendorId, subsystemId);
    }
}

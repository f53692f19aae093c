package dev.vtd.firmware.acpi;

/**
 * One hop of a device scope's path (VT-d spec 8.3.1.1): the device and function number of a PCI device on the
 * bus reached so far. Both are stored as the table's bytes; the specification limits device to 0..31 and
 * function to 0..7 but firmware tables are taken as written.
 */
public record PciPath(int device, int function) {
    public PciPath {
        Dmar.checkUnsigned("PCI path device", device, 8);
        Dmar.checkUnsigned("PCI path function", function, 8);
    }

    @Override
    public String toString() {
        return String.format("%02x.%x", device, function);
    }
}

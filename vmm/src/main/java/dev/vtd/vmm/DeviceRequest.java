package dev.vtd.vmm;

/**
 * One assigned device as QEMU's {@code -device vfio-pci,host=01:00.3,id=nic0,addr=06.0,multifunction=on,rombar=0}
 * or the legacy {@code pci-assign} names it; libvirt's {@code <hostdev>} maps to the same.
 *
 * @param driver "vfio-pci" or "pci-assign"
 * @param host   host address "0000:01:00.3"
 * @param id     device id, or null
 * @param slot   guest device number (addr=), or -1 for the first free slot
 * @param function guest function number
 */
public record DeviceRequest(String driver, String host, String id, int slot, int function, boolean multifunction,
                            boolean romBar) {
    public static DeviceRequest vfio(String host) {
        return new DeviceRequest("vfio-pci", host, null, -1, 0, false, true);
    }

    public DeviceRequest withId(String newId) {
        return new DeviceRequest(driver, host, newId, slot, function, multifunction, romBar);
    }

    public DeviceRequest at(int newSlot, int newFunction) {
        return new DeviceRequest(driver, host, id, newSlot, newFunction, multifunction, romBar);
    }
}

package dev.vtd.vmm.host;

import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;

import java.util.Map;

/** lspci's names for the classes and devices modelled here (from the PCI ID repository). */
public final class PciNames {
    private PciNames() {}

    private static final Map<Integer, String> CLASSES = Map.ofEntries(
            Map.entry(0x0000, "Non-VGA unclassified device"), Map.entry(0x00FF, "Unclassified device"),
            Map.entry(0x0200, "Ethernet controller"), Map.entry(0x0600, "Host bridge"),
            Map.entry(0x0601, "ISA bridge"), Map.entry(0x0604, "PCI bridge"),
            Map.entry(0x0800, "PIC"), Map.entry(0x0880, "System peripheral"),
            Map.entry(0x0C03, "USB controller"), Map.entry(0x0300, "VGA compatible controller"));

    private static final Map<Integer, String> DEVICES = Map.ofEntries(
            Map.entry(0x80861521, "Intel Corporation I350 Gigabit Network Connection"),
            Map.entry(0x80861520, "Intel Corporation I350 Ethernet Controller Virtual Function"),
            Map.entry(0x80861237, "Intel Corporation 440FX - 82441FX PMC [Natoma]"),
            Map.entry(0x12341111, "Device"),
            Map.entry(0x123411e8, "Device"));

    public static String className(int classCode) {
        return CLASSES.getOrDefault(classCode >>> 8, "Class");
    }

    public static String deviceName(int vendor, int device) {
        String n = DEVICES.get((vendor << 16) | device);
        if (n != null) return n;
        return vendor == 0x8086 ? "Intel Corporation Device" : "Device";
    }

    /** {@code 01:00.3 Ethernet controller [0200]: Intel Corporation I350 ... [8086:1521] (rev 01)}. */
    public static String lspciLine(String bdf, int vendor, int device, int classCode, int revision) {
        return String.format("%s %s [%04x]: %s [%04x:%04x] (rev %02x)", bdf, className(classCode), classCode >>> 8,
                deviceName(vendor, device), vendor, device, revision);
    }

    public static String lspciLine(PciFunction f, String bdf) {
        PciIds ids = f.ids();
        return lspciLine(bdf, ids.vendorId(), ids.deviceId(), ids.classCode(), ids.revision());
    }
}

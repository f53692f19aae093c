package dev.vtd.kernel.shell;

import java.util.Map;

/**
 * A pci.ids excerpt for the modelled devices: vendor, device and class names as lspci prints them, each equal to
 * its pci.ids entry (PciNamesMatchPciIdsTest checks them against the system's file). Class 00ff has no entry
 * there, so it prints as its base class with the number, as lspci does.
 */
final class PciNames {
    private PciNames() {}

    static final Map<Integer, String> VENDORS = Map.of(0x8086, "Intel Corporation", 0x1af4, "Red Hat, Inc.",
            0x1b36, "Red Hat, Inc.", 0x1028, "Dell", 0x10de, "NVIDIA Corporation", 0x1b21, "ASMedia Technology Inc.",
            0x10b5, "PLX Technology, Inc.");

    static final Map<Integer, String> DEVICES = Map.ofEntries(
            Map.entry(0x8086_2f00, "Xeon E7 v3/Xeon E5 v3/Core i7 DMI2"),
            Map.entry(0x8086_2f02, "Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 1"),
            Map.entry(0x8086_2f04, "Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 2"),
            Map.entry(0x8086_2f08, "Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3"),
            Map.entry(0x8086_2f28, "Xeon E7 v3/Xeon E5 v3/Core i7 Address Map, VTd_Misc, System Management"),
            Map.entry(0x8086_2f2c, "Xeon E7 v3/Xeon E5 v3/Core i7 I/O APIC"),
            Map.entry(0x8086_8d26, "C610/X99 series chipset USB Enhanced Host Controller #1"),
            Map.entry(0x8086_8d2d, "C610/X99 series chipset USB Enhanced Host Controller #2"),
            Map.entry(0x8086_1521, "I350 Gigabit Network Connection"),
            Map.entry(0x8086_1520, "I350 Ethernet Controller Virtual Function"),
            Map.entry(0x8086_10b9, "82572EI Gigabit Ethernet Controller (Copper)"),
            Map.entry(0x8086_29c0, "82G33/G31/P35/P31 Express DRAM Controller"),
            Map.entry(0x8086_244e, "82801 PCI Bridge"),
            Map.entry(0x10de_1db4, "GV100GL [Tesla V100 PCIe 16GB]"),
            Map.entry(0x1b21_1080, "ASM1083/1085 PCIe to PCI Bridge"),
            Map.entry(0x10b5_8747, "PEX 8747 48-Lane, 5-Port PCI Express Gen 3 (8.0 GT/s) Switch"),
            Map.entry(0x8086_1901, "6th-10th Gen Core Processor PCIe Controller (x16)"),
            Map.entry(0x8086_3ec2, "8th Gen Core Processor Host Bridge/DRAM Registers"),
            Map.entry(0x8086_a305, "Z390 Chipset LPC/eSPI Controller"),
            Map.entry(0x8086_a338, "Cannon Lake PCH PCI Express Root Port #1"),
            Map.entry(0x8086_a33a, "Cannon Lake PCH PCI Express Root Port #3"),
            Map.entry(0x8086_a33c, "Cannon Lake PCH PCI Express Root Port #5"),
            Map.entry(0x8086_a36d, "Cannon Lake PCH USB 3.1 xHCI Host Controller"),
            Map.entry(0x8086_2918, "82801IB (ICH9) LPC Interface Controller"),
            Map.entry(0x8086_2922, "82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]"),
            Map.entry(0x8086_2930, "82801I (ICH9 Family) SMBus Controller"));

    static final Map<Integer, String> CLASSES = Map.ofEntries(
            Map.entry(0x0000, "Non-VGA unclassified device"), Map.entry(0x0200, "Ethernet controller"),
            Map.entry(0x0300, "VGA compatible controller"), Map.entry(0x0302, "3D controller"),
            Map.entry(0x0600, "Host bridge"), Map.entry(0x0601, "ISA bridge"), Map.entry(0x0604, "PCI bridge"),
            Map.entry(0x0800, "PIC"), Map.entry(0x0880, "System peripheral"), Map.entry(0x0c03, "USB controller"),
            Map.entry(0x0106, "SATA controller"), Map.entry(0x0c05, "SMBus"));

    /** pci.ids base class names (lspci falls back to them when a subclass is not listed). */
    static final Map<Integer, String> BASE_CLASSES = Map.ofEntries(
            Map.entry(0x00, "Unclassified device"), Map.entry(0x01, "Mass storage controller"),
            Map.entry(0x02, "Network controller"), Map.entry(0x03, "Display controller"),
            Map.entry(0x04, "Multimedia controller"), Map.entry(0x05, "Memory controller"), Map.entry(0x06, "Bridge"),
            Map.entry(0x07, "Communication controller"), Map.entry(0x08, "Generic system peripheral"),
            Map.entry(0x09, "Input device controller"), Map.entry(0x0a, "Docking station"), Map.entry(0x0b, "Processor"),
            Map.entry(0x0c, "Serial bus controller"), Map.entry(0x0d, "Wireless controller"),
            Map.entry(0x0e, "Intelligent controller"), Map.entry(0x0f, "Satellite communications controller"),
            Map.entry(0x10, "Encryption controller"), Map.entry(0x11, "Signal processing controller"),
            Map.entry(0x12, "Processing accelerators"), Map.entry(0x13, "Non-Essential Instrumentation"),
            Map.entry(0x40, "Coprocessor"), Map.entry(0xff, "Unassigned class"));

    static String vendor(int v) {
        return VENDORS.getOrDefault(v, null);
    }

    /** "Intel Corporation I350 Gigabit Network Connection", or "Device 1234:11e8" when unknown. */
    static String deviceName(int vendor, int device) {
        String v = VENDORS.get(vendor);
        String d = DEVICES.get((vendor << 16) | device);
        if (v == null) return String.format("Device %04x:%04x", vendor, device);
        return v + " " + (d == null ? String.format("Device %04x", device) : d);
    }

    static String className(int classCode) {
        int c = classCode >>> 8;
        String n = CLASSES.get(c);
        if (n != null) return n;
        // pciutils: an unlisted subclass of a listed base class prints the base class and the number.
        String base = BASE_CLASSES.get(c >> 8);
        return base != null ? String.format("%s [%04x]", base, c) : String.format("Class %04x", c);
    }
}

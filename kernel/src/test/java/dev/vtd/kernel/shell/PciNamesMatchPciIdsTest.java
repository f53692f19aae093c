package dev.vtd.kernel.shell;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every name in vtd's built-in ID table is the system's pci.ids entry (where pciutils finds one). */
class PciNamesMatchPciIdsTest {
    static final List<Path> PLACES = List.of(Path.of("/usr/share/misc/pci.ids"), Path.of("/usr/share/hwdata/pci.ids"),
            Path.of("/usr/share/pci.ids"));

    @Test
    void builtInVendorDeviceAndClassNamesEqualThoseOfTheSystemsPciIds() throws IOException {
        Path ids = PLACES.stream().filter(Files::isRegularFile).findFirst().orElse(null);
        assumeTrue(ids != null, "no pci.ids on this system (install pciutils or hwdata)");
        Map<Integer, String> vendors = new HashMap<>(), devices = new HashMap<>(), classes = new HashMap<>(), bases = new HashMap<>();
        int vendor = -1, base = -1;
        for (String l : Files.readAllLines(ids, StandardCharsets.UTF_8)) {
            if (l.startsWith("#") || l.isBlank()) continue;
            if (l.startsWith("C ") && l.length() > 6) {
                base = Integer.parseInt(l.substring(2, 4), 16);
                bases.put(base, l.substring(6));
                vendor = -1;
            } else if (!l.startsWith("\t") && l.length() > 6 && l.charAt(4) == ' ' && l.charAt(5) == ' ') {
                vendor = Integer.parseInt(l.substring(0, 4), 16);
                vendors.put(vendor, l.substring(6));
                base = -1;
            } else if (l.startsWith("\t") && !l.startsWith("\t\t")) {
                String t = l.substring(1);
                if (vendor >= 0 && t.length() > 6) devices.put(vendor << 16 | Integer.parseInt(t.substring(0, 4), 16), t.substring(6));
                if (base >= 0 && t.length() > 4) classes.put(base << 8 | Integer.parseInt(t.substring(0, 2), 16), t.substring(4));
            }
        }
        PciNames.VENDORS.forEach((k, v) -> assertEquals(vendors.get(k), v, String.format("vendor %04x", k)));
        PciNames.DEVICES.forEach((k, v) -> assertEquals(devices.get(k), v, String.format("device %08x", k)));
        PciNames.CLASSES.forEach((k, v) -> assertEquals(classes.get(k), v, String.format("class %04x", k)));
        PciNames.BASE_CLASSES.forEach((k, v) -> assertEquals(bases.get(k), v, String.format("base class %02x", k)));
    }
}

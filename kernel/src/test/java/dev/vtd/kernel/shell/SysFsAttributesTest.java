package dev.vtd.kernel.shell;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sysfs attributes in Linux's formats, and the export of /sys and /proc as real files and links. */
class SysFsAttributesTest {
    static Host host;
    static Shell sh;
    static final String DEV = "/sys/bus/pci/devices/0000:01:00.0/";

    @BeforeAll
    static void boot() {
        host = Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build());
        sh = Shell.create(host);
    }

    @AfterAll
    static void off() {
        host.close();
    }

    @Test
    void configIsTheLiveConfigSpaceByteForByte() throws Exception {
        String cfg = sh.fs().read(DEV + "config");
        var f = host.machine().function("01:00.0");
        assertEquals(f.config().size(), cfg.length());
        assertEquals(4096, cfg.length());
        for (int i = 0; i < 64; i++) assertEquals(f.configRead(i, 1), cfg.charAt(i), "byte " + i);
        // Live: a command register write shows at once.
        int cmd = f.configRead(4, 2);
        f.configWrite(4, 2, cmd ^ 0x400);
        assertEquals((cmd ^ 0x400) & 0xFF, sh.fs().read(DEV + "config").charAt(4));
        f.configWrite(4, 2, cmd);
    }

    @Test
    void resourceHasThirteenLinesInLinuxFormatWithTheBarRange() throws Exception {
        String r = sh.fs().read(DEV + "resource");
        String[] lines = r.split("\n");
        assertEquals(13, lines.length);
        for (String l : lines) assertTrue(l.matches("0x[0-9a-f]{16} 0x[0-9a-f]{16} 0x[0-9a-f]{16}"), l);
        var bar0 = host.machine().function("01:00.0").bar(0);
        long start = Long.decode(lines[0].split(" ")[0]), end = Long.decode(lines[0].split(" ")[1]);
        assertEquals(bar0.address(), start);
        assertEquals(bar0.address() + bar0.size() - 1, end);
        assertTrue(sh.run("ls " + DEV).contains("resource0\n"));
    }

    @Test
    void modaliasAndIdsFollowPciUevent() throws Exception {
        assertTrue(sh.fs().read(DEV + "modalias").matches("pci:v00008086d00001521sv[0-9A-F]{8}sd[0-9A-F]{8}bc02sc00i00\n"));
        assertEquals("0x8086\n", sh.fs().read(DEV + "vendor"));
        assertEquals("0x020000\n", sh.fs().read(DEV + "class"));
    }

    @Test
    void iommuLinksAndIntelIommuAttributes() throws Exception {
        String unit = host.kernel().iommu().unitFor(host.kernel().pci().devices().stream()
                .filter(d -> d.name().equals("0000:01:00.0")).findFirst().orElseThrow().iommuDev()).name();
        assertEquals("/sys/devices/virtual/iommu/" + unit, sh.fs().resolve(DEV + "iommu", true).path());
        assertTrue(sh.fs().list("/sys/class/iommu/" + unit + "/devices").contains("0000:01:00.0"));
        assertEquals("8d2078c106f0466\n", sh.fs().read("/sys/class/iommu/dmar0/intel-iommu/cap"));
        assertEquals("f020df\n", sh.fs().read("/sys/class/iommu/dmar0/intel-iommu/ecap"));
        assertTrue(sh.fs().read("/sys/class/iommu/dmar0/intel-iommu/version").matches("\\d+:\\d+\n"));
        assertTrue(sh.fs().read("/sys/class/iommu/dmar0/intel-iommu/address").matches("[0-9a-f]+\n"));
    }

    @Test
    void iommuGroupReservedRegionsListRmrrsAndTheMsiWindowInLinuxFormat() throws Exception {
        // The USB controllers carry the R630's RMRR (relaxable for USB); every group has the interrupt window.
        String usb = host.kernel().pci().devices().stream().filter(d -> d.name().equals("0000:00:1d.0")).findFirst()
                .orElseThrow().group() + "";
        String text = sh.fs().read("/sys/kernel/iommu_groups/" + usb + "/reserved_regions");
        assertTrue(text.endsWith("0x00000000fee00000 0x00000000feefffff msi\n"), text);
        for (String l : text.split("\n")) assertTrue(l.matches("0x[0-9a-f]{16} 0x[0-9a-f]{16} (direct|direct-relaxable|msi)"), l);
        String nic = host.kernel().pci().devices().stream().filter(d -> d.name().equals("0000:01:00.0")).findFirst()
                .orElseThrow().group() + "";
        assertEquals("0x00000000fee00000 0x00000000feefffff msi\n",
                sh.fs().read("/sys/kernel/iommu_groups/" + nic + "/reserved_regions"));
    }

    @Test
    void exportWritesFilesLinksAndBinaryConfig(@TempDir Path dir) throws Exception {
        HostExport.export(sh, dir);
        Path dev = dir.resolve("sys/bus/pci/devices/0000:01:00.0");
        assertTrue(Files.isSymbolicLink(dev));
        assertArrayEquals(sh.fs().read(DEV + "config").getBytes(StandardCharsets.ISO_8859_1),
                Files.readAllBytes(dev.resolve("config")));
        assertEquals(sh.fs().read(DEV + "resource"), Files.readString(dev.resolve("resource")));
        assertEquals(sh.fs().read("/proc/cmdline"), Files.readString(dir.resolve("proc/cmdline")));
        assertTrue(Files.readString(dir.resolve("dmesg.txt")).contains("DMAR"));
        assertTrue(Files.isRegularFile(dir.resolve("sys/firmware/acpi/tables/DMAR")));
        String keep = System.getenv("VTD_EXPORT_KEEP");
        if (keep != null) HostExport.export(sh, Path.of(keep));
    }
}

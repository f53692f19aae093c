package dev.vtd.kernel.drivers;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.shell.Shell;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver binding state machine behind /sys/bus/pci, driven as an administrator drives it. */
class BindingTest {
    static Host r630() {
        return Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build());
    }

    static String driverOf(Host h, String bdf) {
        PciDriver d = h.kernel().pci().device(bdf).driver();
        return d == null ? null : d.name();
    }

    @Test
    void bootBindsIgbToEveryI350PortAndPcieportToRootPorts() {
        try (Host h = r630()) {
            for (int fn = 0; fn < 4; fn++) assertEquals("igb", driverOf(h, "01:00." + fn));
            assertEquals("pcieport", driverOf(h, "00:01.0"));
            assertNull(driverOf(h, "00:1a.0"));
        }
    }

    @Test
    void vfioPciBindsOnlyOnceItMatchesAndKeepsTheDefaultDomain() {
        try (Host h = r630()) {
            Shell s = Shell.create(h);
            Domain before = h.iommu().domainOf(h.kernel().pci().device("01:00.3").iommuDev());
            assertEquals("", s.run("modprobe vfio-pci"));
            assertEquals("", s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/igb/unbind"));
            assertNull(driverOf(h, "01:00.3"));
            // Not matching yet: bind refuses with ENODEV, like the 3.10 driver core.
            assertEquals("bash: echo: write error: No such device\n",
                    s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/vfio-pci/bind"));
            // new_id adds the ID and binds every unbound device that has it; bound ones stay with igb.
            assertEquals("", s.run("echo \"8086 1521\" > /sys/bus/pci/drivers/vfio-pci/new_id"));
            assertEquals("vfio-pci", driverOf(h, "01:00.3"));
            assertEquals("igb", driverOf(h, "01:00.2"));
            assertSame(before, h.iommu().domainOf(h.kernel().pci().device("01:00.3").iommuDev()));
            assertEquals("bash: echo: write error: File exists\n",
                    s.run("echo 8086 1521 > /sys/bus/pci/drivers/vfio-pci/new_id"));
            assertEquals("", s.run("echo 8086 1521 > /sys/bus/pci/drivers/vfio-pci/remove_id"));
            assertEquals("bash: echo: write error: No such device\n",
                    s.run("echo 8086 1521 > /sys/bus/pci/drivers/vfio-pci/remove_id"));
            assertEquals("0000:01:00.3\n", s.run("ls /sys/bus/pci/drivers/vfio-pci | grep 0000"));
            assertEquals("../../../../bus/pci/drivers/vfio-pci\n", s.run("readlink /sys/bus/pci/devices/0000:01:00.3/driver"));
        }
    }

    @Test
    void driverOverrideSteersDriversProbe() {
        try (Host h = r630()) {
            Shell s = Shell.create(h);
            s.run("modprobe vfio-pci");
            assertEquals("(null)\n", s.run("cat /sys/bus/pci/devices/0000:01:00.1/driver_override"));
            s.run("echo vfio-pci > /sys/bus/pci/devices/0000:01:00.1/driver_override");
            assertEquals("vfio-pci\n", s.run("cat /sys/bus/pci/devices/0000:01:00.1/driver_override"));
            s.run("echo 0000:01:00.1 > /sys/bus/pci/drivers/igb/unbind");
            assertEquals("", s.run("echo 0000:01:00.1 > /sys/bus/pci/drivers_probe"));
            assertEquals("vfio-pci", driverOf(h, "01:00.1"));
            // With the override set, igb no longer matches the device.
            s.run("echo 0000:01:00.1 > /sys/bus/pci/drivers/vfio-pci/unbind");
            assertEquals("bash: echo: write error: No such device\n", s.run("echo 0000:01:00.1 > /sys/bus/pci/drivers/igb/bind"));
            s.run("echo > /sys/bus/pci/devices/0000:01:00.1/driver_override");
            assertEquals("", s.run("echo 0000:01:00.1 > /sys/bus/pci/drivers/igb/bind"));
            assertEquals("igb", driverOf(h, "01:00.1"));
        }
    }

    @Test
    void refusalsCarryTheKernelsErrno() {
        try (Host h = r630()) {
            Shell s = Shell.create(h);
            s.run("modprobe vfio-pci");
            assertEquals("bash: echo: write error: No such device\n", s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/vfio-pci/unbind"));
            assertEquals("bash: echo: write error: No such device\n", s.run("echo 0000:09:00.0 > /sys/bus/pci/drivers/igb/bind"));
            assertEquals("bash: echo: write error: Invalid argument\n", s.run("echo zz > /sys/bus/pci/drivers/vfio-pci/new_id"));
            // A bridge cannot go to vfio-pci: probe fails with -EINVAL and the kernel says so.
            s.run("echo 0000:00:02.0 > /sys/bus/pci/drivers/pcieport/unbind");
            s.run("echo vfio-pci > /sys/bus/pci/devices/0000:00:02.0/driver_override");
            assertEquals("bash: echo: write error: Invalid argument\n", s.run("echo 0000:00:02.0 > /sys/bus/pci/drivers/vfio-pci/bind"));
            assertTrue(h.log().messages().contains("vfio-pci: probe of 0000:00:02.0 failed with error -22"));
            assertEquals("cat: /sys/bus/pci/drivers/igb/bind: Permission denied\n", s.run("cat /sys/bus/pci/drivers/igb/bind"));
            assertEquals("bash: /sys/bus/pci/drivers/nope/bind: No such file or directory\n",
                    s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/nope/bind"));
        }
    }

    @Test
    void pciStubClaimsDevicesByNewIdAndSaysSo() {
        try (Host h = r630()) {
            Shell s = Shell.create(h);
            assertEquals("modprobe: FATAL: Module pci_stubb not found.\n", s.run("modprobe pci_stubb"));
            s.run("modprobe pci-stub");
            assertTrue(s.run("lsmod").contains("pci_stub               12622  0"));
            s.run("echo 0000:01:00.0 > /sys/bus/pci/drivers/igb/unbind");
            s.run("echo \"8086 1521\" > /sys/bus/pci/drivers/pci-stub/new_id");
            assertEquals("pci-stub", driverOf(h, "01:00.0"));
            assertTrue(h.log().messages().contains("pci-stub 0000:01:00.0: claimed by stub"));
            assertTrue(h.kernel().groupViable(h.kernel().pci().device("01:00.0").group()));
            assertTrue(!h.kernel().groupViable(h.kernel().pci().device("01:00.1").group()));
        }
    }

    @Test
    void vfioPciRefusesWithoutAnIommu() {
        try (Host h = Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build(), new Host.BiosSettings(false),
                Host.DEFAULT_CMDLINE)) {
            Shell s = Shell.create(h);
            s.run("modprobe vfio-pci");
            s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/igb/unbind");
            s.run("echo vfio-pci > /sys/bus/pci/devices/0000:01:00.3/driver_override");
            assertEquals("bash: echo: write error: Invalid argument\n", s.run("echo 0000:01:00.3 > /sys/bus/pci/drivers/vfio-pci/bind"));
            assertNull(driverOf(h, "01:00.3"));
        }
    }

    @Test
    void rmmodRefusesAModuleOthersUseAndUnbindsOnRemoval() {
        try (Host h = r630()) {
            Shell s = Shell.create(h);
            s.run("modprobe vfio-pci");
            assertEquals("rmmod: ERROR: Module vfio is in use by: vfio_iommu_type1 vfio_pci\n", s.run("rmmod vfio"));
            assertEquals("", s.run("rmmod igb"));
            assertNull(driverOf(h, "01:00.0"));
            assertEquals("", s.run("ls /sys/bus/pci/drivers | grep igb"));
        }
    }
}

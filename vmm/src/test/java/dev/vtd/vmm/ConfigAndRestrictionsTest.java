package dev.vtd.vmm;

import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.config.DomainXml;
import dev.vtd.vmm.config.Qemu;
import dev.vtd.vmm.config.QemuCommandLine;
import dev.vtd.vmm.config.QemuMonitor;
import dev.vtd.vmm.config.Virsh;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class ConfigAndRestrictionsTest {
    static final Path REALDATA = Path.of("/work/shared/realdata/libvirt");
    Host host;
    Vmm vmm;
    Map<String, String> files = new HashMap<>();
    Virsh virsh;

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        virsh = new Virsh(vmm, f -> {
            String s = files.get(f);
            if (s == null) throw new VmmException("error: Failed to open file '" + f + "': No such file or directory");
            return s;
        });
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    static String domain(String name, String hostdevs) {
        return "<domain type='kvm'><name>" + name + "</name><memory unit='MiB'>256</memory><vcpu>2</vcpu><devices>"
                + hostdevs + "</devices></domain>";
    }

    static String hostdev(String managed, int slot, int fn) {
        return "<hostdev mode='subsystem' type='pci' managed='" + managed + "'><source><address domain='0x0000' bus='0x01' slot='0x"
                + Integer.toHexString(slot) + "' function='0x" + fn + "'/></source></hostdev>";
    }

    @Test
    void everyRealLibvirtDocumentParses() throws IOException {
        List<Path> docs;
        try (Stream<Path> s = Files.list(REALDATA)) {
            docs = s.filter(p -> p.toString().endsWith(".xml")).sorted().toList();
        }
        assertFalse(docs.isEmpty());
        for (Path p : docs) {
            DomainXml x = DomainXml.parse(Files.readString(p), p.getFileName().toString());
            assertFalse(x.name().isBlank(), p.toString());
        }
        DomainXml multi = DomainXml.parse(Files.readString(REALDATA.resolve("hostdev-pci-multifunction.xml")), "m");
        assertEquals(7, multi.hostdevs().size());
        assertEquals("0005:90:01.0", multi.hostdevs().getFirst().hostAddress());
        DomainXml md = DomainXml.parse(Files.readString(REALDATA.resolve("hostdev-vfio-multidomain.xml")), "md");
        assertEquals("0021:de:1f.1", md.hostdevs().getFirst().hostAddress(), "decimal bus/slot/function");
        DomainXml net = DomainXml.parse(Files.readString(REALDATA.resolve("net-hostdev-vfio.xml")), "n");
        assertTrue(net.hostdevs().getFirst().isInterface());
    }

    @Test
    void badXmlNamesTheElementAndAttribute() {
        VmmException e = assertThrows(VmmException.class, () -> DomainXml.parse(domain("x",
                "<hostdev mode='subsystem' type='usb'><source><address bus='1' slot='0' function='0'/></source></hostdev>"), "x.xml"));
        assertEquals("error: x.xml: XML error: <hostdev> attribute 'type' has unsupported value 'usb' (only 'pci')", e.getMessage());
        e = assertThrows(VmmException.class, () -> DomainXml.parse(domain("x",
                "<hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0x40' function='0'/></source></hostdev>"), "x.xml"));
        assertTrue(e.getMessage().contains("<address> attribute 'slot' has invalid value '0x40'"), e.getMessage());
        e = assertThrows(VmmException.class, () -> DomainXml.parse("<domain type='kvm'><name>x</name>", "t.xml"));
        assertTrue(e.getMessage().startsWith("error: t.xml:1: XML error:"), e.getMessage());
    }

    @Test
    void doctypesAndExternalEntitiesAreRefused() {
        String xxe = "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                + "<domain type='kvm'><name>&x;</name></domain>";
        VmmException e = assertThrows(VmmException.class, () -> DomainXml.parse(xxe, "evil.xml"));
        assertTrue(e.getMessage().contains("DOCTYPE"), e.getMessage());
    }

    @Test
    void qemuCommandLineErrorsAreQemusWording() {
        QemuCommandLine cl = QemuCommandLine.parse(QemuCommandLine.split(
                "qemu-system-x86_64 -enable-kvm -smp 4 -m 8G rhel7.3.img -device vfio-pci,host=01:00.3,addr=06.0,id=nic0,rombar=0,multifunction=on"));
        assertEquals(4, cl.smp());
        assertEquals(8L << 30, cl.memoryBytes());
        assertEquals("rhel7.3.img", cl.disk());
        DeviceRequest d = cl.devices().getFirst();
        assertEquals("0000:01:00.3", d.host());
        assertEquals(6, d.slot());
        assertFalse(d.romBar());
        assertTrue(d.multifunction());
        VmmException e = assertThrows(VmmException.class, () -> QemuCommandLine.parse(QemuCommandLine.split(
                "qemu-system-x86_64 -device vfio-pci,host=01:00.3,foo=1")));
        assertEquals("qemu-system-x86_64: -device vfio-pci,host=01:00.3,foo=1: Property 'vfio-pci.foo' not found", e.getMessage());
        e = assertThrows(VmmException.class, () -> QemuCommandLine.parse(List.of("-bogus")));
        assertEquals("qemu-system-x86_64: -bogus: invalid option", e.getMessage());
        QemuCommandLine legacy = QemuCommandLine.parse(List.of("-device", "pci-assign,host=01:00.0"));
        assertTrue(legacy.warnings().getFirst().contains("deprecated"));
    }

    @Test
    void aGroupWithADeviceStillOnItsHostDriverIsNotViable() {
        VmmException e = assertThrows(VmmException.class, () -> Qemu.start(vmm, QemuCommandLine.split(
                "qemu-system-x86_64 -enable-kvm -smp 2 -m 512M -device vfio-pci,host=01:00.3,addr=06.0")));
        int g = host.pci().group(host.pci().find("01:00.3"));
        assertEquals("vfio: error, group " + g + " is not viable, please ensure all devices within the iommu_group are"
                + " bound to their vfio bus driver.\nqemu-system-x86_64: -device vfio-pci,host=01:00.3,addr=06.0: vfio"
                + " 0000:01:00.3: group " + g + " is not viable", e.getMessage());
        assertTrue(vmm.vms().isEmpty(), "nothing half-started");
    }

    @Test
    void aDeviceWithAnRmrrIsRefused() {
        PciFunction usb = host.pci().find("00:1d.0");
        if (host.pci().driver(usb) != null) host.pci().unbind(usb);
        host.pci().bind(usb, HostPci.VFIO_PCI);
        VmmException e = assertThrows(VmmException.class, () -> Qemu.start(vmm, List.of("-device", "vfio-pci,host=00:1d.0")));
        assertTrue(e.getMessage().contains("failed to setup container for group"), e.getMessage());
        assertFalse(host.log().grepMessages("Device is ineligible for IOMMU domain attach due to platform RMRR requirement").isEmpty());
    }

    @Test
    void virshStartsAManagedHostdevAndGivesItBackAtDestroy() {
        files.put("vm1.xml", domain("vm1", hostdev("yes", 0, 3)));
        assertEquals("Domain 'vm1' defined from vm1.xml", virsh.execute(List.of("define", "vm1.xml")));
        PciFunction f = host.pci().find("01:00.3");
        assertEquals("igb", host.pci().driver(f));
        assertEquals("Domain 'vm1' started", virsh.execute(List.of("start", "vm1")));
        assertEquals(HostPci.VFIO_PCI, host.pci().driver(f));
        assertTrue(virsh.execute(List.of("list")).contains("vm1         running"));
        assertTrue(virsh.execute(List.of("dumpxml", "vm1")).contains("<address type='pci' domain='0x0000' bus='0x00' slot='0x02'"));
        assertNotNull(virsh.running("vm1").guest().driver(IgbDriver.class));
        assertEquals("Domain 'vm1' destroyed", virsh.execute(List.of("destroy", "vm1")));
        assertEquals("igb", host.pci().driver(f));
        assertTrue(virsh.execute(List.of("list", "--all")).contains("shut off"));
    }

    @Test
    void virshStartOfAMissingHostDeviceFailsWithLibvirtsMessage() throws IOException {
        files.put("h.xml", Files.readString(REALDATA.resolve("hostdev-vfio.xml")));
        virsh.execute(List.of("define", "h.xml"));
        VmmException e = assertThrows(VmmException.class, () -> virsh.execute(List.of("start", "QEMUGuest2")));
        assertEquals("error: Failed to start domain 'QEMUGuest2'\nerror: Device 0000:06:12.1 not found: could not access"
                + " /sys/bus/pci/devices/0000:06:12.1/config: No such file or directory", e.getMessage());
    }

    @Test
    void hotplugThroughTheMonitorAddsAndRemovesTheGuestDeviceAndLeavesNoStaleTranslation() {
        for (String bdf : List.of("01:00.2", "01:00.3")) virsh.execute(List.of("nodedev-detach", "pci_0000_" + bdf.replace(':', '_').replace('.', '_')));
        I350Nic nic = host.machine().device("i350", I350Nic.class);
        I350Nic.connect(nic.port(2), nic.port(3));
        Qemu.Started s = Qemu.start(vmm, QemuCommandLine.split("qemu-system-x86_64 -name vm1 -smp 2 -m 256M -monitor stdio"));
        QemuMonitor mon = s.monitor();
        assertEquals("", mon.execute("device_add vfio-pci,host=01:00.3,id=mydevice"));
        IgbDriver drv = s.vm().guest().driver(IgbDriver.class);
        assertNotNull(drv, "the guest bound its driver to the new device");
        assertTrue(mon.execute("info pci").contains("id \"mydevice\""));
        assertTrue(s.vm().guest().lspci().stream().anyMatch(l -> l.contains("I350 Gigabit")));
        assertEquals("Error: State blocked by non-migratable device '0000:00:02.0/vfio-pci'", mon.execute("migrate tcp:dst:4444"));
        VirtualMachine other = vmm.create(VirtualMachine.Config.of("peer", 1, 256L << 20));
        other.assign(DeviceRequest.vfio("01:00.2"));
        other.start();
        long rxBuf = drv.rxBuffers();
        long hpa = s.vm().memory().gpaToHpa(rxBuf, 256);
        int irtes = host.interrupts().table(host.machine().unitFor(host.pci().find("01:00.3"))).inUse();
        assertEquals("", mon.execute("device_del mydevice"));
        assertTrue(s.vm().guest().lspci().stream().noneMatch(l -> l.contains("I350")));
        assertFalse(mon.execute("info pci").contains("mydevice"));
        assertTrue(host.interrupts().table(host.machine().unitFor(host.pci().find("01:00.3"))).inUse() < irtes);
        assertEquals("Device 'mydevice' not found", mon.execute("device_del mydevice"));
        // The port is reprogrammed by hand to DMA to the old guest address: no translation remains for it.
        PciFunction f = host.pci().find("01:00.3");
        assertNotSame(s.vm().container().domain(), host.iommu().domainOf(host.kernelDevice(f)));
        byte[] before = host.machine().memory().readBytes(hpa, 64);
        f.configWrite(dev.vtd.platform.pci.PciRegs.COMMAND, 2, dev.vtd.platform.pci.PciRegs.CMD_BUS_MASTER);
        assertFalse(f.dma().writeFully(rxBuf, new byte[64]), "the old GPA no longer translates");
        assertArrayEquals(before, host.machine().memory().readBytes(hpa, 64));
        assertTrue(mon.execute("migrate tcp:dst:4444").startsWith("migration to tcp:dst:4444"));
    }

    @Test
    void virshQemuMonitorCommandReachesTheMonitor() {
        files.put("vm1.xml", domain("vm1", ""));
        virsh.execute(List.of("define", "vm1.xml"));
        virsh.execute(List.of("start", "vm1"));
        virsh.execute(List.of("nodedev-detach", "pci_0000_01_00_1"));
        assertEquals("", virsh.execute(List.of("qemu-monitor-command", "vm1", "--hmp", "device_add vfio-pci,host=01:00.1,id=n1")));
        assertNotNull(virsh.running("vm1").guest().driver(IgbDriver.class));
        assertEquals("Property 'vfio-pci.bogus' not found", virsh.execute(List.of("qemu-monitor-command", "vm1", "--hmp",
                "device_add vfio-pci,host=01:00.0,bogus=1")));
    }
}

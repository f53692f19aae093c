package dev.vtd.vmm;

import dev.vtd.firmware.machine.Machines;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.config.Qemu;
import dev.vtd.vmm.config.Virsh;
import dev.vtd.vmm.guest.EduDriver;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seeds' restrictions on other machines (a desktop with a PCIe-to-PCI bridge, a q35-like VM host with edu),
 * and libvirt's hotplug of a hostdev.
 */
class MoreRestrictionsTest {
    private Host host;
    private Vmm vmm;

    private void boot(String machine) {
        host = Host.boot(Machines.load(machine).builder().build(), Host.DEFAULT_CMDLINE);
        vmm = new Vmm(host);
    }

    @AfterEach
    void close() {
        if (vmm != null) vmm.close();
        if (host != null) host.close();
    }

    private void toVfio(PciFunction f) {
        if (HostPci.VFIO_PCI.equals(host.pci().driver(f))) return;
        if (host.pci().driver(f) != null) host.pci().unbind(f);
        host.pci().bind(f, HostPci.VFIO_PCI);
    }

    @Test
    void conventionalPciBehindAPcieToPciBridgeIsOnlyAssignableWithItsWholeGroup() {
        boot("desktop");
        PciFunction engine = host.pci().find("05:01.0");
        PciFunction other = host.pci().find("05:05.0");
        PciFunction bridge = host.pci().find("04:00.0");
        int g = host.pci().group(engine);
        List<PciFunction> members = host.pci().groupMembers(g);
        assertTrue(members.containsAll(List.of(engine, other, bridge)), "the bridge's alias takes both slots: " + members);
        toVfio(engine);
        // Another member of the group is still the host's (the I210 on igb): the group is not viable.
        PciFunction hostOwned = members.stream().filter(f -> "igb".equals(host.pci().driver(f))).findFirst().orElseThrow();
        VmmException e = assertThrows(VmmException.class, () -> Qemu.start(vmm,
                List.of("-m", "256M", "-device", "vfio-pci,host=05:01.0")));
        assertTrue(e.getMessage().startsWith("vfio: error, group " + g + " is not viable"), e.getMessage());
        assertTrue(vmm.vms().isEmpty(), "nothing half-started");
        assertEquals("igb", host.pci().driver(hostOwned), "the host keeps its device");
    }

    @Test
    void anIntxOnlyDeviceSharingItsLineIsRefusedWithAWarning() {
        boot("desktop");
        PciFunction engine = host.pci().find("05:01.0");
        assertNull(engine.msi());
        assertNull(engine.msix());
        int g = host.pci().group(engine);
        for (PciFunction f : host.pci().groupMembers(g)) if (!f.isBridge()) toVfio(f);
        long mark = host.log().nextSequence();
        VmmException e = assertThrows(VmmException.class, () -> Qemu.start(vmm,
                List.of("-m", "256M", "-device", "vfio-pci,host=05:01.0")));
        assertTrue(e.getMessage().contains("Failed to setup INTx fd: Device or resource busy"), e.getMessage());
        List<String> warnings = host.log().since(mark).stream().map(m -> m.text()).toList();
        assertTrue(warnings.stream().anyMatch(w -> w.contains("0000:05:01.0") && w.contains("is shared with 0000:")
                && w.contains("no MSI or MSI-X")), warnings.toString());
        assertTrue(vmm.vms().isEmpty());
    }

    @Test
    void theEduGuestDriverOnAQ35LikeHostDmasIntoGuestMemoryThroughTheDomain() {
        boot("q35");
        PciFunction edu = host.pci().find("00:04.0");
        toVfio(edu);
        Qemu.Started s = Qemu.start(vmm, List.of("-m", "128M", "-device", "vfio-pci,host=00:04.0,addr=07.0,id=edu0"));
        EduDriver d = s.vm().guest().driver(EduDriver.class);
        assertNotNull(d, s.vm().guest().dmesg().toString());
        byte[] pattern = new byte[64];
        for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) (0xA0 + i);
        GuestMemory mem = s.vm().memory();
        long src = d.buffer(), dst = d.buffer() + 4096;
        mem.write(src, pattern);
        d.dmaToDevice(src, pattern.length);
        vmm.run(2 * EduDevice.DMA_DELAY_NS);
        d.dmaToRam(dst, pattern.length);
        vmm.run(2 * EduDevice.DMA_DELAY_NS);
        assertEquals(2, d.dmaCompletions(), "both DMAs completed and their MSIs reached the guest");
        assertArrayEquals(pattern, mem.read(dst, pattern.length));
        long hpa = mem.gpaToHpa(dst, pattern.length);
        assertNotEquals(dst, hpa, "the GPA was translated to a different host address");
        assertArrayEquals(pattern, host.machine().memory().readBytes(hpa, pattern.length));
        assertTrue(s.monitor().execute("info pci").contains("id \"edu0\""));
    }

    @Test
    void virshAttachAndDetachDeviceHotplugAManagedHostdevAndGiveItBack() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        Map<String, String> files = new HashMap<>();
        Virsh virsh = new Virsh(vmm, files::get);
        files.put("vm1.xml", "<domain type='kvm'><name>vm1</name><memory unit='MiB'>512</memory><vcpu>2</vcpu></domain>");
        files.put("nic.xml", "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
                + "<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>");
        virsh.execute(List.of("define", "vm1.xml"));
        virsh.execute(List.of("start", "vm1"));
        VirtualMachine vm = virsh.running("vm1");
        PciFunction port = host.pci().find("01:00.1");
        assertEquals("igb", host.pci().driver(port));
        assertEquals("Device attached successfully", virsh.execute(List.of("attach-device", "vm1", "nic.xml")));
        assertEquals(HostPci.VFIO_PCI, host.pci().driver(port));
        assertNotNull(vm.guest().driver(IgbDriver.class), "the guest probed the new NIC");
        assertTrue(vm.guest().lspci().stream().anyMatch(l -> l.contains("Ethernet controller")), vm.guest().lspci().toString());
        assertTrue(virsh.execute(List.of("dumpxml", "vm1")).contains("function='0x1'"));
        var domain = vm.container().domain();
        assertEquals(domain, host.iommu().domainOf(host.kernelDevice(port)));

        assertEquals("Device detached successfully", virsh.execute(List.of("detach-device", "vm1", "nic.xml")));
        assertFalse(vm.guest().lspci().stream().anyMatch(l -> l.contains("Ethernet controller")), vm.guest().lspci().toString());
        assertNull(vm.guest().driver(IgbDriver.class));
        assertEquals("igb", host.pci().driver(port), "managed: given back to its host driver");
        assertNotEquals(domain, host.iommu().domainOf(host.kernelDevice(port)));
        VmmException e = assertThrows(VmmException.class, () -> virsh.execute(List.of("detach-device", "vm1", "nic.xml")));
        assertEquals("error: Failed to detach device from nic.xml\nerror: device not found: host pci device 0000:01:00.1 not found",
                e.getMessage());
    }
}

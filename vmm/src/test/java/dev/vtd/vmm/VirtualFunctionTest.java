package dev.vtd.vmm;

import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SR-IOV assignment end to end: VFs of an I350 port enabled through sysfs, one bound to vfio-pci and given to a
 * guest whose igbvf driver programs the VF's queue 0 with guest-physical addresses. Frames for the VF's MAC on
 * the port's wire land in guest memory through the VF's own requester ID and the VM's domain.
 */
class VirtualFunctionTest {
    Host host;
    Vmm vmm;
    I350Nic nic;

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        nic = host.machine().device("i350", I350Nic.class);
        I350Nic.connect(nic.port(2), nic.port(3));
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    static byte[] frameTo(long mac, int i) {
        byte[] f = new byte[200];
        for (int k = 0; k < f.length; k++) f[k] = (byte) (i * 13 + k);
        for (int b = 0; b < 6; b++) f[b] = (byte) (mac >>> (8 * b));
        return f;
    }

    private VirtualMachine vm(String name, PciFunction f) {
        if (host.pci().driver(f) != null) host.pci().unbind(f);
        host.pci().bind(f, HostPci.VFIO_PCI);
        VirtualMachine vm = vmm.create(VirtualMachine.Config.of(name, 2, 1L << 30));
        vm.assign(DeviceRequest.vfio(f.address()).at(5, 0));
        vm.start();
        return vm;
    }

    @Test
    void enabledVfsGetTheirOwnRequesterIdsGroupsAndBarsInsideThePortsBridgeWindow() {
        PciFunction pf = host.pci().find("01:00.2");
        List<PciFunction> vfs = host.setNumVfs(pf, 2);
        assertEquals(List.of("0000:02:10.2", "0000:02:10.6"), vfs.stream().map(PciFunction::address).toList(),
                "RID = PF RID + First VF Offset 0x180 + k * VF Stride 4");
        assertNull(host.pci().driver(vfs.get(0)), "no host driver claims a VF");
        assertNotEquals(host.pci().group(vfs.get(0)), host.pci().group(vfs.get(1)));
        assertNotEquals(host.pci().group(pf), host.pci().group(vfs.get(0)));
        long bar0 = vfs.get(0).bar(0).address(), bar0b = vfs.get(1).bar(0).address();
        assertNotEquals(0, bar0, "the kernel assigned the VF BAR0 aperture at boot");
        assertEquals(I350Nic.VF_BAR_SIZE, bar0b - bar0, "VF k's BAR at VF BAR0 + k * size");
    }

    @Test
    void aGuestIgbvfReceivesFramesForTheVfsMacByDmaThroughTheVfsRequesterIdAndTakesItsMsix() {
        PciFunction pf = host.pci().find("01:00.2");
        PciFunction vf = host.setNumVfs(pf, 2).get(1);
        VirtualMachine a = vm("vm-vf", vf);
        VirtualMachine b = vm("vm-pf", host.pci().find("01:00.3"));
        IgbDriver igbvf = a.guest().driver(IgbDriver.class);
        IgbDriver peer = b.guest().driver(IgbDriver.class);
        assertTrue(igbvf.virtualFunction());
        assertEquals("igbvf", igbvf.name());
        assertSame(a.container().domain(), host.iommu().domainOf(host.kernelDevice(vf)), "the VF is in the VM's domain");
        long mac = nic.port(2).vfMac(1);
        for (int i = 0; i < 3; i++) peer.send(frameTo(mac, i));
        vmm.run(1_000_000);
        assertEquals(3, igbvf.received().size());
        for (int i = 0; i < 3; i++) assertArrayEquals(frameTo(mac, i), igbvf.received().get(i));
        assertEquals(3, nic.port(2).vfRxPackets(1));
        assertEquals(0, nic.port(2).rxPackets(), "the PF's own ring got nothing");
        long hpa = a.memory().gpaToHpa(igbvf.rxBuffers(), 200);
        assertNotEquals(igbvf.rxBuffers(), hpa);
        assertArrayEquals(frameTo(mac, 0), host.machine().memory().readBytes(hpa, 200), "written at the HPA behind the GPA");
        assertTrue(igbvf.interrupts() > 0, "the guest took the VF's MSI-X vector 0");
        assertTrue(a.vcpus().getFirst().lapic().count(igbvf.vector(), true) > 0);
        // And back: the VF transmits from guest memory onto the wire, to the other guest's port.
        igbvf.send(frameTo(0x0000_5e00_0001L, 7));
        vmm.run(1_000_000);
        assertEquals(1, peer.received().size());
        assertArrayEquals(frameTo(0x0000_5e00_0001L, 7), peer.received().getFirst());
    }

    @Test
    void aRogueVfBufferIsBlockedAndLoggedWithTheVfsRequesterId() {
        PciFunction vf = host.setNumVfs(host.pci().find("01:00.2"), 1).getFirst();
        VirtualMachine a = vm("vm-vf", vf);
        VirtualMachine b = vm("vm-pf", host.pci().find("01:00.3"));
        IgbDriver igbvf = a.guest().driver(IgbDriver.class);
        IgbDriver peer = b.guest().driver(IgbDriver.class);
        long target = b.memory().gpaToHpa(peer.rxBuffers(), 4096);
        byte[] before = host.machine().memory().readBytes(target, 200);
        igbvf.pointNextRxBufferAt(target);
        peer.send(frameTo(nic.port(2).vfMac(0), 1));
        vmm.run(1_000_000);
        assertArrayEquals(before, host.machine().memory().readBytes(target, 200));
        assertFalse(host.log().grepMessages("DMAR: [DMA Write NO_PASID] Request device [02:10.2]").isEmpty(),
                host.log().dmesg());
    }
}

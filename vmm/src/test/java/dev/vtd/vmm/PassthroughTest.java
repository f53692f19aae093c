package dev.vtd.vmm;

import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;

class PassthroughTest {
    Host host;
    Vmm vmm;

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        I350Nic nic = host.machine().device("i350", I350Nic.class);
        I350Nic.connect(nic.port(2), nic.port(3));
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    void toVfio(String bdf) {
        PciFunction f = host.pci().find(bdf);
        host.pci().unbind(f);
        host.pci().bind(f, HostPci.VFIO_PCI);
    }

    static byte[] frame(int i) {
        byte[] f = new byte[256];
        for (int k = 0; k < f.length; k++) f[k] = (byte) (i * 7 + k);
        return f;
    }

    VirtualMachine vm(String name, String bdf) {
        toVfio(bdf);
        VirtualMachine vm = vmm.create(VirtualMachine.Config.of(name, 2, 1L << 30));
        vm.assign(DeviceRequest.vfio(bdf).at(6, 0));
        vm.start();
        return vm;
    }

    @Test
    void framesFromOnePortLandInTheOtherGuestsBuffersByDmaThroughItsDomain() {
        VirtualMachine a = vm("vm1", "01:00.3");
        VirtualMachine b = vm("vm2", "01:00.2");
        IgbDriver rx = a.guest().driver(IgbDriver.class);
        IgbDriver tx = b.guest().driver(IgbDriver.class);
        assertNotNull(rx);
        for (int i = 0; i < 4; i++) tx.send(frame(i));
        vmm.run(1_000_000);
        assertEquals(4, rx.received().size());
        for (int i = 0; i < 4; i++) assertArrayEquals(frame(i), rx.received().get(i));
        long hpa = a.memory().gpaToHpa(rx.rxBuffers(), 256);
        assertNotEquals(rx.rxBuffers(), hpa, "guest memory is not identity-mapped");
        assertArrayEquals(frame(0), host.machine().memory().readBytes(hpa, 256));
        assertTrue(rx.interrupts() > 0);
        assertTrue(a.vcpus().getFirst().lapic().count(rx.vector(), true) > 0, "posted to the vCPU");
        assertTrue(a.guest().lspci().stream().anyMatch(l -> l.startsWith("00:06.0 Ethernet controller [0200]")),
                a.guest().lspci().toString());
    }

    @Test
    void aRogueReceiveBufferAtAHostAddressIsBlockedAndLoggedAndOtherVmsCarryOn() {
        VirtualMachine a = vm("vm1", "01:00.3");
        VirtualMachine b = vm("vm2", "01:00.2");
        IgbDriver ra = a.guest().driver(IgbDriver.class);
        IgbDriver rb = b.guest().driver(IgbDriver.class);
        long hostTarget = b.memory().gpaToHpa(rb.rxBuffers(), 4096);
        byte[] before = host.machine().memory().readBytes(hostTarget, 256);
        ra.pointNextRxBufferAt(hostTarget);
        rb.send(frame(9));
        vmm.run(1_000_000);
        assertArrayEquals(before, host.machine().memory().readBytes(hostTarget, 256));
        assertFalse(host.log().grepMessages("DMAR: [DMA Write NO_PASID] Request device [01:00.3]").isEmpty(),
                host.log().dmesg());
        ra.send(frame(3));
        vmm.run(1_000_000);
        assertEquals(1, rb.received().size());
        assertArrayEquals(frame(3), rb.received().getFirst());
    }
}

package dev.vtd.vmm.virtio;

import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.emulated.GuestDriverMemory;
import dev.vtd.vmm.exits.VmExits;
import dev.vtd.vmm.guest.VirtioNetDriver;
import dev.vtd.vmm.host.Host;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The paravirtual path: the guest's virtio-net driver over modern virtio-pci (virtio 1.x 4.1) and the vhost-like backend. */
class VirtioNetGuestTest {
    Host host;
    Vmm vmm;
    VirtualMachine vm;
    VirtioNetPci nic;
    final List<byte[]> wire = new ArrayList<>();

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        vm = vmm.create(VirtualMachine.Config.of("vm1", 1, 256L << 20));
        nic = new VirtioNetPci("net0", new GuestDriverMemory(vm.memory()), wire::add,
                (addr, data) -> vm.inject((int) (addr >>> 12) & 0xFF, data & 0xFF), () -> { });
        vm.addEmulated(4 << 3, nic);
        vm.start();
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    static byte[] frame(int i, int len) {
        byte[] f = new byte[len];
        for (int k = 0; k < len; k++) f[k] = (byte) (i * 13 + k);
        return f;
    }

    @Test
    void theDriverNegotiatesVersion1MacAndEventIdxAndTheDeviceReachesDriverOk() {
        VirtioNetDriver d = vm.guest().driver(VirtioNetDriver.class);
        assertNotNull(d, vm.guest().dmesg().toString());
        assertNull(d.failure());
        assertEquals(VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK | VirtioNetPci.DRIVER_OK,
                nic.status());
        assertArrayEquals(VirtioNetPci.MAC, d.mac());
        assertTrue(vm.guest().lspci().stream().anyMatch(l -> l.contains("[1af4:1041]")), vm.guest().lspci().toString());
    }

    @Test
    void featuresOkIsRefusedWithoutVersion1AndForFeaturesTheDeviceDidNotOffer() {
        long common = nic.guestBarAddress(VirtioNetPci.BAR);
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, 0);
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE_SELECT, 4, 0);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE, 4, VirtioNetPci.F_MAC);          // no VERSION_1
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK);
        assertEquals(0, vm.mmioRead(common + VirtioNetPci.DEVICE_STATUS, 1) & VirtioNetPci.FEATURES_OK);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE_SELECT, 4, 1);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE, 4, 1 | 1 << 5);                 // VERSION_1 and bit 37
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK);
        assertEquals(0, vm.mmioRead(common + VirtioNetPci.DEVICE_STATUS, 1) & VirtioNetPci.FEATURES_OK);
    }

    @Test
    void transmitCopiesEachFrameOnceAndNotifiesOnlyWhenTheDeviceAsks() {
        VirtioNetDriver d = vm.guest().driver(VirtioNetDriver.class);
        long exits0 = vm.exits().count(VmExits.Reason.EPT_MISCONFIG);
        for (int i = 0; i < 20; i++) {
            assertTrue(d.send(frame(i, 1500)));
            vm.guest().handleInterrupts();
        }
        assertEquals(20, wire.size());
        for (int i = 0; i < 20; i++) assertArrayEquals(frame(i, 1500), wire.get(i));
        assertEquals(20, nic.backend().copies());
        long exits = vm.exits().count(VmExits.Reason.EPT_MISCONFIG) - exits0;
        assertEquals(d.notifications() - 1, exits, "one exit per notification (the probe's RX kick came before)");
        assertTrue(exits <= 20);
    }

    @Test
    void receiveNeedsNoRegisterAccessPerFrameOnlyTheInterrupt() {
        VirtioNetDriver d = vm.guest().driver(VirtioNetDriver.class);
        long mmio0 = vm.exits().count(VmExits.Reason.EPT_MISCONFIG);
        for (int i = 0; i < 8; i++) {
            assertTrue(nic.receive(frame(i, 9000)));
            vm.guest().handleInterrupts();
        }
        assertEquals(8, d.received().size());
        for (int i = 0; i < 8; i++) assertArrayEquals(frame(i, 9000), d.received().get(i));
        assertEquals(8, vm.exits().count(VmExits.Reason.EXTERNAL_INTERRUPT), "the backend's MSI kicks the vCPU");
        // refilled buffers are notified only when the device's avail_event asks (EVENT_IDX): never per frame here
        assertTrue(vm.exits().count(VmExits.Reason.EPT_MISCONFIG) - mmio0 < 8);
    }

    @Test
    void aHostileRingAddressNeverStartsTheQueues() {
        long common = nic.guestBarAddress(VirtioNetPci.BAR);
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, 0);
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE_SELECT, 4, 1);
        vm.mmioWrite(common + VirtioNetPci.DRIVER_FEATURE, 4, 1);
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK);
        for (int q = 0; q < 2; q++) {
            vm.mmioWrite(common + VirtioNetPci.QUEUE_SELECT, 2, q);
            vm.mmioWrite(common + VirtioNetPci.QUEUE_DESC, 4, 0xFFFF_F000L);               // not guest RAM
            vm.mmioWrite(common + VirtioNetPci.QUEUE_DESC + 4, 4, 0x7F);
            vm.mmioWrite(common + VirtioNetPci.QUEUE_ENABLE, 2, 1);
        }
        vm.mmioWrite(common + VirtioNetPci.DEVICE_STATUS, 1,
                VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK | VirtioNetPci.DRIVER_OK);
        long st = vm.mmioRead(common + VirtioNetPci.DEVICE_STATUS, 1);
        assertEquals(0, st & VirtioNetPci.DRIVER_OK);
        assertEquals(VirtioNetPci.DEVICE_NEEDS_RESET, st & VirtioNetPci.DEVICE_NEEDS_RESET);
        assertNull(nic.backend());
        assertFalse(nic.receive(frame(0, 64)));
    }
}

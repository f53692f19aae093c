package dev.vtd.vmm.emulated;

import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.virtio.VirtioNetPci;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile guests: random register writes of every size to the emulated NICs' BARs and configuration space,
 * interleaved with frames from the network, never throw, and the devices touch nothing outside guest RAM
 * (host memory around the guest's slots is checked unchanged).
 */
class EmulatedNicRobustnessTest {
    @Test
    void randomProgrammingOfTheE1000AndVirtioNetNeverThrowsOrReachesOutsideGuestRam() {
        for (long seed = 1; seed <= 6; seed++) {
            Random rnd = new Random(seed);
            try (Host host = Host.bootR630(); Vmm vmm = new Vmm(host)) {
                VirtualMachine vm = vmm.create(VirtualMachine.Config.of("fuzz", 1, 64L << 20));
                List<byte[]> wire = new ArrayList<>();
                E1000Function e1000 = new E1000Function("e", new GuestDriverMemory(vm.memory()), wire::add,
                        () -> vm.ioapic().assert_(VirtualIoApic.gsiOf(3 << 3, 1)));
                VirtioNetPci virtio = new VirtioNetPci("v", new GuestDriverMemory(vm.memory()), wire::add,
                        (a, d) -> vm.inject((int) (a >>> 12) & 0xFF, d & 0xFF), () -> vm.ioapic().assert_(17));
                vm.addEmulated(3 << 3, e1000);
                vm.addEmulated(4 << 3, virtio);
                vm.start();
                long slotEnd = vm.memory().slots().getFirst().hpa() + vm.memory().slots().getFirst().size();
                byte[] guard = host.machine().memory().readBytes(slotEnd, 4096);
                long e0 = e1000.guestBarAddress(0), v0 = virtio.guestBarAddress(VirtioNetPci.BAR);
                int[] sizes = {1, 2, 4, 8};
                for (int i = 0; i < 4000; i++) {
                    int size = sizes[rnd.nextInt(4)];
                    long value = rnd.nextInt(4) == 0 ? -1L : rnd.nextLong() >>> rnd.nextInt(64);
                    switch (rnd.nextInt(6)) {
                        case 0 -> vm.mmioWrite(e0 + (rnd.nextInt(E1000.BAR0_SIZE) & ~3), 4, value);
                        case 1 -> vm.mmioWrite(v0 + rnd.nextInt((int) VirtioNetPci.BAR_SIZE), size, value);
                        case 2 -> vm.mmioWrite(v0 + rnd.nextInt(0x40), size, value);          // the common configuration
                        case 3 -> vm.configWrite((3 + rnd.nextInt(2)) << 3, rnd.nextInt(256), sizes[rnd.nextInt(3)], (int) value);
                        case 4 -> {
                            byte[] f = new byte[60 + rnd.nextInt(9000)];
                            rnd.nextBytes(f);
                            e1000.nic().receive(f);
                            virtio.receive(f);
                        }
                        default -> vm.mmioRead(v0 + rnd.nextInt((int) VirtioNetPci.BAR_SIZE), size);
                    }
                    vm.guest().handleInterrupts();
                    // the guest may have moved a BAR: follow it as the guest would
                    if (e1000.guestBarAddress(0) != 0) e0 = e1000.guestBarAddress(0);
                    if (virtio.guestBarAddress(VirtioNetPci.BAR) != 0) v0 = virtio.guestBarAddress(VirtioNetPci.BAR);
                }
                assertArrayEquals(guard, host.machine().memory().readBytes(slotEnd, 4096),
                        "seed " + seed + ": host memory after the guest's RAM changed");
            }
        }
    }
}

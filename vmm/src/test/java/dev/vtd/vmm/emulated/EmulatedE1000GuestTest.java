package dev.vtd.vmm.emulated;

import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.exits.VmExits;
import dev.vtd.vmm.guest.E1000Driver;
import dev.vtd.vmm.host.Host;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The emulated path of the I/O-path comparison: a guest e1000 driver on a VMM-emulated 82540EM. */
class EmulatedE1000GuestTest {
    Host host;
    Vmm vmm;
    VirtualMachine vm;
    E1000Function nic;
    final List<byte[]> wire = new ArrayList<>();

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        vm = vmm.create(VirtualMachine.Config.of("vm1", 1, 256L << 20));
        nic = new E1000Function("net0", new GuestDriverMemory(vm.memory()), wire::add,
                () -> vm.ioapic().assert_(VirtualIoApic.gsiOf(3 << 3, 1)));
        vm.addEmulated(3 << 3, nic);
        vm.start();
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    static byte[] frame(int i, int len) {
        byte[] f = new byte[len];
        for (int k = 0; k < len; k++) f[k] = (byte) (i * 31 + k);
        return f;
    }

    @Test
    void theGuestDriverBindsToTheEmulatedFunctionAndEveryRegisterAccessIsAnMmioExit() {
        E1000Driver d = vm.guest().driver(E1000Driver.class);
        assertNotNull(d, vm.guest().dmesg().toString());
        assertTrue(vm.guest().lspci().stream().anyMatch(l -> l.startsWith("00:03.0 Ethernet controller [0200]")
                && l.contains("[8086:100e]")), vm.guest().lspci().toString());
        // probe: 4 I/O APIC accesses and the register accesses of the e1000 itself
        assertEquals(nic.nic().registerAccesses() + 4, vm.exits().count(VmExits.Reason.EPT_MISCONFIG));
    }

    @Test
    void transmitCostsOneDoorbellExitPerFrameAndTheVmmCopiesEachFrameOnce() {
        E1000Driver d = vm.guest().driver(E1000Driver.class);
        long exits0 = vm.exits().total(), copies0 = nic.nic().copies();
        for (int i = 0; i < 10; i++) assertTrue(d.send(frame(i, 1500)));
        assertEquals(10, wire.size());
        for (int i = 0; i < 10; i++) assertArrayEquals(frame(i, 1500), wire.get(i));
        assertEquals(10, vm.exits().total() - exits0, "one TDT write per frame, and nothing else");
        assertEquals(10, nic.nic().copies() - copies0);
        // TXDW raised during the TDT exit: injected on that exit's VM entry, no kick
        assertEquals(0, vm.exits().count(VmExits.Reason.EXTERNAL_INTERRUPT));
        assertTrue(vm.exits().injections() >= 10);
    }

    @Test
    void receiveLandsInGuestBuffersAndCostsAKickAnIcrReadAndOneRdtWritePerBatch() {
        E1000Driver d = vm.guest().driver(E1000Driver.class);
        long mmio0 = vm.exits().count(VmExits.Reason.EPT_MISCONFIG);
        for (int i = 0; i < 5; i++) {
            assertTrue(nic.nic().receive(frame(i, 9000)));
            vm.guest().handleInterrupts();
        }
        assertEquals(5, d.received().size());
        for (int i = 0; i < 5; i++) assertArrayEquals(frame(i, 9000), d.received().get(i));
        assertEquals(5, vm.exits().count(VmExits.Reason.EXTERNAL_INTERRUPT), "the I/O thread kicks the vCPU");
        assertEquals(10, vm.exits().count(VmExits.Reason.EPT_MISCONFIG) - mmio0, "ICR read + RDT write per interrupt");
    }

    @Test
    void aMaskedRedirectionEntryInjectsNothing() {
        int gsi = VirtualIoApic.gsiOf(3 << 3, 1);
        vm.mmioWrite(VirtualIoApic.BASE + VirtualIoApic.IOREGSEL, 4, VirtualIoApic.REG_RTE0 + 2L * gsi);
        long low = vm.mmioRead(VirtualIoApic.BASE + VirtualIoApic.IOWIN, 4);
        vm.mmioWrite(VirtualIoApic.BASE + VirtualIoApic.IOWIN, 4, low | VirtualIoApic.RTE_MASKED);
        long inj = vm.exits().injections();
        assertTrue(nic.nic().receive(frame(1, 64)));
        assertEquals(inj, vm.exits().injections());
    }
}

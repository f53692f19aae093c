package dev.vtd.vmm;

import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.exits.VmExits;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Posted-interrupt delivery as the hardware and KVM do it (VT-d 9.12): while the vCPU runs in guest mode the
 * notification vector is processed without a VM exit; a halted vCPU's descriptor names the wakeup vector; a
 * preempted vCPU's descriptor has SN = 1, so interrupts wait in PIR until it runs again. The remapped path
 * costs an external-interrupt exit and an injection per interrupt.
 */
class VcpuPostedInterruptTest {
    Host host;
    Vmm vmm;

    @BeforeEach
    void boot() {
        host = Host.bootR630();
        vmm = new Vmm(host);
        host.machine().device("i350", I350Nic.class).port(3).loopback();
    }

    @AfterEach
    void close() {
        vmm.close();
        host.close();
    }

    VirtualMachine vm(boolean posted) {
        PciFunction f = host.pci().find("01:00.3");
        host.pci().unbind(f);
        host.pci().bind(f, HostPci.VFIO_PCI);
        VirtualMachine vm = vmm.create(new VirtualMachine.Config("vm1", 1, 256L << 20, posted));
        vm.assign(DeviceRequest.vfio("01:00.3").at(6, 0));
        vm.start();
        return vm;
    }

    static byte[] frame(int i) {
        byte[] f = new byte[128];
        f[0] = 0x02;
        for (int k = 1; k < f.length; k++) f[k] = (byte) (i + k);
        return f;
    }

    void roundTrip(VirtualMachine vm, IgbDriver d, int i) {
        d.send(frame(i));
        vmm.run(10_000);
    }

    @Test
    void aRunningVcpuTakesPostedInterruptsWithoutAVmExit() {
        VirtualMachine vm = vm(true);
        IgbDriver d = vm.guest().driver(IgbDriver.class);
        Vcpu c = vm.vcpus().getFirst();
        for (int i = 0; i < 4; i++) roundTrip(vm, d, i);
        assertEquals(4, d.takeReceived().size());
        assertTrue(c.postedInGuest() > 0, "posted-interrupt processing in guest mode");
        assertEquals(0, vm.exits().total(), "no VM exit on the posted path");
        assertEquals(0, vm.exits().injections());
    }

    @Test
    void aHaltedVcpuIsWokenByTheWakeupVectorAndSyncsPirOnEntry() {
        VirtualMachine vm = vm(true);
        IgbDriver d = vm.guest().driver(IgbDriver.class);
        Vcpu c = vm.vcpus().getFirst();
        c.halt();
        assertEquals(Vcpu.WAKEUP_VECTOR, c.descriptor().notificationVector());
        long rx0 = d.interrupts();
        roundTrip(vm, d, 1);
        assertEquals(Vcpu.RunState.RUNNING, c.state());
        assertEquals(1, c.wakeups());
        assertTrue(c.syncedOnEntry() > 0);
        assertTrue(d.interrupts() > rx0, "the guest's handler ran after the wakeup");
        assertEquals(dev.vtd.vmm.host.HostInterrupts.POSTED_INTR_VECTOR, c.descriptor().notificationVector());
        assertEquals(0, vm.exits().total());
    }

    @Test
    void aPreemptedVcpuSuppressesNotificationsAndFindsItsInterruptsInPirWhenScheduledIn() {
        VirtualMachine vm = vm(true);
        IgbDriver d = vm.guest().driver(IgbDriver.class);
        Vcpu c = vm.vcpus().getFirst();
        c.preempt();
        assertTrue(c.descriptor().suppress(), "SN = 1");
        long notifications = host.interrupts().notifications(), rx0 = d.interrupts();
        roundTrip(vm, d, 2);
        assertEquals(notifications, host.interrupts().notifications(), "SN = 1: no notification event");
        assertEquals(rx0, d.interrupts(), "nothing reaches the guest while it is preempted");
        assertTrue(java.util.Arrays.stream(c.descriptor().pir()).anyMatch(q -> q != 0), "recorded in PIR");
        assertFalse(c.descriptor().outstanding(), "ON is set only with a notification, which SN suppressed");
        c.resume();
        assertTrue(c.syncedOnEntry() > 0);
        vm.guest().handleInterrupts();
        assertTrue(d.interrupts() > rx0);
        assertEquals(1, d.takeReceived().size());
    }

    @Test
    void theRemappedPathCostsAnExternalInterruptExitAndAnInjectionPerInterrupt() {
        VirtualMachine vm = vm(false);
        IgbDriver d = vm.guest().driver(IgbDriver.class);
        for (int i = 0; i < 4; i++) roundTrip(vm, d, i);
        assertEquals(4, d.takeReceived().size());
        long delivered = vm.vcpus().getFirst().lapic().count(d.vector(), false);
        assertTrue(delivered >= 4, "remapped host interrupts, none posted");
        assertEquals(0, vm.vcpus().getFirst().lapic().count(d.vector(), true));
        assertEquals(delivered, vm.exits().count(VmExits.Reason.EXTERNAL_INTERRUPT), "one exit per host interrupt");
        assertEquals(delivered, vm.exits().injections(), "and one injection");
    }
}

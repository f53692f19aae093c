package dev.vtd.vmm;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.config.Qemu;
import dev.vtd.vmm.config.QemuCommandLine;
import dev.vtd.vmm.config.Virsh;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostInterrupts;
import dev.vtd.vmm.host.HostPci;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The seeds' story on the default machine (Dell R630, Intel I350 at 01:00.0-3), narrated and checked step by
 * step: the boot's DMAR lines, lspci, 01:00.3 moved from igb to vfio-pci, vm1 started from libvirt XML with that
 * port as a hostdev, vm2 started from a QEMU command line with 01:00.2 (the two ports cabled together), frames
 * received by DMA into vm1's buffers through its IOMMU domain, the MSI-X interrupt posted to vm1's vCPU, a rogue
 * receive buffer at a host address blocked and logged, vm2 unaffected, hot-unplug through the monitor, and a
 * summary of the units' counters. {@link #run} returns true only if every check held.
 */
public final class SeedsDemo {
    public static final String VM1_XML = """
            <domain type='kvm'>
              <name>vm1</name>
              <memory unit='GiB'>2</memory>
              <vcpu placement='static'>2</vcpu>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source>
                    <address domain='0x0000' bus='0x01' slot='0x00' function='0x3'/>
                  </source>
                  <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
                </hostdev>
              </devices>
            </domain>
            """;
    public static final String VM2_CMDLINE =
            "qemu-system-x86_64 -enable-kvm -name vm2 -smp 2 -m 1G rhel7.3.img -device vfio-pci,host=01:00.2,addr=05.0,id=nic0";

    private final PrintWriter out;
    private final List<String> failures = new ArrayList<>();

    private SeedsDemo(PrintWriter out) {
        this.out = out;
    }

    /** Runs the demo, printing to {@code out}; true if every step was verified. */
    public static boolean run(PrintWriter out) {
        SeedsDemo d = new SeedsDemo(out);
        try {
            d.story();
        } catch (RuntimeException e) {
            d.check(false, "the story ran to the end (" + e + ")");
        }
        out.println();
        out.println(d.failures.isEmpty() ? "demo: every step verified" : "demo: " + d.failures.size() + " step(s) failed");
        out.flush();
        return d.failures.isEmpty();
    }

    /**
     * The same story as a {@code vtd run} script (host shell commands): the DMAR lines, 01:00.3 handed to
     * vfio-pci through sysfs, vm1 defined from a here-document and started by libvirt, 01:00.2 detached and given
     * to vm2 by a QEMU command line whose monitor (on stdio) shows the guest's PCI view, refuses migration and
     * hot-unplugs the port, then vm1's monitor through virsh, and the ports' drivers at the end.
     */
    public static String script() {
        return """
                # The seeds' story on the Dell R630 (vtd run)
                dmesg | grep -e DMAR -e IOMMU | grep -v Adding
                lspci -nn | grep Ethernet
                readlink /sys/bus/pci/devices/0000:01:00.3/iommu_group
                modprobe vfio_pci
                echo 0000:01:00.3 > /sys/bus/pci/drivers/igb/unbind
                echo "8086 1521" > /sys/bus/pci/drivers/vfio-pci/new_id
                lspci -s 01:00.3 -k
                virsh define /dev/stdin <<EOF
                %sEOF
                virsh start vm1
                virsh list
                virsh nodedev-detach pci_0000_01_00_2
                %s -monitor stdio
                (qemu) info pci
                (qemu) migrate tcp:10.0.0.2:4444
                (qemu) device_del nic0
                (qemu) info pci
                (qemu) quit
                virsh qemu-monitor-command vm1 --hmp 'info pci'
                virsh qemu-monitor-command vm1 --hmp 'migrate tcp:10.0.0.2:4444'
                virsh qemu-monitor-command vm1 --hmp 'device_del hostdev0'
                virsh destroy vm1
                virsh nodedev-reattach pci_0000_01_00_2
                lspci -s 01:00.2 -k
                """.formatted(VM1_XML, VM2_CMDLINE);
    }

    private void step(String title) {
        out.println();
        out.println("== " + title);
    }

    private void say(String line) {
        out.println("   " + line);
    }

    private void check(boolean ok, String what) {
        out.println((ok ? "   [ok]   " : "   [FAIL] ") + what);
        if (!ok) failures.add(what);
    }

    private static byte[] frame(int i, int len) {
        byte[] f = new byte[len];
        for (int k = 0; k < len; k++) f[k] = (byte) (i * 31 + k);
        f[0] = 0x02;                                   // locally administered unicast destination
        return f;
    }

    private void story() {
        try (Host host = Host.bootR630(); Vmm vmm = new Vmm(host)) {
            Machine m = host.machine();
            out.println("vtd demo: " + m.description());

            step("Host boot: the kernel's DMAR lines");
            List<String> dmar = host.log().grepMessages("DMAR");
            for (String l : dmar) say(l);
            check(dmar.stream().anyMatch(l -> l.contains("DRHD base: 0x000000c7ffc000 flags: 0x1")), "DRHD 0xc7ffc000 (INCLUDE_PCI_ALL)");
            check(dmar.stream().anyMatch(l -> l.contains("Enabled IRQ remapping")), "interrupt remapping enabled");

            step("lspci on the host");
            for (String l : host.lspci()) if (l.startsWith("01:")) say(l);
            PciFunction port3 = host.pci().find("01:00.3");
            PciFunction port2 = host.pci().find("01:00.2");
            int group = host.pci().group(port3);
            say("01:00.3: driver " + host.pci().driver(port3) + ", IOMMU group " + group + " " + host.pci().groupMembers(group)
                    .stream().map(PciFunction::address).toList());
            check("igb".equals(host.pci().driver(port3)), "01:00.3 is driven by igb");

            step("Unbind 01:00.3 from igb, bind vfio-pci");
            say("# echo 0000:01:00.3 > /sys/bus/pci/drivers/igb/unbind");
            host.pci().unbind(port3);
            say("# echo 0000:01:00.3 > /sys/bus/pci/drivers/vfio-pci/bind");
            host.pci().bind(port3, HostPci.VFIO_PCI);
            check(vmm.vfio().group(port3).viable(), "group " + group + " is viable (every member on vfio-pci)");

            step("virsh define vm1.xml; virsh start vm1 (hostdev 01:00.3 at guest 00:06.0)");
            for (String l : VM1_XML.strip().split("\n")) say(l);
            Virsh virsh = new Virsh(vmm, f -> VM1_XML);
            say(virsh.execute(List.of("define", "vm1.xml")));
            say(virsh.execute(List.of("start", "vm1")));
            VirtualMachine vm1 = virsh.running("vm1");
            for (String l : vm1.guest().lspci()) say("vm1$ lspci: " + l);
            check(vm1.guest().lspci().stream().anyMatch(l -> l.startsWith("00:06.0 Ethernet controller")), "vm1 sees the I350 at 00:06.0");
            GuestMemory.Slot low = vm1.memory().slots().getFirst();
            say(String.format("vm1 RAM: GPA 0x%x-0x%x is host 0x%x-0x%x", low.gpa(), low.gpa() + low.size() - 1, low.hpa(),
                    low.hpa() + low.size() - 1));
            check(low.hpa() != low.gpa() && low.hpa() >= (8L << 30), "guest memory is above 8 GiB, not identity-mapped");

            step("vm2 from the QEMU command line, with 01:00.2; ports 2 and 3 cabled together");
            say("# virsh nodedev-detach pci_0000_01_00_2");
            say(virsh.execute(List.of("nodedev-detach", "pci_0000_01_00_2")));
            say("# " + VM2_CMDLINE);
            Qemu.Started s2 = Qemu.start(vmm, QemuCommandLine.split(VM2_CMDLINE));
            VirtualMachine vm2 = s2.vm();
            I350Nic nic = m.device("i350", I350Nic.class);
            I350Nic.connect(nic.port(2), nic.port(3));
            check(vm2.guest().driver(IgbDriver.class) != null, "vm2's igb driver bound to its port at 00:05.0");

            step("vm2 sends; vm1's NIC receives by DMA into vm1's buffers (GPA -> HPA through its domain)");
            IgbDriver d1 = vm1.guest().driver(IgbDriver.class), d2 = vm2.guest().driver(IgbDriver.class);
            int n = 8, len = 1000;
            for (int i = 0; i < n; i++) d2.send(frame(i, len));
            vmm.run(1_000_000);
            boolean all = d1.received().size() == n;
            for (int i = 0; all && i < n; i++) all = Arrays.equals(d1.received().get(i), frame(i, len));
            long hpa = vm1.memory().gpaToHpa(d1.rxBuffers(), len);
            say(String.format("vm1 RX buffer 0: GPA 0x%x -> host 0x%x; %d frames received", d1.rxBuffers(), hpa, d1.received().size()));
            check(all, n + " frames arrived intact in vm1's receive buffers");
            check(Arrays.equals(m.memory().readBytes(hpa, len), frame(0, len)), "the data is in host memory at the translated address");

            step("The MSI-X interrupt, posted to vm1's vCPU 0");
            Machine.Unit unit = m.unitFor(port3);
            HostInterrupts.Table irt = host.interrupts().table(unit);
            Irte e = null;
            for (int i = 0; i < HostInterrupts.IRT_ENTRIES && e == null; i++) {
                Irte x = irt.get(i);
                if (x.present() && x.sid() == port3.dma().requesterId()) e = x;
            }
            if (e != null) for (Irte.Field f : e.fields()) say(String.format("IRTE %-5s %-14s %s", f.name(), f.bits(), f.value()));
            Vcpu c0 = vm1.vcpus().getFirst();
            long posted = c0.lapic().count(d1.vector(), true);
            say(String.format("vCPU 0 (host CPU %d): vector 0x%x posted %d times; driver took %d interrupts", c0.hostCpu(),
                    d1.vector(), posted, d1.interrupts()));
            long exits = vm1.exits().total(), injections = vm1.exits().injections();
            say(String.format("vm1: %d VM exits, %d injections; %d posted interrupts processed in guest mode", exits,
                    injections, c0.postedInGuest()));
            check(e != null && e.posted() && e.descriptorAddress() == c0.pidAddress(), "IRTE in posted format naming vCPU 0's descriptor");
            check(posted > 0 && d1.interrupts() > 0 && exits == 0 && injections == 0,
                    "the interrupt reached the guest driver without a VM exit (counted: " + exits + " exits)");

            step("A rogue receive buffer: vm1's driver points its NIC at a host address (vm2's memory)");
            long target = vm2.memory().gpaToHpa(d2.rxBuffers(), len);
            byte[] before = m.memory().readBytes(target, 64);
            long logMark = host.log().nextSequence();
            d1.pointNextRxBufferAt(target);
            d2.send(frame(99, len));
            vmm.run(1_000_000);
            List<String> faults = host.log().since(logMark).stream().map(x -> x.text()).filter(t -> t.contains("DMAR")).toList();
            for (String l : faults) say(l);
            check(Arrays.equals(before, m.memory().readBytes(target, 64)), "host memory at 0x" + Long.toHexString(target) + " untouched");
            check(faults.stream().anyMatch(l -> l.contains("Request device [01:00.3]")), "the fault was logged by the host kernel");

            step("vm2 carries on: vm1 sends, vm2 receives");
            for (int i = 0; i < 4; i++) d1.send(frame(40 + i, 512));
            vmm.run(1_000_000);
            boolean ok2 = d2.received().size() == 4;
            for (int i = 0; ok2 && i < 4; i++) ok2 = Arrays.equals(d2.received().get(i), frame(40 + i, 512));
            check(ok2 && vm2.running() && vm1.running(), "vm2 received vm1's 4 frames; both VMs running");

            step("Migration and hot-unplug through the monitor");
            String mig = virsh.execute(List.of("qemu-monitor-command", "vm1", "--hmp", "migrate tcp:10.0.0.2:4444"));
            say("(qemu) migrate tcp:10.0.0.2:4444 -> " + mig);
            check(mig.contains("non-migratable device '0000:00:06.0/vfio-pci'"), "migration refused while the device is assigned");
            int irtesBefore = irt.inUse();
            say("(qemu) device_del hostdev0");
            virsh.execute(List.of("qemu-monitor-command", "vm1", "--hmp", "device_del hostdev0"));
            check(vm1.guest().lspci().stream().noneMatch(l -> l.contains("I350")), "vm1's lspci no longer shows the NIC");
            check(irt.inUse() < irtesBefore, "its IRTEs were cleared");
            check(host.iommu().domainOf(host.kernelDevice(port3)) != vm1.container().domain(), "01:00.3 left vm1's domain");

            step("Summary");
            RemappingUnit.Stats st = unit.hardware().stats();
            InterruptRemappingUnit.Stats ir = unit.iommu().interruptRemapping().stats();
            say(String.format("DMA: %d requests, %d bytes read, %d bytes written, %d blocked", st.dmaRequests(), st.dmaReadBytes(),
                    st.dmaWriteBytes(), st.blockedRequests()));
            say(String.format("translations: %d page walks; IOTLB %d hits / %d misses (hit rate %.1f%%)", st.walks(),
                    st.iotlb().hits(), st.iotlb().misses(), 100 * st.iotlb().hitRate()));
            say(String.format("faults recorded: %d; interrupts: %d remapped, %d posted, %d notifications", st.faultsRecorded(),
                    ir.remapped(), ir.posted(), ir.notifications()));
            check(st.faultsRecorded() >= 1 && ir.posted() > 0, "counters agree with the story");
            for (Map.Entry<String, Long> x : host.iommu().irq().counts().entrySet()) say("/proc/interrupts " + x.getKey() + ": " + x.getValue());
        }
    }
}

package dev.vtd.vmm.perf;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.devices.NicEngine;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.emulated.E1000Function;
import dev.vtd.vmm.emulated.GuestDriverMemory;
import dev.vtd.vmm.emulated.VirtualIoApic;
import dev.vtd.vmm.exits.VmExits;
import dev.vtd.vmm.guest.E1000Driver;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.guest.VirtioNetDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import dev.vtd.vmm.virtio.VirtioNetPci;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

/**
 * The seeds' Figure 2 as a measurement: the same guest workload on the I/O paths a VMM can give a guest,
 * on the Dell R630 model. The workload is a loop-back round trip: the guest's driver transmits a frame, the
 * wire brings it straight back, the driver receives it; per packet both directions are counted.
 * <ul>
 * <li>{@link Path#EMULATED}: an e1000 the VMM emulates; every register access an MMIO exit, the VMM copies
 * each frame each way, interrupts injected through the guest's I/O APIC.</li>
 * <li>{@link Path#VIRTIO}: virtio-net with a vhost-like backend; notifications exit unless suppressed
 * (EVENT_IDX), one copy per packet each way, MSI-X interrupts injected.</li>
 * <li>{@link Path#ASSIGNED}: an I350 port assigned through vfio-pci; BAR accesses go straight to the device,
 * DMA through the remapping unit (GPA to HPA), interrupts posted (no exit: the vCPU is taken to be running in
 * guest mode).</li>
 * <li>{@link Path#NATIVE} and {@link Path#NATIVE_PT}: the host's own igb on the same port with DMA remapping
 * on (a DMA domain) and with {@code iommu=pt}: the reference.</li>
 * </ul>
 * The counts are exact; the time per packet is the model's own CPU time on this machine, not a real NIC's.
 */
public final class IoPaths {
    public enum Path {
        EMULATED("emulated e1000"), VIRTIO("virtio-net"), ASSIGNED("assigned I350"), NATIVE("native igb"),
        NATIVE_PT("native igb, iommu=pt");

        public final String label;

        Path(String label) {
            this.label = label;
        }

        /** The I350 model's receive buffers are 2 KiB with one descriptor per frame: no jumbo frames. */
        public int maxFrame() {
            return this == EMULATED || this == VIRTIO ? 9_216 : NicEngine.RX_BUFFER_SIZE;
        }
    }

    /** What one run counted; every field per packet except {@code packets} and {@code nanos}. */
    public record Result(Path path, int size, long packets, long nanos, long exits, long mmioExits, long kickExits,
                         long injections, long copies, long bytesCopied, long interrupts, long iotlbMisses) {
        public double perPacket(long v) {
            return packets == 0 ? 0 : (double) v / packets;
        }

        public double packetsPerSecond() {
            return nanos == 0 ? 0 : packets * 1e9 / nanos;
        }

        public double nanosPerPacket() {
            return packets == 0 ? 0 : (double) nanos / packets;
        }
    }

    public static final int BATCH = 8;
    static final String PORT = "01:00.3";

    private IoPaths() {
    }

    /** One path's world: booted, warmed, ready for round trips. */
    public interface Rig extends AutoCloseable {
        /** BATCH round trips of {@code frame}; returns the frames that came back intact. */
        int roundTrips(byte[] frame);

        long exits(VmExits.Reason r);

        long exits();

        long injections();

        long copies();

        long bytesCopied();

        long interrupts();

        long iotlbMisses();

        @Override
        void close();
    }

    public static Rig rig(Path p) {
        return switch (p) {
            case EMULATED -> new EmulatedRig();
            case VIRTIO -> new VirtioRig();
            case ASSIGNED -> new AssignedRig();
            case NATIVE -> new NativeRig("intel_iommu=on");
            case NATIVE_PT -> new NativeRig("intel_iommu=on iommu=pt");
        };
    }

    /** Runs {@code packets} round trips of {@code size}-byte frames (rounded up to whole batches) after a warm-up. */
    public static Result measure(Path p, int size, long packets) {
        if (size < 60 || size > p.maxFrame()) {
            throw new IllegalArgumentException("frame size " + size + " is outside 60.." + p.maxFrame() + " for " + p.label);
        }
        byte[] frame = new byte[size];
        for (int i = 0; i < size; i++) frame[i] = (byte) (i * 7 + 3);
        frame[0] = 0x02;                                    // a locally administered unicast address
        try (Rig r = rig(p)) {
            for (int i = 0; i < 4; i++) check(r.roundTrips(frame), p);
            long e0 = r.exits(), m0 = r.exits(VmExits.Reason.EPT_MISCONFIG), k0 = r.exits(VmExits.Reason.EXTERNAL_INTERRUPT),
                    j0 = r.injections(), c0 = r.copies(), b0 = r.bytesCopied(), i0 = r.interrupts(), t0 = r.iotlbMisses();
            long batches = Math.max(1, (packets + BATCH - 1) / BATCH);
            long start = System.nanoTime();
            for (long b = 0; b < batches; b++) check(r.roundTrips(frame), p);
            long nanos = System.nanoTime() - start;
            return new Result(p, size, batches * BATCH, nanos, r.exits() - e0, r.exits(VmExits.Reason.EPT_MISCONFIG) - m0,
                    r.exits(VmExits.Reason.EXTERNAL_INTERRUPT) - k0, r.injections() - j0, r.copies() - c0,
                    r.bytesCopied() - b0, r.interrupts() - i0, r.iotlbMisses() - t0);
        }
    }

    private static void check(int n, Path p) {
        if (n != BATCH) throw new IllegalStateException(p.label + ": " + n + " of " + BATCH + " frames came back intact");
    }

    static int matching(List<byte[]> got, byte[] frame) {
        int n = 0;
        for (byte[] g : got) if (Arrays.equals(g, frame)) n++;
        return n;
    }

    static long iotlbMisses(Machine m) {
        long n = 0;
        for (Machine.Unit u : m.units()) {
            RemappingUnit.Stats s = u.hardware().stats();
            n += s.iotlb().misses();
        }
        return n;
    }

    /** The VMM side of a looped-back host network: frames the device transmitted, delivered back afterwards. */
    abstract static class GuestRig implements Rig {
        final Host host = Host.bootR630();
        final Vmm vmm = new Vmm(host);
        final VirtualMachine vm = vmm.create(VirtualMachine.Config.of("bench", 1, 256L << 20));
        final ArrayDeque<byte[]> wire = new ArrayDeque<>();

        @Override public long exits(VmExits.Reason r) { return vm.exits().count(r); }
        @Override public long exits() { return vm.exits().total(); }
        @Override public long injections() { return vm.exits().injections(); }
        @Override public long iotlbMisses() { return IoPaths.iotlbMisses(host.machine()); }

        @Override
        public void close() {
            vmm.close();
            host.close();
        }
    }

    static final class EmulatedRig extends GuestRig {
        final E1000Function nic;
        final E1000Driver drv;

        EmulatedRig() {
            int devfn = 3 << 3;
            nic = new E1000Function("net0", new GuestDriverMemory(vm.memory()), wire::add,
                    () -> vm.ioapic().assert_(VirtualIoApic.gsiOf(devfn, 1)));
            vm.addEmulated(devfn, nic);
            vm.start();
            drv = vm.guest().driver(E1000Driver.class);
            if (drv == null) throw new IllegalStateException("guest e1000 did not bind");
        }

        @Override
        public int roundTrips(byte[] frame) {
            for (int i = 0; i < BATCH; i++) {
                drv.send(frame);
                vm.guest().handleInterrupts();
            }
            for (byte[] f; (f = wire.poll()) != null; ) {
                nic.nic().receive(f);                          // the VMM's I/O thread
                vm.guest().handleInterrupts();
            }
            return matching(drv.takeReceived(), frame);
        }

        @Override public long copies() { return nic.nic().copies(); }
        @Override public long bytesCopied() { return nic.nic().bytesCopied(); }
        @Override public long interrupts() { return drv.interrupts(); }
    }

    static final class VirtioRig extends GuestRig {
        final VirtioNetPci nic;
        final VirtioNetDriver drv;

        VirtioRig() {
            nic = new VirtioNetPci("net0", new GuestDriverMemory(vm.memory()), wire::add,
                    (addr, data) -> vm.inject((int) (addr >>> 12) & 0xFF, data & 0xFF), () -> { });
            vm.addEmulated(4 << 3, nic);
            vm.start();
            drv = vm.guest().driver(VirtioNetDriver.class);
            if (drv == null || drv.failure() != null) throw new IllegalStateException("guest virtio-net did not bind");
        }

        @Override
        public int roundTrips(byte[] frame) {
            for (int i = 0; i < BATCH; i++) {
                drv.send(frame);
                vm.guest().handleInterrupts();
            }
            for (byte[] f; (f = wire.poll()) != null; ) {
                nic.receive(f);
                vm.guest().handleInterrupts();
            }
            return matching(drv.takeReceived(), frame);
        }

        @Override public long copies() { return nic.backend().copies(); }
        @Override public long bytesCopied() { return nic.backend().bytesCopied(); }
        @Override public long interrupts() { return drv.interrupts(); }
    }

    static final class AssignedRig implements Rig {
        final Host host = Host.bootR630();
        final Vmm vmm = new Vmm(host);
        final VirtualMachine vm;
        final IgbDriver drv;

        AssignedRig() {
            host.machine().device("i350", I350Nic.class).port(3).loopback();
            PciFunction f = host.pci().find(PORT);
            host.pci().unbind(f);
            host.pci().bind(f, HostPci.VFIO_PCI);
            vm = vmm.create(VirtualMachine.Config.of("bench", 1, 256L << 20));
            vm.assign(DeviceRequest.vfio(PORT).at(4, 0));
            vm.start();
            drv = vm.guest().driver(IgbDriver.class);
            if (drv == null) throw new IllegalStateException("guest igb did not bind");
        }

        @Override
        public int roundTrips(byte[] frame) {
            for (int i = 0; i < BATCH; i++) drv.send(frame);
            vmm.run(BATCH * NicEngine.TX_LATENCY_NS);
            return matching(drv.takeReceived(), frame);
        }

        @Override public long exits(VmExits.Reason r) { return vm.exits().count(r); }
        @Override public long exits() { return vm.exits().total(); }
        @Override public long injections() { return vm.exits().injections(); }
        @Override public long copies() { return 0; }                    // the device moves the data by DMA
        @Override public long bytesCopied() { return 0; }
        @Override public long interrupts() { return drv.interrupts(); }
        @Override public long iotlbMisses() { return IoPaths.iotlbMisses(host.machine()); }

        @Override
        public void close() {
            vmm.close();
            host.close();
        }
    }

    static final class NativeRig implements Rig {
        final Host host;
        final dev.vtd.kernel.drivers.IgbDriver.Adapter igb;

        NativeRig(String cmdline) {
            host = Host.boot(Presets.r630().build(), cmdline);
            host.machine().device("i350", I350Nic.class).port(3).loopback();
            igb = host.kernel().igb(PORT);
        }

        @Override
        public int roundTrips(byte[] frame) {
            for (int i = 0; i < BATCH; i++) igb.transmit(frame);
            host.run(BATCH * NicEngine.TX_LATENCY_NS);
            return matching(igb.takeReceived(), frame);
        }

        @Override public long exits(VmExits.Reason r) { return 0; }
        @Override public long exits() { return 0; }
        @Override public long injections() { return 0; }
        @Override public long copies() { return 0; }
        @Override public long bytesCopied() { return 0; }
        @Override public long interrupts() { return igb.interrupts(); }
        @Override public long iotlbMisses() { return IoPaths.iotlbMisses(host.machine()); }

        @Override
        public void close() {
            host.close();
        }
    }
}

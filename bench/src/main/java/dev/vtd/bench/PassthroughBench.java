package dev.vtd.bench;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.drivers.IgbDriver;
import dev.vtd.kernel.iommu.Domain;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.devices.NicEngine;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Packets per second through an I350 port on a looped-back wire, on the Dell R630 model (each packet: TX
 * descriptor and buffer read by DMA, RX buffer and descriptor written by DMA, the queue's MSI-X interrupt, the
 * driver recycling the descriptor):
 * <ul>
 * <li>{@code passthrough}: the port assigned to a VM through vfio-pci; the guest igb programs guest-physical
 * addresses and every DMA is translated by the remapping unit through the VM's domain (GPA -> HPA), interrupts
 * go through posted IRTEs.</li>
 * <li>{@code hostPt}: the host booted with {@code intel_iommu=on iommu=pt}; the host igb drives the port in the
 * identity domain (pass-through context entries, no page walk).</li>
 * </ul>
 * Run both in one invocation ({@code PassthroughBench}) and compare: the ratio is the cost of translation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PassthroughBench {
    static final int BATCH = 8;
    static final String PORT = "01:00.3";

    @Param({"passthrough", "hostPt"})
    public String path;

    private Host host;
    private Vmm vmm;
    private dev.vtd.vmm.guest.IgbDriver guest;
    private IgbDriver.Adapter hostIgb;
    private final byte[] frame = new byte[256];

    @Setup(Level.Trial)
    public void boot() {
        for (int i = 0; i < frame.length; i++) frame[i] = (byte) (i * 7);
        frame[0] = 0x02;                                   // a unicast MAC no VF owns
        if (path.equals("passthrough")) {
            host = Host.bootR630();
            loopback();
            vmm = new Vmm(host);
            PciFunction f = host.pci().find(PORT);
            host.pci().unbind(f);
            host.pci().bind(f, HostPci.VFIO_PCI);
            VirtualMachine vm = vmm.create(VirtualMachine.Config.of("bench", 1, 1L << 30));
            vm.assign(DeviceRequest.vfio(PORT).at(4, 0));
            vm.start();
            guest = vm.guest().driver(dev.vtd.vmm.guest.IgbDriver.class);
            if (guest == null) throw new IllegalStateException("guest igb did not bind");
        } else {
            host = Host.boot(Presets.r630().build(), "intel_iommu=on iommu=pt");
            loopback();
            hostIgb = host.kernel().igb(PORT);
            Domain d = host.iommu().domainOf(hostIgb.device().iommuDev());
            if (d == null || d.type() != Domain.Type.IDENTITY) throw new IllegalStateException("not identity: " + d);
        }
    }

    private void loopback() {
        host.machine().device("i350", I350Nic.class).port(3).loopback();
    }

    @TearDown(Level.Trial)
    public void close() {
        if (vmm != null) vmm.close();
        host.close();
    }

    /** BATCH frames out and back in; returns the number received (all of them). */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int packets() {
        if (guest != null) {
            for (int i = 0; i < BATCH; i++) guest.send(frame);
            vmm.run(BATCH * NicEngine.TX_LATENCY_NS);
            return checked(guest.takeReceived().size());
        }
        for (int i = 0; i < BATCH; i++) hostIgb.transmit(frame);
        host.run(BATCH * NicEngine.TX_LATENCY_NS);
        return checked(hostIgb.takeReceived().size());
    }

    private static int checked(int n) {
        if (n != BATCH) throw new IllegalStateException("received " + n + " of " + BATCH);
        return n;
    }
}

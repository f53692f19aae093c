package dev.vtd.platform.devices;

import dev.vtd.platform.bus.PortIoDevice;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.pci.AcsCapability;
import dev.vtd.platform.pci.AriCapability;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PcieCapability;
import dev.vtd.platform.pci.PowerManagementCapability;
import dev.vtd.platform.pci.SerialNumberCapability;
import dev.vtd.platform.pci.SriovCapability;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An Intel I350 Gigabit Ethernet controller (8086:1521, class 02/00/00, revision 01): one PCIe
 * function per port of a multi-function device (attach {@link #functions()} as functions 0..n-1).
 * Each PF has the I350 layout: BAR0 1 MiB registers, BAR2 32 bytes I/O (IOADDR/IODATA window onto
 * the registers), BAR3 16 KiB MSI-X table (offset 0) and PBA (0x2000); PM at 0x40, MSI at 0x50
 * (64-bit, per-vector mask), MSI-X at 0x70 (10 vectors), PCIe endpoint at 0xA0 (FLR). Extended:
 * serial number at 0x100, ARI 0x150, SR-IOV 0x160 (8 VFs, device 1520, First VF Offset 0x180,
 * VF Stride 4 — what a real I350 reports; Linux's igb enables at most 7), ACS at 0x1D0 if asked.
 *
 * <p>Queues, rings and DMA are the {@link NicEngine}'s (8 queue pairs per PF, 1 per VF, vector n
 * for queue n). Each port has a wire: loopback or a cable to another port. A received frame goes to
 * the VF whose receive address (RAL0/RAH0 with AV) matches its destination MAC, else to the PF,
 * queue 0.
 */
public final class I350Nic {
    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x1521;
    public static final int VF_DEVICE_ID = 0x1520;
    public static final int CLASS_CODE = 0x020000;
    public static final int REVISION = 0x01;
    public static final int PF_QUEUES = 8;
    public static final int PF_MSIX_VECTORS = 10;
    public static final int VF_MSIX_VECTORS = 3;
    public static final int TOTAL_VFS = 8;
    public static final int FIRST_VF_OFFSET = 0x180;
    public static final int VF_STRIDE = 4;
    public static final long BAR0_SIZE = 1 << 20;
    public static final int BAR2_SIZE = 32;
    public static final long BAR3_SIZE = 16 << 10;
    public static final long VF_BAR_SIZE = 16 << 10;
    public static final long MSIX_PBA_OFFSET = 0x2000;
    public static final int IOADDR = 0x0;
    public static final int IODATA = 0x4;

    /** One port: its PF, queue engine, VFs and wire. */
    public final class Port {
        private final int index;
        private final PciFunction pf;
        private final NicEngine engine;
        private final Map<Integer, NicEngine> vfEngines = new ConcurrentHashMap<>();
        private volatile Port peer;
        private int ioAddr;

        Port(String name, int index, int ports, PciIds ids, boolean acs) {
            this.index = index;
            pf = new PciFunction(name + "." + index, ids, true);
            engine = new NicEngine(pf, clock, PF_QUEUES, this::transmit);
            pf.addMemoryBar(0, BAR0_SIZE, false, false, engine.registers(BAR0_SIZE));
            pf.addIoBar(2, BAR2_SIZE, new IoWindow());
            pf.addMemoryBar(3, BAR3_SIZE, false, false, null);
            pf.addCapability(new PowerManagementCapability(), 0x40);
            pf.addCapability(new MsiCapability(1, true, true), 0x50);
            pf.addCapability(new MsixCapability(PF_MSIX_VECTORS, 3, 0, 3, MSIX_PBA_OFFSET), 0x70);
            pf.addCapability(new PcieCapability(PcieCapability.TYPE_ENDPOINT).withFlr().withLink(2, 4), 0xA0);
            pf.addCapability(new SerialNumberCapability(0x6cb311ffff000000L | index), 0x100);
            pf.addCapability(new AriCapability(index + 1 < ports ? index + 1 : 0), 0x150);
            SriovCapability sriov = new SriovCapability(TOTAL_VFS, TOTAL_VFS, FIRST_VF_OFFSET, VF_STRIDE, VF_DEVICE_ID,
                    new SriovCapability.VfListener() {
                        @Override
                        public void vfCreated(int vf, PciFunction f) {
                            NicEngine e = new NicEngine(f, clock, 1, Port.this::transmit, true);
                            e.assignMac(vfMac(vf));
                            f.setBarHandler(0, e.registers(VF_BAR_SIZE));
                            f.addCapability(new MsixCapability(VF_MSIX_VECTORS, 3, 0, 3, MSIX_PBA_OFFSET), 0x70);
                            f.addCapability(new PcieCapability(PcieCapability.TYPE_ENDPOINT).withFlr(), 0xA0);
                            f.setResetHandler(e::reset);
                            vfEngines.put(vf, e);
                        }

                        @Override
                        public void vfRemoved(int vf, PciFunction f) {
                            vfEngines.remove(vf);
                        }
                    })
                    .vfMemoryBar(0, VF_BAR_SIZE, true, true)
                    .vfMemoryBar(3, VF_BAR_SIZE, true, true);
            pf.addCapability(sriov, 0x160);
            if (acs) pf.addCapability(new AcsCapability(AcsCapability.LINUX_ISOLATION), 0x1D0);
            pf.setInterruptPin(1 + index % 4);
            pf.setResetHandler(engine::reset);
        }

        public int index() {
            return index;
        }

        /** The locally administered MAC the PF gives VF {@code vf} of this port: 02:00:00:00:PP:VV. */
        public long vfMac(int vf) {
            return 0x02L | ((long) index << 32) | ((long) vf << 40);
        }

        public PciFunction function() {
            return pf;
        }

        /** Connects this port's wire to itself (external loopback plug). */
        public void loopback() {
            peer = this;
        }

        public void disconnect() {
            Port p = peer;
            peer = null;
            if (p != null && p != this && p.peer == this) p.peer = null;
        }

        private void transmit(byte[] frame) {
            Port p = peer;
            if (p != null) p.receiveFromWire(frame);
        }

        private void receiveFromWire(byte[] frame) {
            long dst = frame.length >= 6 ? macOf(frame) : -1;
            for (NicEngine e : vfEngines.values()) {
                if (dst >= 0 && e.mac() == dst) {
                    e.receive(0, frame);
                    return;
                }
            }
            engine.receive(0, frame);
        }

        public long rxPackets() { return engine.rxPackets(); }
        public long txPackets() { return engine.txPackets(); }
        public long rxBytes() { return engine.rxBytes(); }
        public long txBytes() { return engine.txBytes(); }
        /** Frames dropped for lack of receive descriptors (or a disabled receiver). */
        public long missedPackets() { return engine.missedPackets(); }
        public long dmaErrors() { return engine.dmaErrors(); }

        /** Receive counters of VF {@code vf}, or -1 if it does not exist. */
        public long vfRxPackets(int vf) {
            NicEngine e = vfEngines.get(vf);
            return e == null ? -1 : e.rxPackets();
        }

        /** DMA errors of VF {@code vf} (requests the IOMMU or memory refused), or -1 if it does not exist. */
        public long vfDmaErrors(int vf) {
            NicEngine e = vfEngines.get(vf);
            return e == null ? -1 : e.dmaErrors();
        }

        /** The IOADDR/IODATA window of BAR2 (indirect register access). */
        private final class IoWindow implements PortIoDevice {
            @Override
            public long in(int port, int size) {
                int off = port & (BAR2_SIZE - 1);
                if (size != 4) return (1L << (8 * size)) - 1;
                if (off == IOADDR) return ioAddr & 0xFFFF_FFFFL;
                if (off == IODATA) return engine.registers(BAR0_SIZE).read(ioAddr & 0x7FFFC, 4);
                return 0xFFFF_FFFFL;
            }

            @Override
            public void out(int port, int size, long value) {
                int off = port & (BAR2_SIZE - 1);
                if (size != 4) return;
                if (off == IOADDR) ioAddr = (int) value & 0x7FFFC;
                else if (off == IODATA) engine.writeReg(ioAddr & 0x7FFFC, (int) value);
            }
        }
    }

    private final VirtualClock clock;
    private final List<Port> ports = new ArrayList<>();

    /** A card with {@code portCount} (1..4) ports; {@code acs} adds the ACS capability. */
    public I350Nic(String name, VirtualClock clock, int portCount, int subsystemVendor, int subsystemId, boolean acs) {
        if (portCount < 1 || portCount > 4) throw new IllegalArgumentException("I350 ports " + portCount);
        this.clock = clock;
        PciIds ids = new PciIds(VENDOR_ID, DEVICE_ID, CLASS_CODE, REVISION, subsystemVendor, subsystemId);
        for (int i = 0; i < portCount; i++) ports.add(new Port(name, i, portCount, ids, acs));
    }

    /** A 4-port I350-T4 (subsystem 8086:0001). */
    public I350Nic(String name, VirtualClock clock) {
        this(name, clock, 4, 0x8086, 0x0001, true);
    }

    public Port port(int i) {
        return ports.get(i);
    }

    public List<Port> ports() {
        return List.copyOf(ports);
    }

    /** The PFs in function-number order, for {@code bus.addDevice(device, nic.functions())}. */
    public List<PciFunction> functions() {
        return ports.stream().map(Port::function).toList();
    }

    /** Cables two ports (of this or another card) together. */
    public static void connect(Port a, Port b) {
        a.disconnect();
        b.disconnect();
        a.peer = b;
        b.peer = a;
    }

    static long macOf(byte[] frame) {
        long v = 0;
        for (int i = 5; i >= 0; i--) v = (v << 8) | (frame[i] & 0xFF);
        return v;
    }
}

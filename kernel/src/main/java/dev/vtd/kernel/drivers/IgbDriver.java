package dev.vtd.kernel.drivers;

import dev.vtd.kernel.dma.CoherentBuffer;
import dev.vtd.kernel.dma.DmaDirection;
import dev.vtd.kernel.dma.DmaOps;
import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.IrqRemapping;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.devices.NicEngine;
import dev.vtd.platform.pci.Bar;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;

import java.util.ArrayList;
import java.util.List;

/**
 * The host NIC driver for the I350 (Linux's igb, reduced to one queue pair): it enables the function, takes its
 * DMA through the DMA API (descriptor rings from dma_alloc_coherent, packet buffers mapped with dma_map_single,
 * so with an IOMMU in a DMA domain every access the NIC makes is translated), and its interrupt through MSI-X
 * vector 0, programmed with a remappable-format message naming an IRTE when interrupt remapping is on.
 */
public final class IgbDriver implements PciDriver {
    public static final String NAME = "igb";
    public static final int RING_SIZE = 16;
    static final int BUFFER_SIZE = NicEngine.RX_BUFFER_SIZE;
    private int nextIfIndex;

    @Override public String name() { return NAME; }
    @Override public String module() { return "igb"; }

    @Override
    public List<DeviceId> idTable() {
        return List.of(DeviceId.of(I350Nic.VENDOR_ID, I350Nic.DEVICE_ID));
    }

    /** One bound port: its rings, buffers and interrupt. */
    public final class Adapter {
        private final PciDevice dev;
        private final PciCore core;
        private final String ifname;
        private final long bar0;
        private final DmaOps dma;
        private final CoherentBuffer txRing, rxRing;
        private final long[] rxPages = new long[RING_SIZE];
        private final long[] rxDma = new long[RING_SIZE];
        private final long[] txPages = new long[RING_SIZE];
        private final long[] txDma = new long[RING_SIZE];
        private final int[] txLen = new int[RING_SIZE];
        private int txTail, txClean, rxNext;
        private int vector = -1, irte = -1;
        private IntelIommu irUnit;
        private long interrupts, txDone;
        private final List<byte[]> received = new ArrayList<>();

        private Adapter(PciDevice dev, PciCore core, String ifname, long bar0) {
            this.dev = dev;
            this.core = core;
            this.ifname = ifname;
            this.bar0 = bar0;
            IommuSubsystem iommu = core.kernel().iommu();
            this.dma = iommu == null ? null : DmaOps.of(iommu, dev.iommuDev());
            this.txRing = allocCoherent(RING_SIZE * NicEngine.DESC_SIZE);
            this.rxRing = allocCoherent(RING_SIZE * NicEngine.DESC_SIZE);
        }

        public String ifname() { return ifname; }
        public PciDevice device() { return dev; }
        public CoherentBuffer txRing() { return txRing; }
        public CoherentBuffer rxRing() { return rxRing; }
        /** The kernel vector of the queue interrupt. */
        public int vector() { return vector; }
        /** The IRTE index the MSI-X message names, or -1 without interrupt remapping. */
        public int irte() { return irte; }
        public long interrupts() { return interrupts; }
        /** Frames transmitted and reclaimed. */
        public long txCompleted() { return txDone; }
        /** Where RX buffer i lives in host memory and the DMA address the NIC was given for it. */
        public long rxBufferPhys(int i) { return rxPages[i]; }
        public long rxBufferDma(int i) { return rxDma[i]; }

        private CoherentBuffer allocCoherent(long size) {
            if (dma != null) return dma.allocCoherent(size);
            long pa = core.kernel().pages().allocPage();
            return new CoherentBuffer(pa, pa, PageAllocator.PAGE);
        }

        private long map(long pa, long len, DmaDirection dir) {
            return dma == null ? pa : dma.mapSingle(pa, len, dir);
        }

        private void unmap(long addr, long len, DmaDirection dir) {
            if (dma != null) dma.unmapSingle(addr, len, dir);
        }

        private SystemBus bus() { return core.kernel().machine().bus(); }

        private void w32(int reg, long v) { bus().write(bar0 + reg, 4, v & 0xFFFF_FFFFL); }

        private void up() {
            var mem = core.kernel().machine().memory();
            for (int i = 0; i < RING_SIZE; i++) {
                rxPages[i] = core.kernel().pages().allocPage();
                rxDma[i] = map(rxPages[i], BUFFER_SIZE, DmaDirection.FROM_DEVICE);
                mem.write64(rxRing.cpuAddress() + (long) i * NicEngine.DESC_SIZE, rxDma[i]);
                mem.write64(rxRing.cpuAddress() + (long) i * NicEngine.DESC_SIZE + 8, 0);
                txPages[i] = core.kernel().pages().allocPage();
                txDma[i] = -1;
            }
            int tx = NicEngine.TX_QUEUE_BASE, rx = NicEngine.RX_QUEUE_BASE;
            w32(tx + NicEngine.Q_BAL, txRing.dmaAddress());
            w32(tx + NicEngine.Q_BAH, txRing.dmaAddress() >>> 32);
            w32(tx + NicEngine.Q_LEN, RING_SIZE * NicEngine.DESC_SIZE);
            w32(tx + NicEngine.Q_DCTL, NicEngine.DCTL_ENABLE);
            w32(rx + NicEngine.Q_BAL, rxRing.dmaAddress());
            w32(rx + NicEngine.Q_BAH, rxRing.dmaAddress() >>> 32);
            w32(rx + NicEngine.Q_LEN, RING_SIZE * NicEngine.DESC_SIZE);
            w32(rx + NicEngine.Q_DCTL, NicEngine.DCTL_ENABLE);
            w32(rx + NicEngine.Q_TAIL, RING_SIZE - 1);
            w32(NicEngine.RCTL, NicEngine.RCTL_EN);
            w32(NicEngine.TCTL, NicEngine.TCTL_EN);
            w32(NicEngine.EIMS, 1);
        }

        /** Requests the queue vector and programs MSI-X entry 0 (remappable format when remapping is on). */
        private void setupInterrupt() {
            KernelIrq irq = core.kernel().irq();
            vector = irq.requestIrq(ifname + "-TxRx-0", this::interrupt);
            PciFunction f = dev.function();
            MsixCapability x = f.msix();
            long entry = msixTable(f);
            long address = irq.msiAddress();
            int data = KernelIrq.msiData(vector);
            IommuSubsystem iommu = core.kernel().iommu();
            IrqRemapping ir = iommu == null ? null : iommu.irqRemapping();
            IntelIommu unit = ir == null ? null : iommu.unitFor(dev.iommuDev());
            if (unit != null && ir.covers(unit)) {
                irte = ir.allocate(unit, 1);
                irUnit = unit;
                List<Integer> rids = dev.iommuDev().requesterIds();
                ir.program(unit, irte, ir.remappedEntry(vector, 0, rids.getLast()));
                address = IrqRemapping.msiAddress(irte);
                data = 0;
            }
            bus().write(entry + MsixCapability.ENTRY_ADDR_LO, 4, address & 0xFFFF_FFFFL);
            bus().write(entry + MsixCapability.ENTRY_ADDR_HI, 4, address >>> 32);
            bus().write(entry + MsixCapability.ENTRY_DATA, 4, data & 0xFFFF_FFFFL);
            bus().write(entry + 12, 4, 0);
            f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        }

        /** The queue interrupt: reclaim transmitted buffers and collect received frames. */
        private void interrupt() {
            interrupts++;
            clean();
        }

        private void clean() {
            var mem = core.kernel().machine().memory();
            while (txClean != txTail) {
                long d = txRing.cpuAddress() + (long) txClean * NicEngine.DESC_SIZE;
                if ((mem.read64(d + 8) >>> 32 & NicEngine.DESC_STA_DD) == 0) break;
                if (txDma[txClean] >= 0) unmap(txDma[txClean], txLen[txClean], DmaDirection.TO_DEVICE);
                txDma[txClean] = -1;
                txClean = (txClean + 1) % RING_SIZE;
                txDone++;
            }
            while (true) {
                long d = rxRing.cpuAddress() + (long) rxNext * NicEngine.DESC_SIZE;
                long status = mem.read64(d + 8);
                if ((status >>> 32 & NicEngine.DESC_STA_DD) == 0) break;
                int len = (int) (status & 0xFFFF);
                unmap(rxDma[rxNext], BUFFER_SIZE, DmaDirection.FROM_DEVICE);
                received.add(mem.readBytes(rxPages[rxNext], Math.min(len, BUFFER_SIZE)));
                rxDma[rxNext] = map(rxPages[rxNext], BUFFER_SIZE, DmaDirection.FROM_DEVICE);
                mem.write64(d, rxDma[rxNext]);
                mem.write64(d + 8, 0);
                w32(NicEngine.RX_QUEUE_BASE + NicEngine.Q_TAIL, rxNext);
                rxNext = (rxNext + 1) % RING_SIZE;
            }
        }

        /**
         * Queues one frame (at most one buffer): copies it into a TX buffer, maps the buffer for the device and
         * rings the doorbell. Returns false when the ring is full.
         */
        public boolean transmit(byte[] frame) {
            if (frame.length == 0 || frame.length > BUFFER_SIZE) {
                throw Errno.EINVAL.exception(ifname + ": frame of " + frame.length + " bytes");
            }
            if ((txTail + 1) % RING_SIZE == txClean) return false;
            var mem = core.kernel().machine().memory();
            int i = txTail;
            mem.writeBytes(txPages[i], frame);
            txDma[i] = map(txPages[i], frame.length, DmaDirection.TO_DEVICE);
            txLen[i] = frame.length;
            long d = txRing.cpuAddress() + (long) i * NicEngine.DESC_SIZE;
            mem.write64(d, txDma[i]);
            mem.write64(d + 8, frame.length | (long) (NicEngine.TX_CMD_EOP | NicEngine.TX_CMD_RS) << 24);
            txTail = (txTail + 1) % RING_SIZE;
            w32(NicEngine.TX_QUEUE_BASE + NicEngine.Q_TAIL, txTail);
            return true;
        }

        /** Frames received since the last call. */
        public List<byte[]> takeReceived() {
            clean();
            List<byte[]> out = List.copyOf(received);
            received.clear();
            return out;
        }

        /**
         * Writes a TX descriptor pointing at a DMA address the driver never mapped (a driver bug or an attacker's
         * descriptor): with the IOMMU translating, the NIC's read faults instead of reaching memory.
         */
        public void transmitUnmapped(long dmaAddress, int length) {
            var mem = core.kernel().machine().memory();
            int i = txTail;
            txDma[i] = -1;
            long d = txRing.cpuAddress() + (long) i * NicEngine.DESC_SIZE;
            mem.write64(d, dmaAddress);
            mem.write64(d + 8, (length & 0xFFFF) | (long) (NicEngine.TX_CMD_EOP | NicEngine.TX_CMD_RS) << 24);
            txLen[i] = 0;
            txTail = (txTail + 1) % RING_SIZE;
            w32(NicEngine.TX_QUEUE_BASE + NicEngine.Q_TAIL, txTail);
        }

        private void down() {
            w32(NicEngine.RCTL, 0);
            w32(NicEngine.TCTL, 0);
            w32(NicEngine.EIMC, -1);
            w32(NicEngine.TX_QUEUE_BASE + NicEngine.Q_DCTL, 0);
            w32(NicEngine.RX_QUEUE_BASE + NicEngine.Q_DCTL, 0);
            PciFunction f = dev.function();
            f.configWrite(f.msix().offset() + MsixCapability.CONTROL, 2, 0);
            if (irte >= 0) core.kernel().iommu().irqRemapping().free(irUnit, irte, 1);
            for (int i = 0; i < RING_SIZE; i++) {
                unmap(rxDma[i], BUFFER_SIZE, DmaDirection.FROM_DEVICE);
                if (txDma[i] >= 0) unmap(txDma[i], txLen[i], DmaDirection.TO_DEVICE);
                core.kernel().pages().freePage(rxPages[i]);
                core.kernel().pages().freePage(txPages[i]);
            }
            if (dma != null) {
                dma.freeCoherent(txRing);
                dma.freeCoherent(rxRing);
            } else {
                core.kernel().pages().freePage(txRing.cpuAddress());
                core.kernel().pages().freePage(rxRing.cpuAddress());
            }
            int cmd = f.configRead(PciRegs.COMMAND, 2);
            f.configWrite(PciRegs.COMMAND, 2, cmd & ~PciRegs.CMD_BUS_MASTER);
        }
    }

    @Override
    public int probe(PciDevice dev, PciCore core) {
        PciFunction f = dev.function();
        Bar bar0 = f.bar(0);
        if (bar0 == null || bar0.address() == 0 || f.msix() == null || msixTable(f) <= 0) {
            return -Errno.ENODEV.number;
        }
        int cmd = f.configRead(PciRegs.COMMAND, 2);
        f.configWrite(PciRegs.COMMAND, 2, cmd | PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
        String ifname = "eth" + nextIfIndex++;
        Adapter a;
        try {
            a = new Adapter(dev, core, ifname, bar0.address());
            a.up();
            a.setupInterrupt();
        } catch (RuntimeException e) {
            f.configWrite(PciRegs.COMMAND, 2, cmd);
            return -Errno.ENOMEM.number;
        }
        dev.setDriverData(a);
        var log = core.kernel().log();
        String p = "igb " + dev.name() + ": ";
        log.info(p + "added PHC on " + ifname);
        log.info(p + "Intel(R) Gigabit Ethernet Network Connection");
        log.info(p + ifname + ": (PCIe:5.0Gb/s:Width x4) " + mac(dev));
        log.info(p + ifname + ": PBA No: G61346-000");
        log.info(p + "Using MSI-X interrupts. 1 rx queue(s), 1 tx queue(s)");
        return 0;
    }

    /** Where MSI-X table entry 0 is: the Table BIR's BAR plus the table offset (PCI 3.0, 6.8.2.4); -1 if unassigned. */
    static long msixTable(PciFunction f) {
        int t = f.configRead(f.msix().offset() + MsixCapability.TABLE, 4);
        Bar b = f.bar(t & 7);
        if (b == null || b.address() == 0) return -1;
        return b.address() + (t & ~7L & 0xFFFF_FFFFL);
    }

    static String mac(PciDevice dev) {
        return String.format("ec:f4:bb:d8:%02x:%02x", dev.function().bus() == null ? 0 : dev.function().bus().number(),
                0x40 + dev.function().functionNumber());
    }

    @Override
    public void remove(PciDevice dev, PciCore core) {
        if (dev.driverData() instanceof Adapter a) a.down();
    }
}

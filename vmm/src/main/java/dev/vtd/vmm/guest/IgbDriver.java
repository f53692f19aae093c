package dev.vtd.vmm.guest;

import dev.vtd.platform.devices.NicEngine;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciRegs;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest's igb driver for an assigned I350 port: one transmit and one receive ring of legacy descriptors in
 * guest memory, programmed with guest-physical addresses (the IOMMU translates them), and MSI-X vector 0 aimed at
 * the boot vCPU for queue 0. Received frames are collected on the interrupt and their buffers given back.
 *
 * <p>In VF mode (igbvf, for an assigned I350 virtual function 8086:1520) the same rings are programmed at the VF
 * register layout (queue 0 at {@link NicEngine#VF_RX_QUEUE_BASE} / {@link NicEngine#VF_TX_QUEUE_BASE}), and the
 * receiver and transmitter enables are left to the PF, which owns them.
 */
public final class IgbDriver implements GuestDriver {
    public static final int RING = 16;
    public static final int BUF = NicEngine.RX_BUFFER_SIZE;

    private final GuestKernel k;
    private final int devfn;
    private final boolean vf;
    private final int rxBase, txBase;
    private long bar0;
    private long txRing, rxRing, txBufs, rxBufs;
    private int txTail, rxNext;
    private int vector = -1;
    private long interrupts, rxErrors;
    private final List<byte[]> received = new ArrayList<>();
    private boolean up;

    IgbDriver(GuestKernel k, int devfn, boolean vf) {
        this.k = k;
        this.devfn = devfn;
        this.vf = vf;
        this.rxBase = vf ? NicEngine.VF_RX_QUEUE_BASE : NicEngine.RX_QUEUE_BASE;
        this.txBase = vf ? NicEngine.VF_TX_QUEUE_BASE : NicEngine.TX_QUEUE_BASE;
    }

    @Override public String name() { return vf ? "igbvf" : "igb"; }

    public boolean virtualFunction() { return vf; }

    @Override
    public void probe() {
        bar0 = k.barAddress(devfn, 0);
        txRing = k.allocPages(1);
        rxRing = k.allocPages(1);
        txBufs = k.allocPages(RING * BUF / 4096);
        rxBufs = k.allocPages(RING * BUF / 4096);
        int msix = k.findCapability(devfn, PciRegs.CAP_ID_MSIX);
        if (msix >= 0) {
            int table = k.cfgRead(devfn, msix + MsixCapability.TABLE, 4);
            long entry = k.barAddress(devfn, table & 7) + (table & ~7L & 0xFFFF_FFFFL);
            vector = k.allocVector(this);
            k.writel(entry + MsixCapability.ENTRY_ADDR_LO, 0xFEE0_0000L | ((long) k.bootCpu().apicId() << 12));
            k.writel(entry + MsixCapability.ENTRY_ADDR_HI, 0);
            k.writel(entry + MsixCapability.ENTRY_DATA, vector);
            k.writel(entry + MsixCapability.ENTRY_VECTOR_CONTROL, 0);
            k.cfgWrite(devfn, msix + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        }
        for (int i = 0; i < RING; i++) {
            k.memory().write64(rxRing + 16L * i, rxBufs + (long) i * BUF);
            k.memory().write64(rxRing + 16L * i + 8, 0);
        }
        reg(txBase + NicEngine.Q_BAL, txRing);
        reg(txBase + NicEngine.Q_BAH, txRing >>> 32);
        reg(txBase + NicEngine.Q_LEN, RING * NicEngine.DESC_SIZE);
        reg(txBase + NicEngine.Q_DCTL, NicEngine.DCTL_ENABLE);
        reg(rxBase + NicEngine.Q_BAL, rxRing);
        reg(rxBase + NicEngine.Q_BAH, rxRing >>> 32);
        reg(rxBase + NicEngine.Q_LEN, RING * NicEngine.DESC_SIZE);
        reg(rxBase + NicEngine.Q_DCTL, NicEngine.DCTL_ENABLE);
        reg(rxBase + NicEngine.Q_TAIL, RING - 1);
        if (!vf) {
            reg(NicEngine.RCTL, NicEngine.RCTL_EN);
            reg(NicEngine.TCTL, NicEngine.TCTL_EN);
        }
        reg(NicEngine.EIMS, 1);
        up = true;
        k.log(name() + " 0000:" + String.format("00:%02x.%d", devfn >>> 3, devfn & 7) + ": "
                + (vf ? "Intel(R) Gigabit Virtual Function Network Driver" : "Intel(R) Gigabit Ethernet Network Connection")
                + (vector >= 0 ? ", MSI-X vector 0x" + Integer.toHexString(vector) : ""));
    }

    private void reg(int off, long v) {
        k.writel(bar0 + off, v & 0xFFFF_FFFFL);
    }

    /** Queues a frame for transmission (descriptor with EOP|RS, tail doorbell). */
    public void send(byte[] frame) {
        if (!up || frame.length > BUF) return;
        long buf = txBufs + (long) txTail * BUF;
        k.memory().write(buf, frame);
        long d = txRing + 16L * txTail;
        k.memory().write64(d, buf);
        k.memory().write64(d + 8, (long) frame.length | (long) (NicEngine.TX_CMD_EOP | NicEngine.TX_CMD_RS) << 24);
        txTail = (txTail + 1) % RING;
        reg(txBase + NicEngine.Q_TAIL, txTail);
    }

    /**
     * Points the next receive descriptor at an arbitrary bus address (a buggy or hostile driver): the next frame
     * is written there by DMA, if the IOMMU lets it.
     */
    public void pointNextRxBufferAt(long busAddress) {
        k.memory().write64(rxRing + 16L * rxNext, busAddress);
    }

    /** Behaves again: every receive descriptor points back at the driver's own buffer. */
    public void restoreRxBuffers() {
        for (int i = 0; i < RING; i++) k.memory().write64(rxRing + 16L * i, rxBufs + (long) i * BUF);
    }

    @Override
    public void interrupt(int v) {
        interrupts++;
        for (int guard = 0; guard < RING; guard++) {
            long d = rxRing + 16L * rxNext;
            long status = k.memory().read64(d + 8);
            long own = rxBufs + (long) rxNext * BUF;
            if ((status >>> 32 & NicEngine.DESC_STA_DD) == 0) {
                // No write-back, yet the hardware head moved past it: the device gave up on this descriptor (its
                // buffer DMA failed). Recycle it so the ring keeps going.
                if (k.readl(bar0 + rxBase + NicEngine.Q_HEAD) == rxNext) break;
                rxErrors++;
            } else {
                int len = (int) (status & 0xFFFF);
                long buf = k.memory().read64(d);
                if (buf == own && len <= BUF) received.add(k.memory().read(buf, len));
            }
            k.memory().write64(d, own);
            k.memory().write64(d + 8, 0);
            reg(rxBase + NicEngine.Q_TAIL, rxNext);
            rxNext = (rxNext + 1) % RING;
        }
    }

    @Override
    public void remove() {
        if (!up) return;
        reg(NicEngine.EIMC, -1);
        reg(rxBase + NicEngine.Q_DCTL, 0);
        reg(txBase + NicEngine.Q_DCTL, 0);
        if (!vf) {
            reg(NicEngine.RCTL, 0);
            reg(NicEngine.TCTL, 0);
        }
        up = false;
    }

    public List<byte[]> received() { return List.copyOf(received); }

    /** Frames received since the last call (they are handed up the stack and forgotten). */
    public List<byte[]> takeReceived() {
        List<byte[]> out = List.copyOf(received);
        received.clear();
        return out;
    }
    public long interrupts() { return interrupts; }
    /** Receive descriptors the device consumed without writing them back (failed DMA). */
    public long rxErrors() { return rxErrors; }
    public int vector() { return vector; }
    public long rxBuffers() { return rxBufs; }
    public int devfn() { return devfn; }
}

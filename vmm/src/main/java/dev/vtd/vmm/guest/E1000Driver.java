package dev.vtd.vmm.guest;

import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.emulated.E1000;
import dev.vtd.vmm.emulated.VirtualIoApic;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest's e1000 driver for an emulated 82540EM, in the manner of Linux's drivers/net/ethernet/intel/e1000:
 * legacy descriptor rings in guest memory, 16 KiB receive buffers (RCTL.BSIZE=01 with BSEX), the INTx line
 * routed through the guest's I/O APIC. Each register access is an MMIO exit the VMM emulates; the driver
 * does what Linux's does per packet: one TDT write per transmitted frame, and per interrupt one ICR read and
 * one RDT write for the whole batch of received frames.
 */
public final class E1000Driver implements GuestDriver {
    public static final int RING = 64;
    public static final int BUF = 16_384;

    private final GuestKernel k;
    private final int devfn;
    private long bar0, txRing, rxRing, txBufs, rxBufs;
    private int txTail, rxNext, vector = -1;
    private boolean up;
    private long interrupts, rxFrames, txFrames;
    private final List<byte[]> received = new ArrayList<>();
    private boolean keep = true;

    public E1000Driver(GuestKernel k, int devfn) {
        this.k = k;
        this.devfn = devfn;
    }

    @Override public String name() { return "e1000"; }

    @Override
    public void probe() {
        bar0 = k.barAddress(devfn, 0);
        txRing = k.allocPages(1);                           // 64 x 16-byte descriptors fit one page
        rxRing = k.allocPages(1);
        txBufs = k.allocPages(RING * BUF / 4096);
        rxBufs = k.allocPages(RING * BUF / 4096);
        int pin = k.cfgRead(devfn, PciRegs.INTERRUPT_PIN, 1);
        if (pin >= 1 && pin <= 4) {
            int gsi = VirtualIoApic.gsiOf(devfn, pin);
            vector = k.allocVector(this);
            k.cfgWrite(devfn, PciRegs.INTERRUPT_LINE, 1, gsi);
            // Redirection entry: vector, fixed delivery, physical destination, active low, level (PCI INTx).
            long ioapic = VirtualIoApic.BASE;
            k.writel(ioapic + VirtualIoApic.IOREGSEL, VirtualIoApic.REG_RTE0 + 2L * gsi + 1);
            k.writel(ioapic + VirtualIoApic.IOWIN, (long) k.bootCpu().apicId() << 24);
            k.writel(ioapic + VirtualIoApic.IOREGSEL, VirtualIoApic.REG_RTE0 + 2L * gsi);
            k.writel(ioapic + VirtualIoApic.IOWIN, vector | 1 << 13 | 1 << 15);
        }
        for (int i = 0; i < RING; i++) {
            k.memory().write64(rxRing + (long) E1000.DESC_BYTES * i, rxBufs + (long) i * BUF);
            k.memory().write64(rxRing + (long) E1000.DESC_BYTES * i + 8, 0);
        }
        reg(E1000.RDBAL, rxRing);
        reg(E1000.RDBAH, rxRing >>> 32);
        reg(E1000.RDLEN, RING * E1000.DESC_BYTES);
        reg(E1000.RDH, 0);
        reg(E1000.RDT, RING - 1);
        reg(E1000.TDBAL, txRing);
        reg(E1000.TDBAH, txRing >>> 32);
        reg(E1000.TDLEN, RING * E1000.DESC_BYTES);
        reg(E1000.TDH, 0);
        reg(E1000.TDT, 0);
        reg(E1000.RCTL, E1000.RCTL_EN | 1 << E1000.RCTL_BSIZE_SHIFT | E1000.RCTL_BSEX | E1000.RCTL_SECRC);
        reg(E1000.TCTL, E1000.TCTL_EN);
        reg(E1000.IMS, E1000.ICR_RXT0 | E1000.ICR_TXDW);
        up = true;
        k.log(String.format("e1000 0000:00:%02x.%d: Intel(R) PRO/1000 Network Connection", devfn >>> 3, devfn & 7));
    }

    private void reg(int off, long v) {
        k.writel(bar0 + off, v & 0xFFFF_FFFFL);
    }

    /** Whether received frames are kept for inspection (a long benchmark run only counts them). */
    public void keepReceived(boolean keep) {
        this.keep = keep;
    }

    /** Transmits a frame: its buffer and a legacy descriptor (EOP|RS), then the TDT doorbell (one exit). */
    public boolean send(byte[] frame) {
        if (!up || frame.length == 0 || frame.length > BUF) return false;
        long buf = txBufs + (long) txTail * BUF;
        k.memory().write(buf, frame);
        long d = txRing + (long) E1000.DESC_BYTES * txTail;
        k.memory().write64(d, buf);
        k.memory().write64(d + 8, frame.length | (long) (E1000.CMD_EOP | E1000.CMD_RS) << 24);
        txTail = (txTail + 1) % RING;
        reg(E1000.TDT, txTail);
        txFrames++;
        return true;
    }

    @Override
    public void interrupt(int v) {
        interrupts++;
        long icr = k.readl(bar0 + E1000.ICR);                 // read-to-clear: one exit
        if ((icr & E1000.ICR_RXT0) == 0) return;
        int last = -1;
        for (int guard = 0; guard < RING; guard++) {
            long d = rxRing + (long) E1000.DESC_BYTES * rxNext;
            long status = k.memory().read64(d + 8);
            if ((status >>> 32 & E1000.STA_DD) == 0) break;
            int len = (int) (status & 0xFFFF);
            if (keep && len <= BUF) received.add(k.memory().read(rxBufs + (long) rxNext * BUF, len));
            rxFrames++;
            k.memory().write64(d, rxBufs + (long) rxNext * BUF);
            k.memory().write64(d + 8, 0);
            last = rxNext;
            rxNext = (rxNext + 1) % RING;
        }
        if (last >= 0) reg(E1000.RDT, last);                  // one doorbell for the batch
    }

    @Override
    public void remove() {
        if (!up) return;
        reg(E1000.IMC, -1);
        reg(E1000.RCTL, 0);
        reg(E1000.TCTL, 0);
        up = false;
    }

    public List<byte[]> received() { return List.copyOf(received); }

    /** The frames received since the last call, handed over. */
    public List<byte[]> takeReceived() {
        List<byte[]> out = List.copyOf(received);
        received.clear();
        return out;
    }
    public long interrupts() { return interrupts; }
    public long rxFrames() { return rxFrames; }
    public long txFrames() { return txFrames; }
    public int vector() { return vector; }
}

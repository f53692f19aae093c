package dev.vtd.vmm.guest;

import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.PciRegs;

/**
 * The guest's driver for QEMU's edu device: MSI aimed at the boot vCPU, DMA between a guest buffer (programmed
 * with its guest-physical address) and the device's 4 KiB buffer, completion taken on the interrupt.
 */
public final class EduDriver implements GuestDriver {
    private final GuestKernel k;
    private final int devfn;
    private long bar0;
    private int vector = -1;
    private long interrupts, dmaCompletions;
    private long buffer;

    EduDriver(GuestKernel k, int devfn) {
        this.k = k;
        this.devfn = devfn;
    }

    @Override public String name() { return "edu"; }

    @Override
    public void probe() {
        bar0 = k.barAddress(devfn, 0);
        buffer = k.allocPages(2);
        int msi = k.findCapability(devfn, PciRegs.CAP_ID_MSI);
        if (msi >= 0) {
            vector = k.allocVector(this);
            k.cfgWrite(devfn, msi + MsiCapability.ADDRESS_LO, 4, (int) (0xFEE0_0000L | ((long) k.bootCpu().apicId() << 12)));
            boolean is64 = (k.cfgRead(devfn, msi + MsiCapability.CONTROL, 2) & MsiCapability.CTL_64BIT) != 0;
            if (is64) k.cfgWrite(devfn, msi + 8, 4, 0);
            k.cfgWrite(devfn, msi + (is64 ? 0x0C : 0x08), 2, vector);
            k.cfgWrite(devfn, msi + MsiCapability.CONTROL, 2, MsiCapability.CTL_ENABLE);
        }
        k.log(String.format("edu 0000:00:%02x.%d: ident %08x", devfn >>> 3, devfn & 7, k.readl(bar0 + EduDevice.REG_IDENT)));
    }

    /** The guest's DMA buffer (two pages). */
    public long buffer() { return buffer; }

    /** Starts a DMA of len bytes from guest RAM at gpa into the device buffer (interrupt on completion). */
    public void dmaToDevice(long gpa, int len) {
        dma(gpa, EduDevice.DMA_BUFFER_ADDRESS, len, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_IRQ);
    }

    /** Starts a DMA of len bytes from the device buffer to guest RAM at gpa. */
    public void dmaToRam(long gpa, int len) {
        dma(EduDevice.DMA_BUFFER_ADDRESS, gpa, len, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_TO_RAM | EduDevice.DMA_CMD_IRQ);
    }

    private void dma(long src, long dst, int len, int cmd) {
        k.vm().mmioWrite(bar0 + EduDevice.REG_DMA_SRC, 8, src);
        k.vm().mmioWrite(bar0 + EduDevice.REG_DMA_DST, 8, dst);
        k.vm().mmioWrite(bar0 + EduDevice.REG_DMA_COUNT, 8, len);
        k.vm().mmioWrite(bar0 + EduDevice.REG_DMA_CMD, 8, cmd);
    }

    @Override
    public void interrupt(int v) {
        interrupts++;
        long status = k.readl(bar0 + EduDevice.REG_IRQ_STATUS);
        if ((status & EduDevice.IRQ_DMA) != 0) dmaCompletions++;
        k.writel(bar0 + EduDevice.REG_IRQ_ACK, status);
    }

    @Override
    public void remove() {
        int msi = k.findCapability(devfn, PciRegs.CAP_ID_MSI);
        if (msi >= 0) k.cfgWrite(devfn, msi + MsiCapability.CONTROL, 2, 0);
    }

    public long interrupts() { return interrupts; }
    public long dmaCompletions() { return dmaCompletions; }
    public int vector() { return vector; }
}

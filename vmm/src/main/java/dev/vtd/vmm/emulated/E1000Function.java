package dev.vtd.vmm.emulated;

import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.GuestPciDevice;

import java.util.function.Consumer;

/**
 * The emulated 82540EM on the guest's PCI bus: its configuration space (8086:100E, class 0200, revision
 * 03, subsystem 8086:001E, one 128 KiB memory BAR, INTA#) and BAR0 backed by the {@link E1000} model.
 * Every BAR access traps to the VMM ({@link #trapped()}); the device's interrupt asserts its INTx line at
 * the guest's I/O APIC, from which the VMM injects the vector.
 */
public final class E1000Function implements GuestPciDevice {
    public static final int REVISION = 0x03, CLASS = 0x020000, SUBSYSTEM_VENDOR = 0x8086, SUBSYSTEM = 0x001E;

    private final E1000 nic;
    private final String id;
    private int command, bar0, interruptLine;
    private boolean sizing;

    /**
     * @param guestRam the guest's memory as the device sees it
     * @param wire     where transmitted frames go
     * @param intx     asserts this function's INTx line
     */
    public E1000Function(String id, dev.vtd.vmm.virtio.DriverMemory guestRam, Consumer<byte[]> wire, Runnable intx) {
        this.id = id;
        this.nic = new E1000(guestRam, wire, () -> {
            if ((command & PciRegs.CMD_INTX_DISABLE) == 0) intx.run();
        });
    }

    public E1000 nic() { return nic; }

    @Override public boolean trapped() { return true; }

    @Override
    public int configRead(int offset, int size) {
        int dw = switch (offset & ~3) {
            case PciRegs.VENDOR_ID -> E1000.VENDOR_ID | E1000.DEVICE_ID << 16;
            case PciRegs.COMMAND -> command;
            case PciRegs.REVISION_ID -> REVISION | CLASS << 8;
            case PciRegs.BAR0 -> sizing ? -E1000.BAR0_SIZE : bar0;
            case PciRegs.SUBSYSTEM_VENDOR_ID -> SUBSYSTEM_VENDOR | SUBSYSTEM << 16;
            case PciRegs.INTERRUPT_LINE -> interruptLine | 1 << 8;          // INTA#
            default -> 0;
        };
        return (int) ((dw >>> (8 * (offset & 3))) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1));
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        if (offset == PciRegs.COMMAND && size >= 2) command = value & (PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER
                | PciRegs.CMD_INTX_DISABLE);
        else if (offset == PciRegs.BAR0 && size == 4) {
            sizing = value == -1;
            if (!sizing) bar0 = value & -E1000.BAR0_SIZE;
        } else if (offset == PciRegs.INTERRUPT_LINE && size == 1) interruptLine = value & 0xFF;
    }

    @Override
    public long guestBarAddress(int bar) {
        return bar == 0 && (command & PciRegs.CMD_MEMORY_SPACE) != 0 ? Integer.toUnsignedLong(bar0) : 0;
    }

    @Override public long barSize(int bar) { return bar == 0 ? E1000.BAR0_SIZE : 0; }

    @Override
    public long barRead(int bar, long offset, int size) {
        return bar == 0 ? nic.mmioRead(offset, size) : -1L;
    }

    @Override
    public void barWrite(int bar, long offset, int size, long value) {
        if (bar == 0) nic.mmioWrite(offset, size, value);
    }

    @Override public String id() { return id; }

    @Override public String describe() { return "emulated e1000"; }
}

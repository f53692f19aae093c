package dev.vtd.vmm;

import dev.vtd.platform.pci.PciRegs;

/** The guest's emulated i440FX host bridge at 00:00.0 (8086:1237, class 0600, revision 02). */
final class HostBridgeDevice implements GuestPciDevice {
    private static final int VENDOR = 0x8086, DEVICE = 0x1237, CLASS = 0x060000, REVISION = 0x02;

    @Override
    public int configRead(int offset, int size) {
        int dw = switch (offset & ~3) {
            case PciRegs.VENDOR_ID -> VENDOR | DEVICE << 16;
            case PciRegs.REVISION_ID -> REVISION | CLASS << 8;
            case PciRegs.COMMAND -> PciRegs.CMD_MEMORY_SPACE;
            default -> 0;
        };
        return (int) ((dw >>> (8 * (offset & 3))) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1));
    }

    @Override public void configWrite(int offset, int size, int value) { }
    @Override public long guestBarAddress(int bar) { return 0; }
    @Override public long barSize(int bar) { return 0; }
    @Override public long barRead(int bar, long offset, int size) { return -1L; }
    @Override public void barWrite(int bar, long offset, int size, long value) { }
    @Override public String id() { return null; }
}

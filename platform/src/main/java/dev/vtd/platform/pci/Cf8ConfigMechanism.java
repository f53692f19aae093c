package dev.vtd.platform.pci;

import dev.vtd.platform.bus.PortIoDevice;

/**
 * Configuration mechanism #1 (PCI Local Bus spec 3.0, 3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 (dword
 * accesses only: bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2) and
 * CONFIG_DATA at 0xCFC-0xCFF (byte, word or dword at the register plus the port's low bits). It
 * reaches the first 256 bytes of each function of one segment. Map it at port 0xCF8, 8 ports.
 */
public final class Cf8ConfigMechanism implements PortIoDevice {
    public static final int ADDRESS_PORT = 0xCF8;
    public static final int DATA_PORT = 0xCFC;
    public static final int ENABLE = 1 << 31;

    private final PciSegment segment;
    private int address;

    public Cf8ConfigMechanism(PciSegment segment) {
        this.segment = segment;
    }

    public synchronized int configAddress() {
        return address;
    }

    @Override
    public long in(int port, int size) {
        long ones = size >= 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1;
        if (port == ADDRESS_PORT && size == 4) return configAddress() & 0xFFFF_FFFFL;
        if (port < DATA_PORT || port > DATA_PORT + 3 || (size != 1 && size != 2 && size != 4)) return ones;
        int off = (port - DATA_PORT);
        if (off + size > 4) return ones;
        int a = configAddress();
        if ((a & ENABLE) == 0) return ones;
        return segment.configRead(a >>> 16 & 0xFF, a >>> 8 & 0xFF, (a & 0xFC) + off, size) & ones;
    }

    @Override
    public void out(int port, int size, long value) {
        if (port == ADDRESS_PORT && size == 4) {
            // Bits 1:0 are read-only 0; 30:24 are reserved (read-only 0).
            synchronized (this) {
                address = (int) value & 0x80FF_FFFC;
            }
            return;
        }
        if (port < DATA_PORT || port > DATA_PORT + 3 || (size != 1 && size != 2 && size != 4)) return;
        int off = port - DATA_PORT;
        if (off + size > 4) return;
        int a = configAddress();
        if ((a & ENABLE) == 0) return;
        segment.configWrite(a >>> 16 & 0xFF, a >>> 8 & 0xFF, (a & 0xFC) + off, size, (int) value);
    }
}

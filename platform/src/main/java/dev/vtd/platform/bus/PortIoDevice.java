package dev.vtd.platform.bus;

/** A device decoding a range of x86 I/O ports (e.g. PCI configuration mechanism #1 at 0xCF8-0xCFF). */
public interface PortIoDevice {
    /** Reads {@code size} (1, 2 or 4) bytes at {@code port}; undecoded ports read as all ones. */
    long in(int port, int size);

    void out(int port, int size, long value);
}

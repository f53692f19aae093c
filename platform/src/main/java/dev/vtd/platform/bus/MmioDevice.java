package dev.vtd.platform.bus;

/**
 * A block of memory-mapped registers as the CPU sees it. Offsets are relative to the block's base;
 * {@code size} is the access width in bytes (1, 2, 4 or 8). Implementations never throw for a
 * guest-programmable access: an access the hardware does not decode reads as all ones (or as the
 * architecture says) and a write to it is dropped.
 */
public interface MmioDevice {
    long read(long offset, int size);

    void write(long offset, int size, long value);

    /** Size of the register block in bytes. */
    long length();
}

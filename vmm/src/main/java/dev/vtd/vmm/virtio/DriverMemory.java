package dev.vtd.vmm.virtio;

/**
 * The memory a virtqueue lives in, as the device side sees it: the driver's (guest-physical) address
 * space. Every access is checked: an address the driver gave that is not its memory reads or writes
 * nothing and returns false, so a hostile driver can never make the device touch anything else.
 */
public interface DriverMemory {
    boolean read(long address, byte[] dst, int offset, int length);

    boolean write(long address, byte[] src, int offset, int length);

    /** True if [address, address + length) is all driver memory. */
    boolean contains(long address, long length);

    default long read16(long address) {
        byte[] b = new byte[2];
        return read(address, b, 0, 2) ? (b[0] & 0xFF) | (b[1] & 0xFF) << 8 : -1;
    }

    default long read32(long address) {
        byte[] b = new byte[4];
        if (!read(address, b, 0, 4)) return -1;
        return (b[0] & 0xFFL) | (b[1] & 0xFFL) << 8 | (b[2] & 0xFFL) << 16 | (b[3] & 0xFFL) << 24;
    }

    /** The 64-bit value at {@code address}, with {@code ok[0]} saying whether it could be read. */
    default long read64(long address, boolean[] ok) {
        byte[] b = new byte[8];
        ok[0] = read(address, b, 0, 8);
        long v = 0;
        for (int i = 7; i >= 0; i--) v = v << 8 | (b[i] & 0xFF);
        return v;
    }

    default boolean write16(long address, int value) {
        return write(address, new byte[]{(byte) value, (byte) (value >>> 8)}, 0, 2);
    }

    default boolean write32(long address, int value) {
        return write(address, new byte[]{(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)}, 0, 4);
    }

    default boolean write64(long address, long value) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (value >>> (8 * i));
        return write(address, b, 0, 8);
    }
}

package dev.vtd.vmm.virtio;

/**
 * A split-virtqueue descriptor (virtio 1.x, 2.7.5 "The Virtqueue Descriptor Table"): 16 bytes,
 * little-endian.
 * <pre>
 *  0  le64 addr    guest-physical address of the buffer
 *  8  le32 len     its length
 * 12  le16 flags   NEXT (1): the chain goes on at 'next'; WRITE (2): device-writable;
 *                  INDIRECT (4): the buffer is a table of descriptors (2.7.5.3)
 * 14  le16 next
 * </pre>
 */
public record VirtqDesc(long addr, int len, int flags, int next) {
    public static final int SIZE = 16;
    public static final int F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    public long length() {
        return Integer.toUnsignedLong(len);
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        for (int i = 0; i < 8; i++) b[i] = (byte) (addr >>> (8 * i));
        for (int i = 0; i < 4; i++) b[8 + i] = (byte) (len >>> (8 * i));
        b[12] = (byte) flags;
        b[13] = (byte) (flags >>> 8);
        b[14] = (byte) next;
        b[15] = (byte) (next >>> 8);
        return b;
    }

    public static VirtqDesc decode(byte[] b, int off) {
        long addr = 0;
        for (int i = 7; i >= 0; i--) addr = addr << 8 | (b[off + i] & 0xFF);
        int len = (b[off + 8] & 0xFF) | (b[off + 9] & 0xFF) << 8 | (b[off + 10] & 0xFF) << 16 | (b[off + 11] & 0xFF) << 24;
        int flags = (b[off + 12] & 0xFF) | (b[off + 13] & 0xFF) << 8;
        int next = (b[off + 14] & 0xFF) | (b[off + 15] & 0xFF) << 8;
        return new VirtqDesc(addr, len, flags, next);
    }
}

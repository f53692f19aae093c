package dev.vtd.platform.pci;

/**
 * One function's configuration space: 256 bytes (conventional PCI) or 4 KiB (PCI Express extended
 * configuration space). Every byte carries its access attributes (PCI Local Bus spec 6.1, PCIe base
 * spec 7.4): read-only (the default), read-write, or write-1-to-clear. A write changes RW bits to
 * the written value, clears the RW1C bits written as one, and leaves RO bits alone.
 *
 * <p>Accesses never throw: an access outside the space, of an unsupported size, or crossing a
 * dword boundary reads all ones and is dropped on write (as a host bridge splits or rejects it).
 */
public final class ConfigSpace {
    public static final int CONVENTIONAL_SIZE = 256;
    public static final int EXTENDED_SIZE = 4096;

    private final byte[] data;
    private final byte[] rw;
    private final byte[] w1c;

    public ConfigSpace(int size) {
        if (size != CONVENTIONAL_SIZE && size != EXTENDED_SIZE) {
            throw new IllegalArgumentException("config space size " + size);
        }
        data = new byte[size];
        rw = new byte[size];
        w1c = new byte[size];
    }

    public int size() {
        return data.length;
    }

    /** True for an access the space decodes: size 1, 2 or 4, inside the space, within one dword. */
    public boolean decodes(int offset, int size) {
        return (size == 1 || size == 2 || size == 4) && offset >= 0 && offset + size <= data.length
                && (offset & 3) + size <= 4;
    }

    /** Guest read: little-endian value, or all ones for an access the space does not decode. */
    public synchronized int read(int offset, int size) {
        if (!decodes(offset, size)) return size == 1 ? 0xFF : size == 2 ? 0xFFFF : -1;
        return get(offset, size);
    }

    /** Guest write honouring the per-bit attributes; returns false if the access was dropped. */
    public synchronized boolean write(int offset, int size, int value) {
        if (!decodes(offset, size)) return false;
        for (int i = 0; i < size; i++) {
            int o = offset + i;
            int v = (value >>> (8 * i)) & 0xFF;
            int cur = data[o] & 0xFF;
            int next = (cur & ~rw[o]) | (v & rw[o]);
            next &= ~(v & w1c[o]);
            data[o] = (byte) next;
        }
        return true;
    }

    // ---- model-side access (ignores attributes) ----------------------------------------------

    /** Raw little-endian value of 1, 2 or 4 bytes (model side; no attribute checks). */
    public synchronized int get(int offset, int size) {
        int v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | (data[offset + i] & 0xFF);
        return v;
    }

    public int get8(int offset) {
        return get(offset, 1);
    }

    public int get16(int offset) {
        return get(offset, 2);
    }

    public int get32(int offset) {
        return get(offset, 4);
    }

    /** Sets raw bytes (model side), regardless of attributes. */
    public synchronized void set(int offset, int size, int value) {
        for (int i = 0; i < size; i++) data[offset + i] = (byte) (value >>> (8 * i));
    }

    public void set8(int offset, int value) {
        set(offset, 1, value);
    }

    public void set16(int offset, int value) {
        set(offset, 2, value);
    }

    public void set32(int offset, int value) {
        set(offset, 4, value);
    }

    /** Sets or clears the given bits of a raw register (model side). */
    public synchronized void setBits(int offset, int size, int bits, boolean on) {
        int v = get(offset, size);
        set(offset, size, on ? v | bits : v & ~bits);
    }

    /** Declares which bits of the register at offset are read-write (others keep their attribute). */
    public synchronized void rw(int offset, int size, int mask) {
        for (int i = 0; i < size; i++) rw[offset + i] = (byte) (mask >>> (8 * i));
    }

    /** Declares which bits of the register at offset are write-1-to-clear. */
    public synchronized void w1c(int offset, int size, int mask) {
        for (int i = 0; i < size; i++) w1c[offset + i] = (byte) (mask >>> (8 * i));
    }

    public synchronized int rwMask(int offset, int size) {
        int v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | (rw[offset + i] & 0xFF);
        return v;
    }
}

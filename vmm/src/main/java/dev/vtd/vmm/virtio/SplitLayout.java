package dev.vtd.vmm.virtio;

/**
 * Where the three parts of a split virtqueue of {@code size} entries lie (virtio 1.x, 2.7): the
 * descriptor table (16-byte aligned, 16 x size bytes), the driver area or available ring (2-byte
 * aligned: flags, idx, ring[size], used_event) and the device area or used ring (4-byte aligned:
 * flags, idx, ring[size] of {id, len}, avail_event). All fields are little-endian.
 */
public record SplitLayout(int size, long desc, long avail, long used) {
    public static final int MAX_SIZE = 32768;
    /** avail.flags: the driver asks for no interrupts (2.7.7). */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    /** used.flags: the device asks for no notifications (2.7.10). */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    public SplitLayout {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("queue size " + size + " is not a power of two in 1.." + MAX_SIZE);
        }
        if ((desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0) {
            throw new IllegalArgumentException("virtqueue areas misaligned (descriptors 16, driver area 2, device area 4 bytes)");
        }
    }

    /** The areas back to back from {@code base}, each aligned as required. */
    public static SplitLayout contiguous(int size, long base) {
        long desc = (base + 15) & ~15L;
        long avail = desc + 16L * size;
        long used = (avail + 6 + 2L * size + 3) & ~3L;
        return new SplitLayout(size, desc, avail, used);
    }

    /** Bytes the three areas occupy when laid out by {@link #contiguous}. */
    public long footprint() {
        return used + 6 + 8L * size - desc;
    }

    public long descriptor(int i) { return desc + 16L * i; }
    public long availFlags() { return avail; }
    public long availIdx() { return avail + 2; }
    public long availRing(int i) { return avail + 4 + 2L * (i & (size - 1)); }
    public long usedEvent() { return avail + 4 + 2L * size; }
    public long usedFlags() { return used; }
    public long usedIdx() { return used + 2; }
    public long usedRing(int i) { return used + 4 + 8L * (i & (size - 1)); }
    public long availEvent() { return used + 4 + 8L * size; }

    /**
     * VIRTIO_F_EVENT_IDX (2.7.7.2, 2.7.10.2): after moving an index from {@code old} to {@code now},
     * notify if the other side's event index lies in between (all values 16-bit).
     */
    public static boolean needEvent(int eventIdx, int now, int old) {
        return ((now - eventIdx - 1) & 0xFFFF) < ((now - old) & 0xFFFF);
    }
}

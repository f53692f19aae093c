package dev.vtd.vmm.virtio;

import java.util.ArrayList;
import java.util.List;

/**
 * The device side of a split virtqueue (virtio 1.x, 2.7): takes the chains the driver made
 * available, returns them through the used ring, and decides whether the driver wants an interrupt.
 *
 * <p>Hostile input: whatever the driver writes, the device reads only inside the driver's memory and
 * at most the queue size of descriptors per chain (plus one indirect table of at most
 * {@value #MAX_INDIRECT} entries). A chain the specification forbids (a loop or a chain longer than the
 * queue, a head or next index beyond the table, a device-readable descriptor after a writable one, an
 * indirect descriptor with NEXT or inside an indirect table, an indirect table whose length is not a
 * multiple of 16, buffers not in the driver's memory, the available index moving by more than the queue
 * size) breaks the queue: it reports the rule and processes nothing more, and the device sets
 * DEVICE_NEEDS_RESET (2.1.2) as the specification allows.
 */
public final class DeviceVirtqueue {
    public static final int MAX_INDIRECT = 4096;

    /** One buffer of a chain in driver memory. */
    public record Segment(long addr, long len) {}

    /** A chain taken from the available ring: its head index and its readable then writable buffers. */
    public record Chain(int head, List<Segment> readable, List<Segment> writable) {
        public long readableBytes() {
            return readable.stream().mapToLong(Segment::len).sum();
        }

        public long writableBytes() {
            return writable.stream().mapToLong(Segment::len).sum();
        }
    }

    private final DriverMemory mem;
    private final SplitLayout q;
    private final boolean eventIdx;
    private int lastAvail;
    private int usedIdx;
    private int signalledAt;
    private String broken;

    public DeviceVirtqueue(DriverMemory mem, SplitLayout layout, boolean eventIdx) {
        this.mem = mem;
        this.q = layout;
        this.eventIdx = eventIdx;
    }

    public SplitLayout layout() {
        return q;
    }

    /** Why the queue broke (the rule the driver broke), or null. */
    public String broken() {
        return broken;
    }

    private Chain fail(String why) {
        broken = why;
        return null;
    }

    /** Chains available and not yet taken (0 when broken or unreadable). */
    public int pending() {
        long idx = mem.read16(q.availIdx());
        return idx < 0 || broken != null ? 0 : (int) ((idx - lastAvail) & 0xFFFF);
    }

    /** The next available chain, or null if there is none or the queue is broken. */
    public Chain pop() {
        if (broken != null) return null;
        long idx = mem.read16(q.availIdx());
        if (idx < 0) return fail("driver area not in driver memory");
        int avail = (int) ((idx - lastAvail) & 0xFFFF);
        if (avail == 0) return null;
        if (avail > q.size()) return fail("avail.idx moved " + avail + " entries ahead of the device, more than the queue size " + q.size());
        long head = mem.read16(q.availRing(lastAvail));
        if (head < 0) return fail("driver area not in driver memory");
        if (head >= q.size()) return fail("available ring entry " + head + " beyond the queue size " + q.size());
        List<Segment> readable = new ArrayList<>(), writable = new ArrayList<>();
        String err = walk((int) head, readable, writable);
        if (err != null) return fail(err);
        lastAvail = (lastAvail + 1) & 0xFFFF;
        return new Chain((int) head, List.copyOf(readable), List.copyOf(writable));
    }

    private String walk(int head, List<Segment> readable, List<Segment> writable) {
        byte[] raw = new byte[VirtqDesc.SIZE];
        int i = head, count = 0;
        long total = 0;
        while (true) {
            if (++count > q.size()) return "descriptor chain longer than the queue size " + q.size() + " (a loop?)";
            if (!mem.read(q.descriptor(i), raw, 0, raw.length)) return "descriptor table not in driver memory";
            VirtqDesc d = VirtqDesc.decode(raw, 0);
            if (d.has(VirtqDesc.F_INDIRECT)) {
                if (d.has(VirtqDesc.F_NEXT)) return "descriptor " + i + " has both INDIRECT and NEXT (2.7.5.3.1)";
                String e = indirect(d, readable, writable);
                if (e != null) return e;
                return null;
            }
            String e = add(d, readable, writable, total);
            if (e != null) return "descriptor " + i + ": " + e;
            total += d.length();
            if (!d.has(VirtqDesc.F_NEXT)) return null;
            if (d.next() >= q.size()) return "descriptor " + i + " points at next " + d.next() + " beyond the queue size " + q.size();
            i = d.next();
        }
    }

    private String indirect(VirtqDesc table, List<Segment> readable, List<Segment> writable) {
        if (table.length() == 0 || table.length() % VirtqDesc.SIZE != 0) {
            return "indirect table of " + table.length() + " bytes is not a non-zero multiple of 16 (2.7.5.3.1)";
        }
        long n = table.length() / VirtqDesc.SIZE;
        if (n > MAX_INDIRECT) return "indirect table of " + n + " descriptors, more than this device takes (" + MAX_INDIRECT + ")";
        byte[] raw = new byte[(int) table.length()];
        if (!mem.read(table.addr(), raw, 0, raw.length)) return "indirect table not in driver memory";
        int i = 0, count = 0;
        long total = readable.stream().mapToLong(Segment::len).sum() + writable.stream().mapToLong(Segment::len).sum();
        while (true) {
            if (++count > n) return "indirect chain longer than its table (a loop?)";
            VirtqDesc d = VirtqDesc.decode(raw, i * VirtqDesc.SIZE);
            if (d.has(VirtqDesc.F_INDIRECT)) return "indirect descriptor inside an indirect table (2.7.5.3.1)";
            String e = add(d, readable, writable, total);
            if (e != null) return "indirect descriptor " + i + ": " + e;
            total += d.length();
            if (!d.has(VirtqDesc.F_NEXT)) return null;
            if (d.next() >= n) return "indirect descriptor " + i + " points at next " + d.next() + " beyond its table";
            i = d.next();
        }
    }

    private String add(VirtqDesc d, List<Segment> readable, List<Segment> writable, long total) {
        if (total + d.length() > 0xFFFF_FFFFL) return "chain longer than 4 GiB";
        if (d.length() > 0 && !mem.contains(d.addr(), d.length())) {
            return String.format("buffer 0x%x+%d not in driver memory", d.addr(), d.length());
        }
        Segment s = new Segment(d.addr(), d.length());
        if (d.has(VirtqDesc.F_WRITE)) {
            writable.add(s);
        } else {
            if (!writable.isEmpty()) return "device-readable buffer after a device-writable one (2.7.4.2)";
            readable.add(s);
        }
        return null;
    }

    /** Returns chain {@code head} to the driver with {@code written} bytes written into its writable buffers. */
    public void push(int head, long written) {
        if (broken != null) return;
        if (!mem.write32(q.usedRing(usedIdx), head) || !mem.write32(q.usedRing(usedIdx) + 4, (int) written)) {
            broken = "device area not in driver memory";
            return;
        }
        usedIdx = (usedIdx + 1) & 0xFFFF;
        if (!mem.write16(q.usedIdx(), usedIdx)) broken = "device area not in driver memory";
    }

    /**
     * Whether the driver wants an interrupt for what was pushed since the last one (2.7.7): with
     * VIRTIO_F_EVENT_IDX, when used_event lies among the new entries; without, unless avail.flags
     * has VIRTQ_AVAIL_F_NO_INTERRUPT.
     */
    public boolean needsInterrupt() {
        if (broken != null) return false;
        int old = signalledAt;
        if (old == usedIdx) return false;
        signalledAt = usedIdx;
        if (eventIdx) {
            long ev = mem.read16(q.usedEvent());
            return ev < 0 || SplitLayout.needEvent((int) ev, usedIdx, old);
        }
        long flags = mem.read16(q.availFlags());
        return flags < 0 || (flags & SplitLayout.VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }

    /**
     * Asks the driver for no notifications while {@code suppress} (the device is polling): used.flags
     * NO_NOTIFY, or with VIRTIO_F_EVENT_IDX avail_event set far behind; re-enabling sets avail_event
     * to the next index the device will look at.
     */
    public void suppressNotifications(boolean suppress) {
        if (broken != null) return;
        if (eventIdx) {
            mem.write16(q.availEvent(), suppress ? (lastAvail - 1) & 0xFFFF : lastAvail);
        } else {
            mem.write16(q.usedFlags(), suppress ? SplitLayout.VIRTQ_USED_F_NO_NOTIFY : 0);
        }
    }

    /** The device's next available index (for migration and tests). */
    public int lastAvail() {
        return lastAvail;
    }

    public int usedIdx() {
        return usedIdx;
    }
}

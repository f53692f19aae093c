package dev.vtd.vmm.virtio;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The driver side of a split virtqueue (virtio 1.x, 2.7.13 "Supplying Buffers to The Device" and
 * 2.7.14 "Receiving Used Buffers From The Device"): it keeps the free descriptors, writes a chain and
 * its head into the available ring, decides whether the device wants a notification, and takes used
 * chains back. One chain per request, direct descriptors only.
 */
public final class DriverVirtqueue {
    /** A buffer the driver hands over: guest-physical address, length, device-writable or not. */
    public record Buffer(long addr, int len, boolean deviceWritable) {}

    /** A chain the device has returned: the token given at {@link #add} and the bytes it wrote. */
    public record Used(Object token, long written) {}

    private final DriverMemory mem;
    private final SplitLayout q;
    private final boolean eventIdx;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Object[] tokens;
    private final int[] chainLength;
    private int availIdx;
    private int kickedAt;
    private int lastUsed;

    public DriverVirtqueue(DriverMemory mem, SplitLayout layout, boolean eventIdx) {
        this.mem = mem;
        this.q = layout;
        this.eventIdx = eventIdx;
        this.tokens = new Object[layout.size()];
        this.chainLength = new int[layout.size()];
        for (int i = 0; i < layout.size(); i++) free.add(i);
        mem.write16(layout.availFlags(), 0);
        mem.write16(layout.availIdx(), 0);
        mem.write16(layout.usedEvent(), 0);
    }

    public SplitLayout layout() {
        return q;
    }

    public int freeDescriptors() {
        return free.size();
    }

    /**
     * Makes a chain of {@code buffers} (device-readable ones first) available.
     *
     * @return false if there are not enough free descriptors (nothing is written then)
     */
    public boolean add(List<Buffer> buffers, Object token) {
        if (buffers.isEmpty() || buffers.size() > free.size()) return false;
        boolean seenWritable = false;
        for (Buffer b : buffers) {
            if (!b.deviceWritable() && seenWritable) throw new IllegalArgumentException("device-readable buffers must come first");
            seenWritable |= b.deviceWritable();
        }
        int[] ids = new int[buffers.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = free.poll();
        for (int i = 0; i < ids.length; i++) {
            Buffer b = buffers.get(i);
            boolean last = i == ids.length - 1;
            int flags = (last ? 0 : VirtqDesc.F_NEXT) | (b.deviceWritable() ? VirtqDesc.F_WRITE : 0);
            byte[] d = new VirtqDesc(b.addr(), b.len(), flags, last ? 0 : ids[i + 1]).encode();
            mem.write(q.descriptor(ids[i]), d, 0, d.length);
        }
        tokens[ids[0]] = token;
        chainLength[ids[0]] = ids.length;
        mem.write16(q.availRing(availIdx), ids[0]);
        availIdx = (availIdx + 1) & 0xFFFF;
        mem.write16(q.availIdx(), availIdx);   // after the ring entry (2.7.13.3: a write barrier first)
        return true;
    }

    /**
     * Whether the device wants to be notified of what was added since the last notification
     * (2.7.13.4): with VIRTIO_F_EVENT_IDX when avail_event lies among the new entries, otherwise
     * unless used.flags has VIRTQ_USED_F_NO_NOTIFY.
     */
    public boolean kickNeeded() {
        int old = kickedAt;
        if (old == availIdx) return false;
        kickedAt = availIdx;
        if (eventIdx) return SplitLayout.needEvent((int) mem.read16(q.availEvent()), availIdx, old);
        return (mem.read16(q.usedFlags()) & SplitLayout.VIRTQ_USED_F_NO_NOTIFY) == 0;
    }

    /** Asks for no interrupts (avail.flags NO_INTERRUPT, or used_event far behind with EVENT_IDX) while polling. */
    public void suppressInterrupts(boolean suppress) {
        if (eventIdx) mem.write16(q.usedEvent(), suppress ? (lastUsed - 1) & 0xFFFF : lastUsed);
        else mem.write16(q.availFlags(), suppress ? SplitLayout.VIRTQ_AVAIL_F_NO_INTERRUPT : 0);
    }

    /** The next chain the device returned, or null. A used entry naming no outstanding chain is skipped. */
    public Used poll() {
        while (true) {
            long idx = mem.read16(q.usedIdx());
            if (idx < 0 || ((idx - lastUsed) & 0xFFFF) == 0) return null;
            long id = mem.read32(q.usedRing(lastUsed));
            long len = mem.read32(q.usedRing(lastUsed) + 4);
            lastUsed = (lastUsed + 1) & 0xFFFF;
            if (eventIdx) mem.write16(q.usedEvent(), lastUsed);
            if (id < 0 || id >= q.size() || tokens[(int) id] == null) continue;
            Object token = tokens[(int) id];
            tokens[(int) id] = null;
            int n = chainLength[(int) id], d = (int) id;
            byte[] raw = new byte[VirtqDesc.SIZE];
            for (int k = 0; k < n; k++) {
                mem.read(q.descriptor(d), raw, 0, raw.length);
                free.add(d);
                d = VirtqDesc.decode(raw, 0).next();
            }
            return new Used(token, len & 0xFFFF_FFFFL);
        }
    }
}

package dev.vtd.vmm;

import dev.vtd.platform.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * A guest's RAM: slots mapping guest-physical ranges onto host RAM (KVM memory slots). The layout follows QEMU's
 * pc machine: up to 3 GiB below 4 GiB (the rest of the low 4 GiB is the PCI hole with the interrupt window), the
 * remainder from 4 GiB. Each slot is one host range, so GPA != HPA.
 */
public final class GuestMemory {
    public static final long LOW_LIMIT = 3L << 30;
    public static final long HIGH_BASE = 4L << 30;

    /** One memory slot. */
    public record Slot(long gpa, long hpa, long size) {
        public boolean contains(long a, long len) {
            return a >= gpa && len >= 0 && a - gpa <= size - len;
        }
    }

    private final PhysicalMemory host;
    private final List<Slot> slots;

    GuestMemory(PhysicalMemory host, List<Slot> slots) {
        this.host = host;
        this.slots = List.copyOf(slots);
    }

    /** The GPA layout for {@code size} bytes of RAM. */
    static List<long[]> layout(long size) {
        List<long[]> out = new ArrayList<>();
        long low = Math.min(size, LOW_LIMIT);
        out.add(new long[]{0, low});
        if (size > low) out.add(new long[]{HIGH_BASE, size - low});
        return out;
    }

    public List<Slot> slots() { return slots; }

    public long size() {
        return slots.stream().mapToLong(Slot::size).sum();
    }

    /** The HPA backing [gpa, gpa + len) when it lies in one slot, else -1. */
    public long gpaToHpa(long gpa, long len) {
        for (Slot s : slots) if (s.contains(gpa, len)) return s.hpa() + (gpa - s.gpa());
        return -1;
    }

    /** True if the host address lies in this guest's memory. */
    public boolean ownsHpa(long hpa) {
        for (Slot s : slots) if (hpa >= s.hpa() && hpa - s.hpa() < s.size()) return true;
        return false;
    }

    private long at(long gpa, long len) {
        long hpa = gpaToHpa(gpa, len);
        if (hpa < 0) throw new IllegalArgumentException(String.format("GPA %#x+%d outside guest RAM", gpa, len));
        return hpa;
    }

    public long read64(long gpa) { return host.read64(at(gpa, 8)); }
    public int read32(long gpa) { return host.read32(at(gpa, 4)); }
    public void write64(long gpa, long v) { host.write64(at(gpa, 8), v); }
    public void write32(long gpa, int v) { host.write32(at(gpa, 4), v); }
    public byte[] read(long gpa, int len) { return host.readBytes(at(gpa, len), len); }
    public void write(long gpa, byte[] b) { host.writeBytes(at(gpa, b.length), b); }
}

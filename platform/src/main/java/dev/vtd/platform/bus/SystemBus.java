package dev.vtd.platform.bus;

import dev.vtd.platform.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * The CPU's view of the machine: RAM, memory-mapped register blocks (which take precedence over RAM
 * where they overlap, as on a real chipset), and I/O ports. Accesses to nothing read all ones and
 * are dropped on write, like a master abort.
 */
public final class SystemBus {
    private record Mmio(long base, long length, MmioDevice device, String name) {}

    private record Ports(int first, int count, PortIoDevice device, String name) {}

    private final PhysicalMemory memory;
    private volatile Mmio[] mmio = new Mmio[0];
    private volatile Ports[] ports = new Ports[0];

    public SystemBus(PhysicalMemory memory) {
        this.memory = memory;
    }

    public PhysicalMemory memory() {
        return memory;
    }

    public synchronized void mapMmio(String name, long base, MmioDevice device) {
        List<Mmio> l = new ArrayList<>(List.of(mmio));
        l.add(new Mmio(base, device.length(), device, name));
        mmio = l.toArray(Mmio[]::new);
    }

    /** Removes (or, with a new base, moves) a device's MMIO window, as a BAR reprogramming does. */
    public synchronized void unmapMmio(MmioDevice device) {
        mmio = List.of(mmio).stream().filter(m -> m.device != device).toArray(Mmio[]::new);
    }

    public synchronized void mapPorts(String name, int first, int count, PortIoDevice device) {
        List<Ports> l = new ArrayList<>(List.of(ports));
        l.add(new Ports(first, count, device, name));
        ports = l.toArray(Ports[]::new);
    }

    /** Removes a device's I/O port range (an I/O BAR disabled or moved). */
    public synchronized void unmapPorts(PortIoDevice device) {
        ports = List.of(ports).stream().filter(p -> p.device != device).toArray(Ports[]::new);
    }

    private Mmio findMmio(long pa, int size) {
        for (Mmio m : mmio) {
            if (pa >= m.base && pa - m.base < m.length) return m;
        }
        return null;
    }

    /** CPU read of 1, 2, 4 or 8 bytes. */
    public long read(long pa, int size) {
        Mmio m = findMmio(pa, size);
        if (m != null) return m.device.read(pa - m.base, size);
        return memory.read(pa, size);
    }

    public void write(long pa, int size, long value) {
        Mmio m = findMmio(pa, size);
        if (m != null) {
            m.device.write(pa - m.base, size, value);
            return;
        }
        memory.write(pa, size, value);
    }

    /** CPU block read: RAM bytes directly, register bytes one byte access at a time. */
    public byte[] readBytes(long pa, int len) {
        if (findMmioOverlap(pa, len) == null) return memory.readBytes(pa, len);
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) read(pa + i, 1);
        return b;
    }

    public void writeBytes(long pa, byte[] data) {
        if (findMmioOverlap(pa, data.length) == null) {
            memory.writeBytes(pa, data);
            return;
        }
        for (int i = 0; i < data.length; i++) write(pa + i, 1, data[i] & 0xFF);
    }

    private Mmio findMmioOverlap(long pa, long len) {
        for (Mmio m : mmio) {
            if (pa < m.base + m.length && m.base < pa + len) return m;
        }
        return null;
    }

    public long in(int port, int size) {
        for (Ports p : ports) {
            if (port >= p.first && port < p.first + p.count) return p.device.in(port, size);
        }
        return size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1;
    }

    public void out(int port, int size, long value) {
        for (Ports p : ports) {
            if (port >= p.first && port < p.first + p.count) {
                p.device.out(port, size, value);
                return;
            }
        }
    }
}

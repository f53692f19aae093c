package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.bus.PortIoDevice;

/**
 * A Base Address Register (PCI Local Bus spec 6.2.5.1): a memory (32- or 64-bit, optionally
 * prefetchable) or I/O window of a power-of-two size. The address lives in configuration space;
 * size and type bits are read-only, so writing all ones and reading back yields the size mask.
 */
public final class Bar {
    public enum Type { MEMORY32, MEMORY64, IO }

    private final PciFunction function;
    private final int index;
    private final Type type;
    private final long size;
    private final boolean prefetchable;
    private volatile MmioDevice mmio;
    private volatile PortIoDevice io;

    Bar(PciFunction function, int index, Type type, long size, boolean prefetchable) {
        this.function = function;
        this.index = index;
        this.type = type;
        this.size = size;
        this.prefetchable = prefetchable;
    }

    public PciFunction function() {
        return function;
    }

    public int index() {
        return index;
    }

    public Type type() {
        return type;
    }

    public long size() {
        return size;
    }

    public boolean prefetchable() {
        return prefetchable;
    }

    public boolean isMemory() {
        return type != Type.IO;
    }

    /** The low type bits of the register (read-only). */
    int typeBits() {
        return switch (type) {
            case IO -> PciRegs.BAR_IO;
            case MEMORY32 -> prefetchable ? PciRegs.BAR_MEM_PREFETCHABLE : 0;
            case MEMORY64 -> PciRegs.BAR_MEM_TYPE_64 | (prefetchable ? PciRegs.BAR_MEM_PREFETCHABLE : 0);
        };
    }

    /** The address currently programmed (for a VF: derived from the PF's VF BAR). */
    public long address() {
        return function.barAddress(this);
    }

    public MmioDevice mmioHandler() {
        return mmio;
    }

    public PortIoDevice ioHandler() {
        return io;
    }

    void setMmio(MmioDevice d) {
        mmio = d;
    }

    void setIo(PortIoDevice d) {
        io = d;
    }

    @Override
    public String toString() {
        return String.format("%s BAR%d %s size 0x%x at 0x%x", function.name(), index, type, size, address());
    }
}

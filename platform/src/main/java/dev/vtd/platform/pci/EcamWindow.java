package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;

/**
 * Enhanced Configuration Access Mechanism (PCIe base spec 7.2.2; ACPI MCFG): 4 KiB of configuration
 * space per function at base + (bus - startBus) << 20 | device << 15 | function << 12 | register,
 * for buses startBus..endBus of one segment. Accesses of 1, 2 or 4 bytes within a dword are
 * decoded; an 8-byte access is split into two dword accesses; anything else reads all ones.
 */
public final class EcamWindow implements MmioDevice {
    private final PciSegment segment;
    private final int startBus;
    private final int endBus;

    public EcamWindow(PciSegment segment, int startBus, int endBus) {
        if (startBus < 0 || endBus > 255 || endBus < startBus) throw new IllegalArgumentException("ECAM bus range");
        this.segment = segment;
        this.startBus = startBus;
        this.endBus = endBus;
    }

    public int startBus() {
        return startBus;
    }

    public int endBus() {
        return endBus;
    }

    @Override
    public long length() {
        return (long) (endBus - startBus + 1) << 20;
    }

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= length()) return PciFunction.allOnes(size);
        if (size == 8 && (offset & 7) == 0) {
            return (read(offset, 4) & 0xFFFF_FFFFL) | read(offset + 4, 4) << 32;
        }
        if ((size != 1 && size != 2 && size != 4) || (offset & 3) + size > 4) return PciFunction.allOnes(size);
        int bus = startBus + (int) (offset >>> 20);
        int devfn = (int) (offset >>> 12) & 0xFF;
        return segment.configRead(bus, devfn, (int) (offset & 0xFFF), size) & PciFunction.allOnes(size);
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= length()) return;
        if (size == 8 && (offset & 7) == 0) {
            write(offset, 4, value & 0xFFFF_FFFFL);
            write(offset + 4, 4, value >>> 32);
            return;
        }
        if ((size != 1 && size != 2 && size != 4) || (offset & 3) + size > 4) return;
        int bus = startBus + (int) (offset >>> 20);
        int devfn = (int) (offset >>> 12) & 0xFF;
        segment.configWrite(bus, devfn, (int) (offset & 0xFFF), size, (int) value);
    }
}

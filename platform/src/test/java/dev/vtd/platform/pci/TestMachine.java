package dev.vtd.platform.pci;

import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.interrupt.GsiRecorder;
import dev.vtd.platform.memory.PhysicalMemory;

/** A minimal machine for tests: 64 MiB RAM, system bus, CF8/CFC, ECAM at 0xE000_0000, root bus 0. */
public final class TestMachine implements AutoCloseable {
    public static final long ECAM_BASE = 0xE000_0000L;

    public final PhysicalMemory memory = PhysicalMemory.anonymous(64L << 20);
    public final SystemBus bus = new SystemBus(memory);
    public final VirtualClock clock = new VirtualClock();
    public final PciHierarchy pci = new PciHierarchy();
    public final PciSegment segment = pci.addSegment(0);
    public final PciBus root = segment.addRootBus();
    public final GsiRecorder gsis = new GsiRecorder();
    public final TestDma dma;

    public TestMachine() {
        this(0);
    }

    /** @param dmaOffset what the test DMA port adds to every DMA address */
    public TestMachine(long dmaOffset) {
        dma = new TestDma(memory, dmaOffset);
        bus.mapPorts("pci-cf8", Cf8ConfigMechanism.ADDRESS_PORT, 8, new Cf8ConfigMechanism(segment));
        bus.mapMmio("ecam", ECAM_BASE, new EcamWindow(segment, 0, 255));
        pci.attach(bus);
        pci.setGsiSink(gsis);
        segment.setDmaTarget(dma);
        segment.setIntxRouter(IntxRouter.roundRobin(16));
    }

    public static long ecam(int bus, int dev, int fn, int reg) {
        return ECAM_BASE + ((long) bus << 20 | (long) dev << 15 | (long) fn << 12 | reg);
    }

    public int cf8Read(int bus, int dev, int fn, int reg, int size) {
        this.bus.out(0xCF8, 4, 0x8000_0000L | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC));
        return (int) this.bus.in(0xCFC + (reg & 3), size);
    }

    public void cf8Write(int bus, int dev, int fn, int reg, int size, int value) {
        this.bus.out(0xCF8, 4, 0x8000_0000L | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC));
        this.bus.out(0xCFC + (reg & 3), size, value & 0xFFFF_FFFFL);
    }

    public int cfgRead(int bus, int dev, int fn, int reg, int size) {
        return (int) this.bus.read(ecam(bus, dev, fn, reg), size);
    }

    public void cfgWrite(int bus, int dev, int fn, int reg, int size, int value) {
        this.bus.write(ecam(bus, dev, fn, reg), size, value & 0xFFFF_FFFFL);
    }

    /** Programs a 32-bit memory BAR and enables memory decode and bus mastering. */
    public void enable(PciFunction f, int barIndex, long address) {
        int b = f.rid() >>> 8, d = f.deviceNumber(), fn = f.functionNumber();
        cfgWrite(b, d, fn, PciRegs.BAR0 + 4 * barIndex, 4, (int) address);
        if (f.bar(barIndex).type() == Bar.Type.MEMORY64) cfgWrite(b, d, fn, PciRegs.BAR0 + 4 * barIndex + 4, 4, (int) (address >>> 32));
        cfgWrite(b, d, fn, PciRegs.COMMAND, 2, cfgRead(b, d, fn, PciRegs.COMMAND, 2) | PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
    }

    /** Opens a bridge's memory window [base, limit] and enables it (memory + bus master). */
    public void openWindow(PciBridge br, long base, long limit) {
        int b = br.rid() >>> 8, d = br.deviceNumber(), fn = br.functionNumber();
        cfgWrite(b, d, fn, PciRegs.MEMORY_BASE, 2, (int) (base >>> 16) & 0xFFF0);
        cfgWrite(b, d, fn, PciRegs.MEMORY_LIMIT, 2, (int) (limit >>> 16) & 0xFFF0);
        cfgWrite(b, d, fn, PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER | PciRegs.CMD_IO_SPACE);
    }

    @Override
    public void close() {
        memory.close();
    }
}

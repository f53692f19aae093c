package dev.vtd.platform.devices;

import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.TestMachine;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class LegacyAndGpuDeviceTest {
    static final PciIds RP = PciIds.of(0x8086, 0x2f04, 0x060400, 2);
    final TestMachine m = new TestMachine();

    @Test
    void conventionalEngineBehindPcieToPciBridgeCopiesWithTheBridgeAliasAndSharesItsLine() {
        PciBridge rp = m.root.add(0x1c, 0, PciBridge.rootPort("rp", RP));
        PciBridge p2p = rp.secondaryBus().add(0, 0, PciBridge.pcieToPci("p2p", PciIds.of(0x8086, 0x244e, 0x060401, 0xb1)));
        CopyEngine a = new CopyEngine("a", m.clock, false);
        CopyEngine b = new CopyEngine("b", m.clock, false);
        p2p.secondaryBus().add(1, 0, a.function());
        p2p.secondaryBus().add(5, 0, b.function());       // device 1 and 5 swizzle to the same pin
        m.segment.enumerate();
        m.openWindow(rp, 0xFE00_0000L, 0xFE0F_FFFFL);
        m.openWindow(p2p, 0xFE00_0000L, 0xFE0F_FFFFL);
        m.enable(a.function(), 0, 0xFE00_0000L);
        m.enable(b.function(), 0, 0xFE00_1000L);
        assertNull(a.function().msi(), "INTx only");
        assertEquals(m.segment.intxGsi(a.function()), m.segment.intxGsi(b.function()));
        int gsi = m.segment.intxGsi(a.function());

        m.memory.writeBytes(0x4000, "legacy dma".getBytes());
        m.bus.write(0xFE00_0000L + CopyEngine.REG_SRC, 4, 0x4000);
        m.bus.write(0xFE00_0000L + CopyEngine.REG_DST, 4, 0x9000);
        m.bus.write(0xFE00_0000L + CopyEngine.REG_LEN, 4, 10);
        m.bus.write(0xFE00_0000L + CopyEngine.REG_CONTROL, 4, CopyEngine.CTL_START | CopyEngine.CTL_IRQ);
        m.bus.write(0xFE00_1000L + CopyEngine.REG_CONTROL, 4, CopyEngine.CTL_START | CopyEngine.CTL_IRQ);
        m.clock.step(CopyEngine.LATENCY_NS);
        assertArrayEquals("legacy dma".getBytes(), m.memory.readBytes(0x9000, 10));
        assertEquals(List.of(0x0200), m.dma.requesterIds(), "(secondary bus 2, devfn 0) for both devices");
        assertTrue(m.gsis.level(gsi));
        m.bus.write(0xFE00_0000L + CopyEngine.REG_STATUS, 4, CopyEngine.STS_DONE);
        assertTrue(m.gsis.level(gsi), "b still holds the shared line");
        m.bus.write(0xFE00_1000L + CopyEngine.REG_STATUS, 4, CopyEngine.STS_DONE);
        assertFalse(m.gsis.level(gsi));
        assertEquals(1, m.gsis.assertions(gsi));
    }

    @Test
    void gpuHasA16GiBPrefetchableBarAndCopiesBetweenMemoryAndVram() {
        GpuDevice gpu = new GpuDevice("gpu", m.clock);
        PciFunction f = m.root.add(2, 0, gpu.function());
        f.configWrite(PciRegs.BAR0 + 4, 4, -1);
        f.configWrite(PciRegs.BAR0 + 8, 4, -1);
        assertEquals(0x0000_000C, f.configRead(PciRegs.BAR0 + 4, 4));
        assertEquals(0xFFFF_FFFC, f.configRead(PciRegs.BAR0 + 8, 4), "16 GiB");
        f.configWrite(PciRegs.BAR0 + 4, 4, 0);
        f.configWrite(PciRegs.BAR0 + 8, 4, 0x40);                     // BAR1 at 0x40_0000_0000
        m.enable(f, 0, 0xFD00_0000L);
        long vramBar = 0x40_0000_0000L;
        m.bus.write(vramBar + 0x3_0000_0000L, 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, m.bus.read(vramBar + 0x3_0000_0000L, 8));

        long regs = 0xFD00_0000L;
        m.memory.writeBytes(0x7000, "to the gpu".getBytes());
        m.bus.write(regs + GpuDevice.REG_SYS_ADDR, 4, 0x7000);
        m.bus.write(regs + GpuDevice.REG_VRAM_OFFSET, 4, 0x100);
        m.bus.write(regs + GpuDevice.REG_VRAM_OFFSET + 4, 4, 0x2);
        m.bus.write(regs + GpuDevice.REG_LENGTH, 4, 10);
        m.bus.write(regs + GpuDevice.REG_CONTROL, 4, GpuDevice.CTL_START);
        m.clock.step(GpuDevice.LATENCY_NS);
        assertEquals(GpuDevice.STS_DONE, m.bus.read(regs + GpuDevice.REG_STATUS, 4));
        assertArrayEquals("to the gpu".getBytes(), gpu.readVram(0x2_0000_0100L, 10));
        assertArrayEquals("to the gpu".getBytes(), m.bus.readBytes(vramBar + 0x2_0000_0100L, 10));

        m.dma.block(0x8000);
        m.bus.write(regs + GpuDevice.REG_STATUS, 4, GpuDevice.STS_DONE);
        m.bus.write(regs + GpuDevice.REG_SYS_ADDR, 4, 0x8000);
        m.bus.write(regs + GpuDevice.REG_CONTROL, 4, GpuDevice.CTL_START | GpuDevice.CTL_TO_SYSTEM);
        m.clock.step(GpuDevice.LATENCY_NS);
        assertEquals(GpuDevice.STS_ABORTED, m.bus.read(regs + GpuDevice.REG_STATUS, 4));
    }
}

package dev.vtd.firmware.machine;

import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.pci.PciFunction;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MachineTest {
    static Machine q35() {
        return Presets.q35(512L << 20, new Cap(0x00d2008c22260206L), new Ecap(0xf00f4aL), 39, true,
                List.of(new Presets.Edu(4, 0, EduDevice.DEFAULT_DMA_MASK))).build();
    }

    @Test
    void r630DmarScopesPutTheI350UnderTheIncludePciAllUnit() {
        try (Machine m = Presets.r630().build()) {
            assertEquals(2, m.units().size());
            PciFunction port3 = m.function("01:00.3");
            assertNotNull(port3, "I350 port 3 at 01:00.3");
            assertEquals(0x8086, port3.ids().vendorId());
            assertEquals(0x1521, port3.ids().deviceId());
            assertEquals(0xC7FFC000L, m.unitFor(port3).registerBase());
            assertEquals(0xFBFFC000L, m.unitFor(m.function("80:02.0")).registerBase(),
                    "socket 1's root port is in dmar0's scope");
        }
    }

    @Test
    void unitRegistersAreAtTheDrhdBase() {
        try (Machine m = Presets.r630().build()) {
            assertEquals(0x8d2078c106f0466L, m.bus().read(0xC7FFC000L + Reg.CAP, 8));
            assertEquals(0xf020dfL, m.bus().read(0xFBFFC000L + Reg.ECAP, 8));
        }
    }

    @Test
    void hpetFsbMessagesCarryItsDmarSourceIdThroughTheOwningUnit() {
        try (Machine m = Presets.r630().build()) {
            var hpet = m.device("hpet0", dev.vtd.platform.interrupt.Hpet.class);
            assertEquals(0xF078, hpet.sourceId(), "HPET 0 scope f0:0f.0");
            RemappingUnit dmar1 = m.unitAt(0xC7FFC000L).hardware();
            // A remappable-format message (handle 5) with IR enabled and an empty table: fault 0x22 from f0:0f.0.
            dev.vtd.platform.memory.PhysicalMemory mem = m.memory();
            mem.fill(0x20_0000, 0x1000, (byte) 0);
            m.bus().write(0xC7FFC000L + Reg.IRTA, 8, 0x20_0000L | 7);
            m.bus().write(0xC7FFC000L + Reg.GCMD, 4, Reg.GCMD_SIRTP);
            m.bus().write(0xC7FFC000L + Reg.GCMD, 4, Reg.GCMD_IRE);
            long remappable = 0xFEE0_0000L | (5 << 5) | (1 << 4);
            m.bus().write(0xFED0_0000L + 0x110, 8, (remappable << 32));
            m.bus().write(0xFED0_0000L + 0x108, 8, 100);
            m.bus().write(0xFED0_0000L + 0x100, 8, (1 << 2) | (1 << 14));
            m.bus().write(0xFED0_0000L + 0x010, 8, 1);
            m.clock().step(2_000);
            var f = dmar1.faults().history().getLast();
            assertEquals(FaultReason.IR_IRTE_NOT_PRESENT, f.reason());
            assertEquals(0xF078, f.sourceId());
            assertEquals(5L, f.faultInfo() >>> 48, "FI carries the interrupt index");
        }
    }

    @Test
    void biosVtdOffMeansNoTableAndNoUnits() {
        try (Machine m = Presets.r630().vtdEnabledInBios(false).build()) {
            assertNull(m.dmar());
            assertTrue(m.units().isEmpty());
            assertEquals(-1L, m.bus().read(0xC7FFC000L + Reg.CAP, 8), "no registers there");
        }
    }

    @Test
    void eduDmaGoesThroughTheUnitAndFaultsWhenUnmapped() {
        try (Machine m = q35()) {
            // PCI config via CF8/CFC: BAR0 at 0xfe000000, memory + bus master.
            m.bus().out(0xCF8, 4, 0x8000_2010L);
            m.bus().out(0xCFC, 4, 0xFE00_0000L);
            m.bus().out(0xCF8, 4, 0x8000_2004L);
            m.bus().out(0xCFC, 4, 0x6);
            assertEquals(EduDevice.IDENT, m.bus().read(0xFE00_0000L, 4));
            RemappingUnit unit = m.units().getFirst().hardware();
            TableWriter tw = new TableWriter(m.memory(), 0x10_0000, 0x10_0000);
            long pt = tw.allocPage();
            tw.setContext(0x0020, ContextEntry.translated(1, pt, ContextEntry.AW_39));
            tw.map(pt, 3, 0x0123_4000L, 0x40_1000L, 12, true, true);
            m.bus().write(0xFED90000L + Reg.RTADDR, 8, tw.rootTable());
            m.bus().write(0xFED90000L + Reg.GCMD, 4, Reg.GCMD_SRTP);
            m.bus().write(0xFED90000L + Reg.GCMD, 4, Reg.GCMD_TE);
            m.memory().write64(0x30_0000, 0x1122334455667788L);
            // edu: RAM 0x300000 -> buffer, then buffer -> IOVA 0x1234010 (through the IOMMU).
            EduDevice edu = m.device("edu0", EduDevice.class);
            edu.setBuffer(0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
            m.bus().write(0xFE00_0080L, 8, EduDevice.DMA_BUFFER_ADDRESS);
            m.bus().write(0xFE00_0088L, 8, 0x0123_4010L);
            m.bus().write(0xFE00_0090L, 8, 8);
            m.bus().write(0xFE00_0098L, 8, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_TO_RAM);
            m.clock().step(200_000_000L);
            assertEquals(0, m.bus().read(0xFE00_0098L, 8) & 1, "DMA completed");
            assertEquals(0x0807060504030201L, m.memory().read64(0x40_1010L), "landed at the translated address");
            // Unmapped IOVA: blocked and recorded with the edu's source ID 00:04.0.
            m.bus().write(0xFE00_0088L, 8, 0x0555_0000L);
            m.bus().write(0xFE00_0098L, 8, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_TO_RAM);
            m.clock().step(200_000_000L);
            var fault = unit.faults().history().getLast();
            assertEquals(FaultReason.PTE_WRITE, fault.reason());
            assertEquals(0x0020, fault.sourceId());
            assertEquals(0x0555_0000L, fault.faultInfo());
        }
    }
}

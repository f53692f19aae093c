package dev.vtd.firmware.machine;

import dev.vtd.platform.devices.CopyEngine;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.devices.GpuDevice;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.SriovCapability;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Device DMA through the machine's remapping units, as the DMAR table of the desktop preset assigns
 * them: each model's transfer lands at the translated address when its IOVA is mapped and is blocked
 * with a fault record carrying the requester ID the unit sees when it is not.
 */
class MachineDmaTest {
    // igb/I350 queue registers (82576/I350 datasheets): descriptor ring base, length, head, tail, enable.
    static final int TDBAL = 0xE000, TDLEN = 0xE008, TDH = 0xE010, TDT = 0xE018, TXDCTL = 0xE028, TCTL = 0x0400;
    static final int RDBAL = 0xC000, RDLEN = 0xC008, RDT = 0xC018, RXDCTL = 0xC028, RCTL = 0x0100;
    static final int QUEUE_ENABLE = 1 << 25, EN = 1 << 1, CMD_EOP = 1, CMD_RS = 1 << 3, STA_DD = 1;
    static final long TABLE_POOL = 0x4000_0000L;

    private Machine m;

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    /** A unit programmed the way a driver does it: root/context/page tables, RTADDR, SRTP, then TE. */
    final class Remapper {
        final Machine.Unit unit;
        final TableWriter tw;
        final int aw, levels;

        Remapper(Machine.Unit unit, long pool) {
            this.unit = unit;
            this.tw = new TableWriter(m.memory(), pool, 0x100_0000L);
            // SAGAW bit 1 = 39-bit 3-level, bit 2 = 48-bit 4-level tables (VT-d 11.4.2).
            boolean threeLevel = (unit.hardware().cap().sagaw() & 0b010) != 0;
            this.aw = threeLevel ? ContextEntry.AW_39 : ContextEntry.AW_48;
            this.levels = threeLevel ? 3 : 4;
        }

        long domain(int sourceId, int domainId) {
            long pt = tw.allocPage();
            tw.setContext(sourceId, ContextEntry.translated(domainId, pt, aw));
            return pt;
        }

        void map(long pt, long iova, long pa, int pages) {
            for (int i = 0; i < pages; i++) tw.map(pt, levels, iova + i * 4096L, pa + i * 4096L, 12, true, true);
        }

        void enable() {
            long base = unit.registerBase();
            m.bus().write(base + Reg.RTADDR, 8, tw.rootTable());
            m.bus().write(base + Reg.GCMD, 4, Reg.GCMD_SRTP);
            m.bus().write(base + Reg.GCMD, 4, Reg.GCMD_TE);
            assertTrue(unit.hardware().translationEnabled());
        }

        /** Fault recording register n as software reads it (VT-d 11.4.14): SID in bits 79:64, FR in 103:96. */
        long frcdHigh(int n) {
            return m.bus().read(unit.registerBase() + unit.hardware().cap().froBytes() + 16L * n + 8, 8);
        }

        Fault lastFault() {
            List<Fault> h = unit.hardware().faults().history();
            assertFalse(h.isEmpty(), unit.hardware().config().name() + " recorded no fault");
            return h.getLast();
        }
    }

    private Remapper unitFor(PciFunction f, long pool) {
        Machine.Unit u = m.unitFor(f);
        assertNotNull(u, f + " has no unit");
        return new Remapper(u, pool);
    }

    /** Memory decode and bus mastering on the function and every bridge above it. */
    private static void enableBusMaster(PciFunction f) {
        int bits = PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER;
        f.configWrite(PciRegs.COMMAND, 2, f.command() | bits);
        for (PciBridge b = f.bus().upstream(); b != null; b = b.bus().upstream()) {
            b.configWrite(PciRegs.COMMAND, 2, b.command() | bits);
        }
    }

    private static void reg(PciFunction f, int bar, long offset, long value) {
        f.barWrite(f.bar(bar), offset, 4, value);
    }

    private static long reg(PciFunction f, int bar, long offset) {
        return f.barRead(f.bar(bar), offset, 4);
    }

    private static String rid(int rid) {
        return String.format("%02x:%02x.%x", rid >>> 8, (rid >>> 3) & 0x1F, rid & 7);
    }

    // ------------------------------------------------------------------ requester-ID aliasing

    @Test
    void conventionalDeviceBehindPcieToPciBridgeFaultsWithTheBridgeAliasInFrcd() {
        m = Machines.load("desktop").builder().build();
        PciFunction legacy0 = m.device("legacy0", CopyEngine.class).function();
        PciFunction legacy1 = m.device("legacy1", CopyEngine.class).function();
        PciBridge p2p = (PciBridge) legacy0.bus().upstream();
        int alias = p2p.secondaryBusNumber() << 8;           // (secondary bus, 00.0): PCIe-to-PCI bridge spec 2.3
        assertEquals(alias, legacy0.dma().requesterId());
        assertEquals(alias, legacy1.dma().requesterId(), "both conventional devices share the alias");
        assertNotEquals(alias, legacy0.rid());
        Remapper r = unitFor(legacy0, TABLE_POOL);
        assertEquals("dmar1", r.unit.hardware().config().name(), "INCLUDE_PCI_ALL unit owns the bridge's hierarchy");
        long pt = r.domain(alias, 7);
        r.map(pt, 0x10_0000L, 0x20_0000L, 1);               // source
        r.map(pt, 0x11_0000L, 0x21_0000L, 1);               // destination
        r.enable();
        enableBusMaster(legacy0);
        m.memory().writeBytes(0x20_0000L, "through the alias".getBytes(StandardCharsets.US_ASCII));
        reg(legacy0, 0, CopyEngine.REG_SRC, 0x10_0000L);
        reg(legacy0, 0, CopyEngine.REG_DST, 0x11_0000L);
        reg(legacy0, 0, CopyEngine.REG_LEN, 17);
        reg(legacy0, 0, CopyEngine.REG_CONTROL, CopyEngine.CTL_START);
        m.clock().step(CopyEngine.LATENCY_NS);
        assertEquals(CopyEngine.STS_DONE, reg(legacy0, 0, CopyEngine.REG_STATUS));
        assertEquals("through the alias", new String(m.memory().readBytes(0x21_0000L, 17), StandardCharsets.US_ASCII));

        reg(legacy0, 0, CopyEngine.REG_SRC, 0x90_0000L);    // unmapped
        reg(legacy0, 0, CopyEngine.REG_CONTROL, CopyEngine.CTL_START);
        m.clock().step(CopyEngine.LATENCY_NS);
        assertEquals(CopyEngine.STS_ABORTED, reg(legacy0, 0, CopyEngine.REG_STATUS));
        long hi = r.frcdHigh(0);
        assertTrue((hi & Reg.FRCD_HI_F) != 0, "fault recorded");
        assertEquals(alias, (int) (hi & 0xFFFF), "FRCD.SID is the bridge's alias " + rid(alias) + ", not " + rid(legacy0.rid()));
        assertEquals(FaultReason.PTE_READ.code, (int) (hi >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF);
        assertEquals(0x90_0000L, r.lastFault().faultInfo());
    }

    // ------------------------------------------------------------------ SR-IOV through the machine

    private static String desktopYaml() throws IOException {
        try (InputStream in = MachineDmaTest.class.getClassLoader().getResourceAsStream("machines/desktop.yaml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void vfsAppearAtTheirRoutingIdsAndDmaThroughThePfsUnitWithTheirOwnRequesterId() throws IOException {
        // The graphics unit's scope also lists the NIC's two PFs (endpoint scopes): their VFs belong to it too.
        String yaml = desktopYaml().replace("scope: [gpu]", "scope: [gpu, nic]");
        m = MachineDescription.parse(yaml, "desktop+nic.yaml").builder().build();
        I350Nic nic = m.device("nic", I350Nic.class);
        PciFunction pf0 = nic.port(0).function();
        assertEquals("dmar0", m.unitFor(pf0).hardware().config().name());
        int pfBus = pf0.rid() >>> 8;
        // Enable 2 VFs through configuration space, as igb does (SR-IOV spec 3.3.3.1, 3.3.10).
        int s = pf0.sriov().offset();
        long ecam = 0xE000_0000L + ((long) pf0.rid() << 12);
        m.bus().write(ecam + s + SriovCapability.NUM_VFS, 2, 2);
        m.bus().write(ecam + s + SriovCapability.CONTROL, 2, SriovCapability.CTL_VF_ENABLE | SriovCapability.CTL_VF_MSE);
        // First VF Offset 0x180, stride 4: RID = PF RID + 0x180 + n * 4 (SR-IOV spec 2.1.2).
        String vf0Bdf = rid(pf0.rid() + I350Nic.FIRST_VF_OFFSET), vf1Bdf = rid(pf0.rid() + I350Nic.FIRST_VF_OFFSET + 4);
        assertEquals(String.format("%02x:10.0", pfBus + 1), vf0Bdf);
        assertEquals(String.format("%02x:10.4", pfBus + 1), vf1Bdf);
        PciFunction vf1 = m.function(vf1Bdf);
        assertNotNull(vf1, "VF 1 answers at " + vf1Bdf);
        assertTrue(vf1.isVirtualFunction());
        assertSame(pf0, vf1.physicalFunction());
        long vfConfig = 0xE000_0000L + ((long) vf1.rid() << 12);
        assertEquals(0xFFFF, m.bus().read(vfConfig + PciRegs.VENDOR_ID, 2), "a VF's Vendor ID reads FFFFh (SR-IOV 3.4.1.1)");
        assertEquals(0x020000, m.bus().read(vfConfig + PciRegs.REVISION_ID, 4) >>> 8, "but it answers: Ethernet class");
        assertTrue(m.functions().contains(vf1));
        assertSame(m.unitFor(pf0), m.unitFor(vf1), "a VF belongs to its PF's unit");

        Remapper r = unitFor(vf1, TABLE_POOL);
        long pt = r.domain(vf1.rid(), 3);
        r.map(pt, 0x5000_0000L, 0x30_0000L, 1);
        r.enable();
        enableBusMaster(pf0);
        // The VF's own upstream path (its Bus Master Enable, the bridges above the PF). The model's VF
        // queue registers are not reachable through its 16 KiB BAR, so the VF's DMA is issued directly.
        assertFalse(vf1.dma().writeLong(0x5000_0008L, 1), "VF bus mastering still off");
        vf1.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_BUS_MASTER);
        assertTrue(vf1.dma().writeLong(0x5000_0008L, 0x1122_3344_5566_7788L));
        assertEquals(0x1122_3344_5566_7788L, m.memory().read64(0x30_0008L), "landed at the translated address");
        assertTrue(r.unit.hardware().faults().history().isEmpty());

        assertFalse(vf1.dma().writeLong(0x6000_0000L, 1), "unmapped IOVA is blocked");
        Fault f = r.lastFault();
        assertEquals(vf1.rid(), f.sourceId(), "the fault names the VF " + vf1Bdf + ", not the PF");
        assertEquals(FaultReason.PTE_WRITE, f.reason());
        assertEquals(vf1.rid(), (int) (r.frcdHigh(0) & 0xFFFF), "FRCD.SID");
        PciFunction vf0 = m.function(vf0Bdf);
        assertFalse(vf0.dma().enabled(), "VF 0 has no bus mastering yet");
        vf0.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_BUS_MASTER);
        assertEquals(-1, vf0.dma().readInt(0x5000_0000L), "VF 0 has no context entry of its own");
        assertEquals(FaultReason.CONTEXT_NOT_PRESENT, r.lastFault().reason());
        assertEquals(vf0.rid(), r.lastFault().sourceId());
    }

    // ------------------------------------------------------------------ each model's DMA

    @Test
    void eduDmaBehindTheSwitchLandsWhenMappedAndFaultsWhenNot() {
        m = Machines.load("desktop").builder().build();
        EduDevice edu = m.device("edu0", EduDevice.class);
        PciFunction f = edu.function();
        assertEquals(f.rid(), f.dma().requesterId(), "PCIe switch ports pass requester IDs unchanged");
        Remapper r = unitFor(f, TABLE_POOL);
        assertEquals("dmar1", r.unit.hardware().config().name());
        long pt = r.domain(f.rid(), 1);
        r.map(pt, 0x0123_4000L, 0x40_1000L, 1);
        r.enable();
        enableBusMaster(f);
        edu.setBuffer(0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        f.barWrite(f.bar(0), 0x80, 8, EduDevice.DMA_BUFFER_ADDRESS);
        f.barWrite(f.bar(0), 0x88, 8, 0x0123_4010L);
        f.barWrite(f.bar(0), 0x90, 8, 8);
        f.barWrite(f.bar(0), 0x98, 8, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_TO_RAM);
        m.clock().step(EduDevice.DMA_DELAY_NS * 2);
        assertEquals(0x0807060504030201L, m.memory().read64(0x40_1010L));
        f.barWrite(f.bar(0), 0x88, 8, 0x0555_0000L);
        f.barWrite(f.bar(0), 0x98, 8, EduDevice.DMA_CMD_RUN | EduDevice.DMA_CMD_TO_RAM);
        m.clock().step(EduDevice.DMA_DELAY_NS * 2);
        Fault fault = r.lastFault();
        assertEquals(FaultReason.PTE_WRITE, fault.reason());
        assertEquals(f.rid(), fault.sourceId());
        assertEquals(0x0555_0000L, fault.faultInfo());
    }

    @Test
    void i350RingsLoopBackThroughTheUnitAndAnUnmappedRxBufferFaults() {
        m = Machines.load("desktop").builder().build();
        I350Nic nic = m.device("nic", I350Nic.class);
        PciFunction pf = nic.port(0).function();
        Remapper r = unitFor(pf, TABLE_POOL);
        long pt = r.domain(pf.rid(), 2);
        r.map(pt, 0x1_0000_0000L, 0x50_0000L, 8);             // IOVA 4 GiB.. -> RAM 5 MiB..
        r.enable();
        enableBusMaster(pf);
        nic.port(0).loopback();
        long txRing = 0x50_0000L, rxRing = 0x50_1000L, txBuf = 0x50_2000L, rxBuf = 0x50_3000L;
        byte[] frame = new byte[60];
        for (int i = 0; i < frame.length; i++) frame[i] = (byte) (0xA0 + i);
        m.memory().writeBytes(txBuf, frame);
        m.memory().write64(txRing, 0x1_0000_2000L);
        m.memory().write64(txRing + 8, 60L | (long) (CMD_EOP | CMD_RS) << 24);
        m.memory().write64(rxRing, 0x1_0000_3000L);
        m.memory().write64(rxRing + 16, 0x2_0000_0000L);       // second RX buffer: unmapped IOVA
        reg(pf, 0, RDBAL, 0x1_0000_1000L & 0xFFFF_FFFFL);
        reg(pf, 0, RDBAL + 4, 1);
        reg(pf, 0, RDLEN, 8 * 16);
        reg(pf, 0, RXDCTL, QUEUE_ENABLE);
        reg(pf, 0, RDT, 2);
        reg(pf, 0, RCTL, EN);
        reg(pf, 0, TDBAL, 0);
        reg(pf, 0, TDBAL + 4, 1);
        reg(pf, 0, TDLEN, 8 * 16);
        reg(pf, 0, TXDCTL, QUEUE_ENABLE);
        reg(pf, 0, TCTL, EN);
        reg(pf, 0, TDT, 1);
        m.clock().step(1_000_000L);
        assertEquals(1, nic.port(0).rxPackets());
        assertArrayEquals(frame, m.memory().readBytes(rxBuf, 60), "the frame landed at the translated RX buffer");
        assertEquals(STA_DD, m.memory().read8(rxRing + 12) & STA_DD);
        assertTrue(r.unit.hardware().faults().history().isEmpty());

        m.memory().write64(txRing + 16, 0x1_0000_2000L);
        m.memory().write64(txRing + 24, 60L | (long) (CMD_EOP | CMD_RS) << 24);
        reg(pf, 0, TDT, 2);
        m.clock().step(1_000_000L);
        Fault f = r.lastFault();
        assertEquals(pf.rid(), f.sourceId());
        assertEquals(0x2_0000_0000L, f.faultInfo());
        assertEquals(FaultReason.PTE_WRITE, f.reason());
        assertTrue(nic.port(0).dmaErrors() > 0);
    }

    @Test
    void gpuCopyEngineGoesThroughTheGraphicsUnit() {
        m = Machines.load("desktop").builder().build();
        GpuDevice gpu = m.device("gpu", GpuDevice.class);
        PciFunction f = gpu.function();
        Remapper r = unitFor(f, TABLE_POOL);
        assertEquals(0xFED90000L, r.unit.registerBase(), "the graphics DRHD's scope names the GPU");
        long pt = r.domain(f.rid(), 1);
        r.map(pt, 0x7000_0000L, 0x60_0000L, 1);
        r.enable();
        enableBusMaster(f);
        m.memory().writeBytes(0x60_0000L, "pixels".getBytes(StandardCharsets.US_ASCII));
        reg(f, 0, GpuDevice.REG_SYS_ADDR, 0x7000_0000L);
        reg(f, 0, GpuDevice.REG_VRAM_OFFSET, 0x100);
        reg(f, 0, GpuDevice.REG_VRAM_OFFSET + 4, 3);           // beyond 4 GiB of the 16 GiB of VRAM
        reg(f, 0, GpuDevice.REG_LENGTH, 6);
        reg(f, 0, GpuDevice.REG_CONTROL, GpuDevice.CTL_START);
        m.clock().step(GpuDevice.LATENCY_NS);
        assertEquals(GpuDevice.STS_DONE, reg(f, 0, GpuDevice.REG_STATUS));
        assertArrayEquals("pixels".getBytes(StandardCharsets.US_ASCII), gpu.readVram(0x3_0000_0100L, 6));

        reg(f, 0, GpuDevice.REG_STATUS, GpuDevice.STS_DONE);
        reg(f, 0, GpuDevice.REG_SYS_ADDR, 0x7100_0000L);        // unmapped, VRAM -> system memory
        reg(f, 0, GpuDevice.REG_CONTROL, GpuDevice.CTL_START | GpuDevice.CTL_TO_SYSTEM);
        m.clock().step(GpuDevice.LATENCY_NS);
        assertEquals(GpuDevice.STS_ABORTED, reg(f, 0, GpuDevice.REG_STATUS));
        Fault fault = r.lastFault();
        assertEquals(f.rid(), fault.sourceId());
        assertEquals(FaultReason.PTE_WRITE, fault.reason());
        assertTrue(m.units().get(1).hardware().faults().history().isEmpty(), "the other unit saw nothing");
    }
}

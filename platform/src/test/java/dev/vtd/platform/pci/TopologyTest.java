package dev.vtd.platform.pci;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.vtd.platform.pci.PciRegs.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Root bus 0: 00.0 host bridge; 01.0 root port A -> switch (up 01:00.0; down 02:00.0 -> 03:00.0
 * endpoint X; down 02:01.0 -> PCIe-to-PCI bridge 04:00.0 -> conventional device Y at 05:02.0 and a
 * conventional PCI-to-PCI bridge at 05:03.0 -> device Z at 06:00.0); 02.0 root port B -> 07:00.0 W.
 */
class TopologyTest {
    static final PciIds RP = PciIds.of(0x8086, 0x2f04, 0x060400, 2);
    static final PciIds UP = PciIds.of(0x10b5, 0x8747, 0x060400, 0xca);
    static final PciIds DOWN = PciIds.of(0x10b5, 0x8747, 0x060400, 0xca);
    static final PciIds P2P = PciIds.of(0x1b21, 0x1080, 0x060401, 3);
    static final PciIds LEGACY = PciIds.of(0x8086, 0x244e, 0x060401, 0xb1);

    static PciFunction ep(String name, boolean pcie) {
        PciFunction f = new PciFunction(name, PciIds.of(0x1234, 0x5678, 0x088000, 1), pcie);
        f.setInterruptPin(1);
        return f;
    }

    final TestMachine m = new TestMachine();
    final PciBridge rootA = PciBridge.rootPort("rpA", RP);
    final PciBridge rootB = PciBridge.rootPort("rpB", RP);
    final PcieSwitch sw = new PcieSwitch("sw", UP, DOWN, 2);
    final PciBridge p2p = PciBridge.pcieToPci("p2p", P2P);
    final PciBridge legacy = PciBridge.pciToPci("legacy", LEGACY);
    final PciFunction x = ep("X", true);
    final PciFunction y = ep("Y", false);
    final PciFunction z = ep("Z", false);
    final PciFunction w = ep("W", true);

    TopologyTest() {
        m.root.add(0, 0, HostBridge.q35());
        m.root.add(1, 0, rootA);
        m.root.add(2, 0, rootB);
        rootA.secondaryBus().add(0, 0, sw.upstream());
        sw.downstream(0).secondaryBus().add(0, 0, x);
        sw.downstream(1).secondaryBus().add(0, 0, p2p);
        p2p.secondaryBus().add(2, 0, y);
        p2p.secondaryBus().add(3, 0, legacy);
        legacy.secondaryBus().add(0, 0, z);
        rootB.secondaryBus().add(0, 0, w);
    }

    private static int[] busNumbers(PciBridge b) {
        return new int[] {b.primaryBusNumber(), b.secondaryBusNumber(), b.subordinateBusNumber()};
    }

    @Test
    void firmwareEnumerationNumbersBusesDepthFirst() {
        m.segment.enumerate();
        assertArrayEquals(new int[] {0, 1, 6}, busNumbers(rootA));
        assertArrayEquals(new int[] {1, 2, 6}, busNumbers(sw.upstream()));
        assertArrayEquals(new int[] {2, 3, 3}, busNumbers(sw.downstream(0)));
        assertArrayEquals(new int[] {2, 4, 6}, busNumbers(sw.downstream(1)));
        assertArrayEquals(new int[] {4, 5, 6}, busNumbers(p2p));
        assertArrayEquals(new int[] {5, 6, 6}, busNumbers(legacy));
        assertArrayEquals(new int[] {0, 7, 7}, busNumbers(rootB));
        assertEquals("0000:03:00.0", x.address());
        assertEquals("0000:05:02.0", y.address());
        assertEquals("0000:06:00.0", z.address());
        assertEquals("0000:07:00.0", w.address());
        assertSame(z, m.segment.lookup(6, 0));
        assertSame(sw.downstream(1), m.segment.lookup(2, devfn(1, 0)));
    }

    @Test
    void configReadsReachFunctionsThroughBridgesAndNothingReadsAllOnes() {
        m.segment.enumerate();
        assertEquals(0x5678_1234, m.cfgRead(6, 0, 0, VENDOR_ID, 4));
        assertEquals(0xFFFF_FFFF, m.cfgRead(6, 1, 0, VENDOR_ID, 4), "no device 1 on bus 6");
        assertEquals(0xFFFF_FFFF, m.cfgRead(8, 0, 0, VENDOR_ID, 4), "no bridge claims bus 8");
        assertEquals(0xFFFF, m.cf8Read(0, 9, 0, VENDOR_ID, 2));
    }

    @Test
    void pinnedBusNumbersAreKeptAndNumberingContinuesAfterThem() {
        rootB.pinBusNumbers(0x20, 0x2f);
        m.segment.enumerate();
        assertArrayEquals(new int[] {0, 0x20, 0x2f}, busNumbers(rootB));
        assertEquals("0000:20:00.0", w.address());
    }

    @Test
    void unconfiguredBridgesHideTheirSubtree() {
        assertEquals(0xFFFF_FFFF, m.cfgRead(3, 0, 0, VENDOR_ID, 4));
        assertEquals(0x0000_0000, rootA.secondaryBusNumber());
    }

    @Test
    void requesterIdOfAPcieDeviceIsItsOwn() {
        m.segment.enumerate();
        assertEquals(0x0300, x.dma().requesterId());
        assertEquals(List.of(0x0300), x.dmaAliases());
    }

    @Test
    void pcieToPciBridgeAliasesConventionalDevicesToSecondaryBusDevfn0() {
        m.segment.enumerate();
        assertEquals(0x0500, y.dma().requesterId());
        assertEquals(List.of(0x0510, 0x0500), y.dmaAliases());
    }

    @Test
    void legacyPciBridgeUsesItsOwnRequesterIdAndTheOutermostAliasWins() {
        m.segment.enumerate();
        assertEquals(List.of(0x0600, 0x0518, 0x0500), z.dmaAliases());
        assertEquals(0x0500, z.dma().requesterId());
    }

    @Test
    void legacyBridgeDirectlyBelowARootPortStampsItsOwnId() {
        TestMachine t = new TestMachine();
        PciBridge rp = t.root.add(1, 0, PciBridge.rootPort("rp", RP));
        PciBridge lb = rp.secondaryBus().add(0, 0, PciBridge.pciToPci("lb", LEGACY));
        PciFunction d = lb.secondaryBus().add(4, 0, ep("d", false));
        t.segment.enumerate();
        d.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        lb.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        rp.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        assertTrue(d.dma().writeInt(0x1000, 0x1234));
        assertEquals(List.of(0x0100), t.dma.requesterIds(), "the bridge's own RID 01:00.0");
        assertEquals(List.of(0x0220, 0x0100), d.dmaAliases());
    }

    @Test
    void dmaCarriesTheAliasedRequesterIdToTheRouter() {
        m.segment.enumerate();
        for (PciFunction f : List.of(rootA, sw.upstream(), sw.downstream(1), p2p, y)) f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        int[] routed = {-1};
        m.segment.setDmaRouter(rid -> {
            routed[0] = rid;
            return m.dma;
        });
        assertTrue(y.dma().writeInt(0x2000, 0xCAFE));
        assertEquals(0x0500, routed[0]);
        assertEquals(0xCAFE, m.memory.read32(0x2000));
    }

    @Test
    void srIovVfsTakeRoutingIdsFromOffsetAndStrideAcrossBusNumbers() {
        TestMachine t = new TestMachine();
        PciBridge rp = t.root.add(1, 0, PciBridge.rootPort("rp", RP));
        PciBridge rp2 = t.root.add(2, 0, PciBridge.rootPort("rp2", RP));
        PciFunction pf = new PciFunction("pf", PciIds.of(0x8086, 0x1521, 0x020000, 1), true);
        SriovCapability s = pf.addCapability(new SriovCapability(4, 4, 0xF0, 8, 0x1520, null).vfMemoryBar(0, 0x4000, true, true));
        rp.secondaryBus().add(0, 0, pf);
        t.segment.enumerate();
        assertEquals(2, rp.subordinateBusNumber(), "firmware reserves the bus the last VF needs");
        assertEquals(3, rp2.secondaryBusNumber());
        int ctl = s.offset() + SriovCapability.CONTROL;
        pf.configWrite(s.offset() + SriovCapability.NUM_VFS, 2, 4);
        pf.configWrite(ctl, 2, SriovCapability.CTL_VF_ENABLE | SriovCapability.CTL_VF_MSE);
        List<Integer> rids = s.virtualFunctions().stream().map(PciFunction::rid).toList();
        assertEquals(List.of(0x01F0, 0x01F8, 0x0200, 0x0208), rids);
        // VF 2 answers config on bus 2: Vendor/Device read FFFFh, class code is the PF's.
        assertEquals(0xFFFF_FFFF, t.cfgRead(2, 0, 0, VENDOR_ID, 4));
        assertEquals(0x020000, t.cfgRead(2, 0, 0, REVISION_ID, 4) >>> 8);
        assertSame(s.virtualFunctions().get(3), t.segment.lookup(0x0208));
        assertEquals(0x1520, pf.configRead(s.offset() + SriovCapability.VF_DEVICE_ID, 2));
        pf.configWrite(s.offset() + SriovCapability.NUM_VFS, 2, 1);
        assertEquals(4, s.numVfs(), "NumVFs holds while VF Enable is set");
        pf.configWrite(ctl, 2, 0);
        assertTrue(s.virtualFunctions().isEmpty());
        assertEquals(0xFFFF_FFFF, t.cfgRead(2, 0, 0, REVISION_ID, 4), "VF gone");
    }

    @Test
    void vfBarsAreSizedPerVfAndVfKSitsAtBasePlusKTimesSize() {
        TestMachine t = new TestMachine();
        PciFunction pf = new PciFunction("pf", PciIds.of(0x8086, 0x1521, 0x020000, 1), true);
        SriovCapability s = pf.addCapability(new SriovCapability(8, 8, 0x80, 2, 0x1520, null).vfMemoryBar(0, 0x4000, true, true));
        t.root.add(4, 0, pf);
        int bar = s.offset() + SriovCapability.VF_BAR0;
        pf.configWrite(bar, 4, -1);
        pf.configWrite(bar + 4, 4, -1);
        assertEquals(0xFFFF_C00C, pf.configRead(bar, 4));
        pf.configWrite(bar, 4, 0xD000_0000);
        pf.configWrite(bar + 4, 4, 0);
        pf.configWrite(s.offset() + SriovCapability.NUM_VFS, 2, 3);
        pf.configWrite(s.offset() + SriovCapability.CONTROL, 2, SriovCapability.CTL_VF_ENABLE);
        assertEquals(0xD000_8000L, s.virtualFunctions().get(2).bar(0).address());
        assertEquals(0x0020 + 0x80 + 4, s.virtualFunctions().get(2).rid());
    }

    @Test
    void cf8AndEcamSeeTheSameConfigurationSpace() {
        m.segment.enumerate();
        for (int bus = 0; bus < 8; bus++) {
            for (int dev = 0; dev < 32; dev++) {
                for (int reg = 0; reg < 256; reg += 4) {
                    assertEquals(m.cfgRead(bus, dev, 0, reg, 4), m.cf8Read(bus, dev, 0, reg, 4), bus + ":" + dev + " " + reg);
                }
            }
        }
        // A write through one mechanism is visible through the other, byte lanes included.
        m.cf8Write(7, 0, 0, INTERRUPT_LINE, 1, 0x0B);
        assertEquals(0x0B, m.cfgRead(7, 0, 0, INTERRUPT_LINE, 1));
        m.cfgWrite(7, 0, 0, CACHE_LINE_SIZE, 1, 0x10);
        assertEquals(0x10, m.cf8Read(7, 0, 0, CACHE_LINE_SIZE, 1));
        assertEquals(0x5678, m.cf8Read(7, 0, 0, DEVICE_ID, 2));
    }

    @Test
    void cf8WithoutTheEnableBitReadsAllOnes() {
        m.bus.out(0xCF8, 4, 0x0000_0000L);
        assertEquals(0xFFFF_FFFFL, m.bus.in(0xCFC, 4));
        m.bus.out(0xCF8, 4, 0x8000_0003L);
        assertEquals(0x8000_0000L, m.bus.in(0xCF8, 4), "address bits 1:0 read 0");
    }
}

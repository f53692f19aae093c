package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.interrupt.InterruptRecorder.Delivered;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.vtd.platform.pci.PciRegs.*;
import static org.junit.jupiter.api.Assertions.*;

class DmaAndInterruptTest {
    static final PciIds RP = PciIds.of(0x8086, 0x2f04, 0x060400, 2);
    static final MmioDevice ZERO = new MmioDevice() {
        @Override public long read(long offset, int size) { return 0; }
        @Override public void write(long offset, int size, long value) { }
        @Override public long length() { return 0x4000; }
    };

    final TestMachine m = new TestMachine();

    private PciFunction endpoint(String name) {
        PciFunction f = new PciFunction(name, PciIds.of(0x1234, 0x1, 0xff00, 0), true);
        f.setInterruptPin(1);
        return f;
    }

    @Test
    void busMasterEnableGatesDmaOfTheFunction() {
        PciFunction f = m.root.add(3, 0, endpoint("f"));
        assertFalse(f.dma().writeInt(0x1000, 0x55));
        assertEquals(0, m.memory.read32(0x1000));
        assertEquals(1, f.dma().gatedRequests());
        assertTrue(m.dma.log.isEmpty(), "nothing was issued upstream");
        f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        assertTrue(f.dma().writeInt(0x1000, 0x55));
        assertEquals(0x55, m.memory.read32(0x1000));
    }

    @Test
    void busMasterEnableOfEveryBridgeAboveGatesDma() {
        PciBridge rp = m.root.add(1, 0, PciBridge.rootPort("rp", RP));
        PciFunction f = rp.secondaryBus().add(0, 0, endpoint("f"));
        m.segment.enumerate();
        f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        assertFalse(f.dma().enabled());
        assertEquals(0, f.dma().write(0x1000, java.lang.foreign.MemorySegment.ofArray(new byte[8]), 0, 8));
        rp.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        assertTrue(f.dma().enabled());
    }

    @Test
    void aBlockedDmaReadSetsReceivedMasterAbort() {
        PciFunction f = m.root.add(3, 0, endpoint("f"));
        f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        m.dma.block(0x5000);
        byte[] b = new byte[0x2000];
        assertEquals(0x1000, f.dma().read(0x4000, java.lang.foreign.MemorySegment.ofArray(b), 0, b.length));
        assertTrue((f.configRead(STATUS, 2) & STS_RECEIVED_MASTER_ABORT) != 0);
    }

    @Test
    void msiMessageCarriesTheVectorInTheLowDataBitsAndNeedsBusMaster() {
        PciFunction f = endpoint("f");
        MsiCapability msi = f.addCapability(new MsiCapability(4, true, false));
        m.root.add(3, 0, f);
        int o = msi.offset();
        f.configWrite(o + MsiCapability.ADDRESS_LO, 4, 0xFEE0_1000);
        f.configWrite(o + 8, 4, 0);
        f.configWrite(o + msi.dataOffset(), 2, 0x4040);
        f.configWrite(o + MsiCapability.CONTROL, 2, MsiCapability.CTL_ENABLE | 2 << MsiCapability.CTL_MME_SHIFT);
        assertFalse(msi.signal(3), "Bus Master Enable clear: no message");
        assertEquals(0, m.dma.interrupts.count());
        f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        assertTrue(msi.signal(3));
        assertTrue(msi.signal(1));
        assertFalse(msi.signal(4), "beyond the 4 allocated vectors");
        List<Delivered> d = m.dma.interrupts.delivered();
        assertEquals(List.of(0x4043, 0x4041), d.stream().map(Delivered::data).toList());
        assertEquals(0xFEE0_1000L, d.get(0).address());
    }

    @Test
    void maskedMsiVectorBecomesPendingAndIsSentOnUnmask() {
        PciFunction f = endpoint("f");
        MsiCapability msi = f.addCapability(new MsiCapability(1, false, true));
        m.root.add(3, 0, f);
        int o = msi.offset();
        f.configWrite(COMMAND, 2, CMD_BUS_MASTER);
        f.configWrite(o + MsiCapability.ADDRESS_LO, 4, 0xFEE0_0000);
        f.configWrite(o + msi.dataOffset(), 2, 0x31);
        f.configWrite(o + msi.maskOffset(), 4, 1);
        f.configWrite(o + MsiCapability.CONTROL, 2, MsiCapability.CTL_ENABLE);
        assertFalse(msi.signal(0));
        assertEquals(1, f.configRead(o + msi.pendingOffset(), 4));
        assertEquals(0, m.dma.interrupts.count());
        f.configWrite(o + msi.pendingOffset(), 4, 0);
        assertEquals(1, f.configRead(o + msi.pendingOffset(), 4), "pending bits are read-only");
        f.configWrite(o + msi.maskOffset(), 4, 0);
        assertEquals(0, f.configRead(o + msi.pendingOffset(), 4));
        assertEquals(1, m.dma.interrupts.count());
        assertEquals(0x31, m.dma.interrupts.delivered().get(0).vector());
    }

    private PciFunction msixFunction() {
        PciFunction f = endpoint("x");
        f.addMemoryBar(0, 0x4000, false, false, ZERO);
        f.addCapability(new MsixCapability(4, 0, 0x2000, 0, 0x3000));
        m.root.add(5, 0, f);
        m.enable(f, 0, 0xFE00_0000L);
        return f;
    }

    @Test
    void msixTableIsProgrammedThroughTheBarAndVectorsStartMasked() {
        PciFunction f = msixFunction();
        MsixCapability x = f.msix();
        assertEquals(3, f.configRead(x.offset() + MsixCapability.CONTROL, 2) & MsixCapability.CTL_TABLE_SIZE_MASK);
        assertEquals(0x2000, f.configRead(x.offset() + MsixCapability.TABLE, 4));
        assertEquals(0x3000, f.configRead(x.offset() + MsixCapability.PBA, 4));
        long entry2 = 0xFE00_2000L + 2 * 16;
        assertEquals(1, m.bus.read(entry2 + 12, 4), "vector control resets with Mask set");
        m.bus.write(entry2, 4, 0xFEE0_2003L);
        m.bus.write(entry2 + 4, 4, 0);
        m.bus.write(entry2 + 8, 4, 0x61);
        assertEquals(0xFEE0_2000L, m.bus.read(entry2, 4), "address bits 1:0 are not writable");
        f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        assertFalse(x.signal(2));
        assertEquals(1L << 2, m.bus.read(0xFE00_3000L, 8), "masked vector: PBA bit set");
        m.bus.write(entry2 + 12, 4, 0);
        assertEquals(0, m.bus.read(0xFE00_3000L, 8), "unmask sends the pending message and clears PBA");
        assertEquals(List.of(0x61), m.dma.interrupts.delivered().stream().map(Delivered::data).toList());
        assertTrue(x.signal(2));
        assertEquals(2, m.dma.interrupts.count());
    }

    @Test
    void msixFunctionMaskHoldsEveryVectorPending() {
        PciFunction f = msixFunction();
        MsixCapability x = f.msix();
        for (int v = 0; v < 4; v++) {
            m.bus.write(0xFE00_2000L + v * 16, 4, 0xFEE0_0000L);
            m.bus.write(0xFE00_2000L + v * 16 + 8, 4, 0x40 + v);
            m.bus.write(0xFE00_2000L + v * 16 + 12, 4, 0);
        }
        f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE | MsixCapability.CTL_FUNCTION_MASK);
        x.signal(0);
        x.signal(3);
        assertEquals(0b1001, m.bus.read(0xFE00_3000L, 8));
        m.bus.write(0xFE00_3000L, 8, 0);
        assertEquals(0b1001, m.bus.read(0xFE00_3000L, 8), "PBA is read-only");
        assertEquals(0, m.dma.interrupts.count());
        f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        assertEquals(List.of(0x40, 0x43), m.dma.interrupts.delivered().stream().map(Delivered::data).toList());
        assertEquals(0, m.bus.read(0xFE00_3000L, 8));
    }

    @Test
    void intxIsSwizzledThroughBridgesToTheRootBusSlot() {
        // Root port at 00:1c.0; device at 01:00.0 pin B; a switch below would swizzle again.
        PciBridge rp = m.root.add(0x1c, 0, PciBridge.rootPort("rp", RP));
        PcieSwitch sw = new PcieSwitch("sw", RP, RP, 2);
        rp.secondaryBus().add(0, 0, sw.upstream());
        PciFunction a = endpoint("a");
        sw.downstream(1).secondaryBus().add(0, 0, a);
        m.segment.enumerate();
        // a: dev 0 pin A -> at downstream port (dev 1): ((1-1+0)%4)+1 = A; crossing it: dev 1 -> B;
        // crossing upstream port (dev 0) -> B; crossing root port: root slot 0x1c with pin B.
        int expected = 16 + ((0x1c + 2 - 1) & 3);
        assertEquals(expected, m.segment.intxGsi(a));
        a.setIntx(true);
        assertTrue(m.gsis.level(expected));
        a.setIntx(false);
        assertFalse(m.gsis.level(expected));
    }

    @Test
    void sharedLineStaysAssertedWhileAnyFunctionAssertsIt() {
        PciFunction a = m.root.add(4, 0, endpoint("a"));
        PciFunction b = m.root.add(8, 0, endpoint("b"));   // (8 + 1 - 1) & 3 == (4 + 1 - 1) & 3: same line
        int gsi = m.segment.intxGsi(a);
        assertEquals(gsi, m.segment.intxGsi(b));
        a.setIntx(true);
        b.setIntx(true);
        assertEquals(1, m.gsis.assertions(gsi), "one rising edge for two sources");
        a.setIntx(false);
        assertTrue(m.gsis.level(gsi), "b still asserts");
        b.setIntx(false);
        assertFalse(m.gsis.level(gsi));
    }

    @Test
    void interruptDisableMasksIntxButStatusStillShowsIt() {
        PciFunction a = m.root.add(4, 0, endpoint("a"));
        int gsi = m.segment.intxGsi(a);
        a.configWrite(COMMAND, 2, CMD_INTX_DISABLE);
        a.setIntx(true);
        assertFalse(m.gsis.level(gsi));
        assertTrue((a.configRead(STATUS, 2) & STS_INTERRUPT) != 0);
        a.configWrite(COMMAND, 2, 0);
        assertTrue(m.gsis.level(gsi), "clearing Interrupt Disable lets the pending level through");
    }

    @Test
    void barIsDecodedOnlyWithMemorySpaceEnableAndInsideTheBridgeWindow() {
        long[] seen = {-1};
        PciFunction f = endpoint("f");
        f.addMemoryBar(0, 0x1000, false, false, new MmioDevice() {
            @Override public long read(long offset, int size) { return 0xAB00 | offset; }
            @Override public void write(long offset, int size, long value) { seen[0] = value; }
            @Override public long length() { return 0x1000; }
        });
        PciBridge rp = m.root.add(1, 0, PciBridge.rootPort("rp", RP));
        rp.secondaryBus().add(0, 0, f);
        m.segment.enumerate();
        f.configWrite(BAR0, 4, 0xFE40_0000);
        f.configWrite(COMMAND, 2, CMD_MEMORY_SPACE);
        assertEquals(0xFFFF_FFFFL, m.bus.read(0xFE40_0010L, 4), "bridge window closed");
        m.openWindow(rp, 0xFE40_0000L, 0xFE4F_FFFFL);
        assertEquals(0xAB10L, m.bus.read(0xFE40_0010L, 4));
        m.bus.write(0xFE40_0000L, 4, 7);
        assertEquals(7, seen[0]);
        f.configWrite(BAR0, 4, 0xFE50_0000);
        assertEquals(0xFFFF_FFFFL, m.bus.read(0xFE50_0010L, 4), "moved outside the window");
        f.configWrite(BAR0, 4, 0xFE41_0000);
        assertEquals(0xAB10L, m.bus.read(0xFE41_0010L, 4));
        assertEquals(0xFFFF_FFFFL, m.bus.read(0xFE40_0010L, 4), "old address no longer decoded");
        f.configWrite(COMMAND, 2, 0);
        assertEquals(0xFFFF_FFFFL, m.bus.read(0xFE41_0010L, 4));
    }
}

package dev.vtd.platform.devices;

import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.TestMachine;
import org.junit.jupiter.api.Test;

import static dev.vtd.platform.devices.EduDevice.*;
import static org.junit.jupiter.api.Assertions.*;

/** edu at 00:04.0 with BAR0 at 0xfe000000 and command 0x0006, as the conformance harness sets it up. */
class EduDeviceTest {
    static final long BAR = 0xFE00_0000L;
    final TestMachine m;
    final EduDevice edu;
    final PciFunction fn;

    EduDeviceTest() {
        m = new TestMachine(0x10_0000);   // the test DMA port translates IOVA x to PA x + 1 MiB
        edu = new EduDevice("edu", m.clock);
        fn = m.root.add(4, 0, edu.function());
    }

    private void setUp() {
        m.cf8Write(0, 4, 0, PciRegs.BAR0, 4, (int) BAR);
        m.cf8Write(0, 4, 0, PciRegs.COMMAND, 2, 0x0006);
    }

    @Test
    void configSpaceMatchesQemu() {
        // Values the harness recorded from QEMU (golden s01).
        assertEquals(0x11e81234, m.cf8Read(0, 4, 0, 0x00, 4));
        assertEquals(0x00100000, m.cf8Read(0, 4, 0, 0x04, 4));
        assertEquals(0x00ff0010, m.cf8Read(0, 4, 0, 0x08, 4));
        assertEquals(0x00000040, m.cf8Read(0, 4, 0, 0x34, 4));
        assertEquals(0x00800005, m.cf8Read(0, 4, 0, 0x40, 4));
        assertEquals(0x00000100, m.cf8Read(0, 4, 0, 0x3c, 4));
        assertEquals(0x11001af4, m.cf8Read(0, 4, 0, 0x2c, 4));
        m.cf8Write(0, 4, 0, PciRegs.BAR0, 4, -1);
        assertEquals(0xfff00000, m.cf8Read(0, 4, 0, PciRegs.BAR0, 4));
        assertEquals(0x0020, fn.rid());
    }

    @Test
    void identLivenessAndAccessSizes() {
        setUp();
        assertEquals(IDENT, m.bus.read(BAR + REG_IDENT, 4));
        m.bus.write(BAR + REG_LIVENESS, 4, 0x12345678L);
        assertEquals(~0x12345678 & 0xFFFF_FFFFL, m.bus.read(BAR + REG_LIVENESS, 4));
        assertEquals(0xFFFFL, m.bus.read(BAR + REG_IDENT, 2), "below 0x80 only dword accesses");
        assertEquals(0xFFFF_FFFFL, m.bus.read(BAR + 0x10, 4), "undecoded register");
    }

    @Test
    void factorialCompletesInVirtualTimeAndRaisesIrqWhenAsked() {
        setUp();
        m.bus.write(BAR + REG_STATUS, 4, STATUS_IRQ_FACTORIAL);
        m.bus.write(BAR + REG_FACTORIAL, 4, 10);
        assertEquals(STATUS_COMPUTING | STATUS_IRQ_FACTORIAL, m.bus.read(BAR + REG_STATUS, 4));
        m.bus.write(BAR + REG_FACTORIAL, 4, 3);   // ignored while computing
        m.clock.step(FACTORIAL_DELAY_NS);
        assertEquals(3628800L, m.bus.read(BAR + REG_FACTORIAL, 4));
        assertEquals(STATUS_IRQ_FACTORIAL, m.bus.read(BAR + REG_STATUS, 4));
        assertEquals(IRQ_FACTORIAL, m.bus.read(BAR + REG_IRQ_STATUS, 4));
        int gsi = m.segment.intxGsi(fn);
        assertTrue(m.gsis.level(gsi), "no MSI: INTA asserted");
        m.bus.write(BAR + REG_IRQ_ACK, 4, IRQ_FACTORIAL);
        assertFalse(m.gsis.level(gsi));
    }

    @Test
    void raiseInterruptSendsMsiWhenEnabled() {
        setUp();
        int o = fn.msi().offset();
        m.cf8Write(0, 4, 0, o + MsiCapability.ADDRESS_LO, 4, 0xFEE0_0000);
        m.cf8Write(0, 4, 0, o + 0x0C, 2, 0x0041);
        m.cf8Write(0, 4, 0, o + MsiCapability.CONTROL, 2, MsiCapability.CTL_ENABLE);
        m.bus.write(BAR + REG_IRQ_RAISE, 4, 0x8);
        assertEquals(1, m.dma.interrupts.count());
        assertEquals(0x41, m.dma.interrupts.delivered().get(0).vector());
        assertEquals(0x0020, m.dma.log.getLast().requesterId());
        assertFalse(m.gsis.level(m.segment.intxGsi(fn)));
    }

    @Test
    void dmaFromRamLandsInTheBufferAfter100msThroughTheTranslatingPort() {
        setUp();
        byte[] data = new byte[256];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7);
        m.memory.writeBytes(0x10_0000 + 0x3000, data);     // IOVA 0x3000 -> PA 0x103000
        m.bus.write(BAR + REG_DMA_SRC, 8, 0x3000);
        m.bus.write(BAR + REG_DMA_DST, 8, DMA_BUFFER_ADDRESS + 0x10);
        m.bus.write(BAR + REG_DMA_COUNT, 8, 256);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN | DMA_CMD_IRQ);
        m.clock.step(DMA_DELAY_NS - 1);
        assertEquals(DMA_CMD_RUN | DMA_CMD_IRQ, m.bus.read(BAR + REG_DMA_CMD, 8), "still running before 100 ms");
        m.clock.step(1);
        assertEquals(DMA_CMD_IRQ, m.bus.read(BAR + REG_DMA_CMD, 8));
        assertArrayEquals(data, java.util.Arrays.copyOfRange(edu.buffer(), 0x10, 0x110));
        assertEquals(IRQ_DMA, m.bus.read(BAR + REG_IRQ_STATUS, 4));
    }

    @Test
    void dmaToRamWritesTheTranslatedAddress() {
        setUp();
        byte[] data = "hello, remapped world".getBytes();
        edu.setBuffer(0, data);
        m.bus.write(BAR + REG_DMA_SRC, 8, DMA_BUFFER_ADDRESS);
        m.bus.write(BAR + REG_DMA_DST, 8, 0x2000);
        m.bus.write(BAR + REG_DMA_COUNT, 8, data.length);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN | DMA_CMD_TO_RAM);
        m.clock.step(DMA_DELAY_NS);
        assertArrayEquals(data, m.memory.readBytes(0x10_2000, data.length));
        assertArrayEquals(new byte[data.length], m.memory.readBytes(0x2000, data.length), "untranslated address untouched");
    }

    @Test
    void anAbortedDmaReadLeavesZerosInTheBufferForTheBlockedPart() {
        setUp();
        edu.setBuffer(0, filled(0x100, (byte) 0x77));
        m.memory.writeBytes(0x10_0000 + 0x4F80, filled(0x80, (byte) 0x11));
        m.dma.block(0x5000);
        m.bus.write(BAR + REG_DMA_SRC, 8, 0x4F80);
        m.bus.write(BAR + REG_DMA_DST, 8, DMA_BUFFER_ADDRESS);
        m.bus.write(BAR + REG_DMA_COUNT, 8, 0x100);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN);
        m.clock.step(DMA_DELAY_NS);
        byte[] buf = edu.buffer();
        assertArrayEquals(filled(0x80, (byte) 0x11), java.util.Arrays.copyOfRange(buf, 0, 0x80));
        assertArrayEquals(new byte[0x80], java.util.Arrays.copyOfRange(buf, 0x80, 0x100));
    }

    @Test
    void dmaAddressesAreMaskedTo28BitsByDefaultAndTheMaskIsConfigurable() {
        setUp();
        edu.setBuffer(0, new byte[] {1, 2, 3, 4});
        m.bus.write(BAR + REG_DMA_SRC, 8, DMA_BUFFER_ADDRESS);
        m.bus.write(BAR + REG_DMA_DST, 8, 0x1_0000_1000L);
        m.bus.write(BAR + REG_DMA_COUNT, 8, 4);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN | DMA_CMD_TO_RAM);
        m.clock.step(DMA_DELAY_NS);
        assertEquals(0x1000L, m.dma.log.getLast().address());
        assertEquals(0xFFFF_FFFF_FFFF_FFFFL, new EduDevice("e64", m.clock, -1L).dmaMask());
    }

    @Test
    void aTransferOutsideTheBufferIsNotPerformedButTheCommandCompletes() {
        setUp();
        m.bus.write(BAR + REG_DMA_SRC, 8, 0x1000);
        m.bus.write(BAR + REG_DMA_DST, 8, DMA_BUFFER_ADDRESS + 0xF00);
        m.bus.write(BAR + REG_DMA_COUNT, 8, 0x200);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN);
        m.clock.step(DMA_DELAY_NS);
        assertEquals(0, m.bus.read(BAR + REG_DMA_CMD, 8));
        assertEquals(1, edu.rejectedTransfers());
        assertTrue(m.dma.log.isEmpty());
    }

    @Test
    void withoutBusMasterTheDmaIsNotIssued() {
        m.cf8Write(0, 4, 0, PciRegs.BAR0, 4, (int) BAR);
        m.cf8Write(0, 4, 0, PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE);
        m.bus.write(BAR + REG_DMA_SRC, 8, DMA_BUFFER_ADDRESS);
        m.bus.write(BAR + REG_DMA_DST, 8, 0x1000);
        m.bus.write(BAR + REG_DMA_COUNT, 8, 16);
        m.bus.write(BAR + REG_DMA_CMD, 8, DMA_CMD_RUN | DMA_CMD_TO_RAM);
        m.clock.step(DMA_DELAY_NS);
        assertTrue(m.dma.log.isEmpty());
        assertEquals(1, fn.dma().gatedRequests());
    }

    private static byte[] filled(int n, byte v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, v);
        return b;
    }
}

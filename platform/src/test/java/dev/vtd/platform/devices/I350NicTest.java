package dev.vtd.platform.devices;

import dev.vtd.platform.interrupt.InterruptRecorder.Delivered;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.SriovCapability;
import dev.vtd.platform.pci.TestMachine;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.vtd.platform.devices.NicEngine.*;
import static org.junit.jupiter.api.Assertions.*;

/** A 4-port I350 at 01:00.0-3 behind root port 00:01.0, as in a Dell R630. */
class I350NicTest {
    static final long BAR0 = 0xFE00_0000L;
    static final long TX_RING = 0x10000, RX_RING = 0x20000, TX_BUF = 0x80000, RX_BUF = 0x100000;

    final TestMachine m = new TestMachine();
    final I350Nic nic = new I350Nic("i350", m.clock);
    final PciBridge rp = m.root.add(1, 0, PciBridge.rootPort("rp", PciIds.of(0x8086, 0x2f08, 0x060400, 2)));

    I350NicTest() {
        rp.secondaryBus().addDevice(0, nic.functions());
        m.segment.enumerate();
        m.openWindow(rp, 0xFE00_0000L, 0xFE7F_FFFFL);
    }

    private long bar(int port) {
        return BAR0 + port * 0x20_0000L;
    }

    /** Maps BAR0 and the MSI-X BAR, unmasks vector 0 to 0xFEE00000/0x50+port, enables rings. */
    private void bringUp(int port, int rxDescriptorsGiven) {
        PciFunction f = nic.port(port).function();
        m.enable(f, 3, bar(port) + 0x10_0000);
        m.enable(f, 0, bar(port));
        long table = bar(port) + 0x10_0000;
        m.bus.write(table, 4, 0xFEE0_0000L);
        m.bus.write(table + 8, 4, 0x50 + port);
        m.bus.write(table + 12, 4, 0);
        MsixCapability x = f.msix();
        f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        long r = bar(port);
        long txRing = TX_RING + port * 0x1000L, rxRing = RX_RING + port * 0x1000L;
        m.bus.write(r + TX_QUEUE_BASE + Q_BAL, 4, txRing);
        m.bus.write(r + TX_QUEUE_BASE + Q_LEN, 4, 8 * DESC_SIZE);
        m.bus.write(r + TX_QUEUE_BASE + Q_DCTL, 4, DCTL_ENABLE);
        m.bus.write(r + RX_QUEUE_BASE + Q_BAL, 4, rxRing);
        m.bus.write(r + RX_QUEUE_BASE + Q_LEN, 4, 16 * DESC_SIZE);
        m.bus.write(r + RX_QUEUE_BASE + Q_DCTL, 4, DCTL_ENABLE);
        for (int i = 0; i < 16; i++) m.memory.write64(rxRing + i * 16L, RX_BUF + port * 0x10_0000L + i * 2048L);
        m.bus.write(r + RX_QUEUE_BASE + Q_TAIL, 4, rxDescriptorsGiven);
        m.bus.write(r + RCTL, 4, RCTL_EN);
        m.bus.write(r + TCTL, 4, TCTL_EN);
        m.bus.write(r + EIMS, 4, 1);
    }

    private static byte[] frame(int i, int len) {
        byte[] f = new byte[len];
        for (int k = 0; k < len; k++) f[k] = (byte) (i * 31 + k);
        return f;
    }

    private void send(int port, int first, int count, int len) {
        long txRing = TX_RING + port * 0x1000L;
        for (int i = first; i < first + count; i++) {
            long buf = TX_BUF + port * 0x8000L + (i % 8) * 2048L;
            m.memory.writeBytes(buf, frame(i, len));
            long d = txRing + (i % 8) * 16L;
            m.memory.write64(d, buf);
            m.memory.write64(d + 8, (long) len | (long) (TX_CMD_EOP | TX_CMD_RS) << 24);
        }
        m.bus.write(bar(port) + TX_QUEUE_BASE + Q_TAIL, 4, (first + count) % 8);
        m.clock.step(TX_LATENCY_NS);
    }

    @Test
    void identityAndSrIovLayoutMatchTheI350() {
        PciFunction pf1 = nic.port(1).function();
        assertEquals("0000:01:00.1", pf1.address());
        assertEquals(0x1521_8086, m.cfgRead(1, 0, 1, PciRegs.VENDOR_ID, 4));
        assertEquals(0x0200_0001, m.cfgRead(1, 0, 1, PciRegs.REVISION_ID, 4));
        assertEquals(PciRegs.HEADER_TYPE_MULTIFUNCTION, m.cfgRead(1, 0, 0, PciRegs.HEADER_TYPE, 1));
        int s = pf1.sriov().offset();
        assertEquals(0x160, s);
        assertEquals(I350Nic.FIRST_VF_OFFSET, m.cfgRead(1, 0, 1, s + SriovCapability.FIRST_VF_OFFSET, 2));
        assertEquals(I350Nic.VF_STRIDE, m.cfgRead(1, 0, 1, s + SriovCapability.VF_STRIDE, 2));
        assertEquals(0x1520, m.cfgRead(1, 0, 1, s + SriovCapability.VF_DEVICE_ID, 2));
        assertEquals(8, m.cfgRead(1, 0, 1, s + SriovCapability.TOTAL_VFS, 2));
        assertEquals(1, m.cfgRead(1, 0, 1, s + SriovCapability.FUNCTION_DEPENDENCY_LINK, 1));
        assertEquals(2, rp.subordinateBusNumber(), "VFs of 01:00.x live on bus 2");
    }

    @Test
    void vfsOfEachPortInterleaveOnBus2() {
        for (int p = 0; p < 2; p++) {
            int s = nic.port(p).function().sriov().offset();
            m.cfgWrite(1, 0, p, s + SriovCapability.NUM_VFS, 2, 7);
            m.cfgWrite(1, 0, p, s + SriovCapability.CONTROL, 2, SriovCapability.CTL_VF_ENABLE | SriovCapability.CTL_VF_MSE);
        }
        List<String> pf0 = nic.port(0).function().sriov().virtualFunctions().stream().map(PciFunction::address).toList();
        assertEquals("0000:02:10.0", pf0.get(0));
        assertEquals("0000:02:10.4", pf0.get(1));
        assertEquals("0000:02:13.0", pf0.get(6));
        assertEquals("0000:02:10.1", nic.port(1).function().sriov().virtualFunctions().get(0).address());
        assertEquals(0x020000, m.cfgRead(2, 0x10, 4, PciRegs.REVISION_ID, 4) >>> 8);
        assertEquals(0xFFFF_FFFF, m.cfgRead(2, 0x10, 2, PciRegs.VENDOR_ID, 4), "no port 2 VFs enabled");
    }

    @Test
    void aVirtualFunctionReceivesFramesForItsMacIntoItsOwnRingThroughItsOwnRequesterId() {
        bringUp(0, 15);
        nic.port(0).loopback();
        int s = nic.port(0).function().sriov().offset();
        long vfBar = 0xFE60_0000L;
        m.cfgWrite(1, 0, 0, s + SriovCapability.VF_BAR0, 4, (int) vfBar);
        m.cfgWrite(1, 0, 0, s + SriovCapability.VF_BAR0 + 4, 4, 0);
        m.cfgWrite(1, 0, 0, s + SriovCapability.NUM_VFS, 2, 2);
        m.cfgWrite(1, 0, 0, s + SriovCapability.CONTROL, 2, SriovCapability.CTL_VF_ENABLE | SriovCapability.CTL_VF_MSE);
        PciFunction vf0 = nic.port(0).function().sriov().virtualFunctions().getFirst();
        assertEquals("0000:02:10.0", vf0.address());
        vf0.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_BUS_MASTER);
        long vfRing = 0x30000, vfBuf = 0x300000;
        m.bus.write(vfBar + VF_RX_QUEUE_BASE + Q_BAL, 4, vfRing);
        m.bus.write(vfBar + VF_RX_QUEUE_BASE + Q_LEN, 4, 8 * DESC_SIZE);
        m.bus.write(vfBar + VF_RX_QUEUE_BASE + Q_DCTL, 4, DCTL_ENABLE);
        for (int i = 0; i < 8; i++) m.memory.write64(vfRing + i * 16L, vfBuf + i * 2048L);
        m.bus.write(vfBar + VF_RX_QUEUE_BASE + Q_TAIL, 4, 7);
        // The PF sends one frame to the VF's MAC and one to another address.
        byte[] toVf = frame(1, 80);
        long mac = nic.port(0).vfMac(0);
        for (int b = 0; b < 6; b++) toVf[b] = (byte) (mac >>> (8 * b));
        m.memory.writeBytes(TX_BUF, toVf);
        m.memory.write64(TX_RING, TX_BUF);
        m.memory.write64(TX_RING + 8, 80L | (long) (TX_CMD_EOP | TX_CMD_RS) << 24);
        m.bus.write(bar(0) + TX_QUEUE_BASE + Q_TAIL, 4, 1);
        m.clock.step(TX_LATENCY_NS);
        assertArrayEquals(toVf, m.memory.readBytes(vfBuf, 80), "the frame for the VF's MAC landed in the VF's RX buffer");
        assertEquals(DESC_STA_DD | RX_STA_EOP, m.memory.read8(vfRing + 12), "VF RX descriptor written back");
        assertEquals(0, nic.port(0).rxPackets(), "the PF's own ring got nothing");
    }

    @Test
    void loopedBackPacketsLandInRxBuffersWithWriteBackAndMsixInterrupts() {
        bringUp(0, 15);
        nic.port(0).loopback();
        int n = 5;
        send(0, 0, n, 100);
        assertEquals(n, m.bus.read(bar(0) + TX_QUEUE_BASE + Q_HEAD, 4));
        for (int i = 0; i < n; i++) {
            assertEquals(DESC_STA_DD, m.memory.read8(TX_RING + i * 16L + 12) & DESC_STA_DD, "TX DD written back");
            long d = RX_RING + i * 16L;
            assertEquals(100, m.memory.read16(d + 8));
            assertEquals(DESC_STA_DD | RX_STA_EOP, m.memory.read8(d + 12));
            assertArrayEquals(frame(i, 100), m.memory.readBytes(RX_BUF + i * 2048L, 100));
        }
        assertEquals(n, m.bus.read(bar(0) + RX_QUEUE_BASE + Q_HEAD, 4));
        assertEquals(n, nic.port(0).rxPackets());
        assertEquals(n, nic.port(0).txPackets());
        assertEquals(500, nic.port(0).rxBytes());
        assertEquals(n, m.bus.read(bar(0) + GPRC, 4));
        assertEquals(0, m.bus.read(bar(0) + GPRC, 4), "statistics clear on read");
        List<Delivered> irqs = m.dma.interrupts.delivered();
        assertEquals(n + 1, irqs.size(), "one message per received frame plus one for the transmit write-backs");
        assertTrue(irqs.stream().allMatch(d -> d.vector() == 0x50));
        assertEquals(List.of(0x0100), m.dma.requesterIds(), "every request carries 01:00.0");
    }

    @Test
    void framesAreDroppedAndCountedWhenTheRxRingIsFull() {
        bringUp(0, 2);
        nic.port(0).loopback();
        send(0, 0, 4, 64);
        assertEquals(2, nic.port(0).rxPackets());
        assertEquals(2, nic.port(0).missedPackets());
        assertEquals(2, m.bus.read(bar(0) + MPC, 4));
        assertEquals(0, m.memory.read8(RX_RING + 2 * 16L + 12), "descriptor beyond the tail untouched");
    }

    @Test
    void aCableCarriesFramesBetweenPorts() {
        bringUp(0, 15);
        bringUp(1, 15);
        I350Nic.connect(nic.port(0), nic.port(1));
        send(0, 0, 3, 1500);
        assertEquals(0, nic.port(0).rxPackets());
        assertEquals(3, nic.port(1).rxPackets());
        assertArrayEquals(frame(2, 1500), m.memory.readBytes(RX_BUF + 0x10_0000L + 2 * 2048L, 1500));
        assertTrue(m.dma.requesterIds().containsAll(List.of(0x0100, 0x0101)));
    }

    @Test
    void withBusMasterClearTheNicNeitherFetchesNorInterrupts() {
        bringUp(0, 15);
        nic.port(0).loopback();
        PciFunction f = nic.port(0).function();
        f.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE);
        int before = m.dma.log.size();
        send(0, 0, 2, 64);
        assertEquals(before, m.dma.log.size());
        assertEquals(0, nic.port(0).txPackets());
        assertEquals(0, m.dma.interrupts.count());
    }

    @Test
    void registersAreReachableThroughTheIoBarWindow() {
        bringUp(0, 15);
        PciFunction f = nic.port(0).function();
        f.configWrite(PciRegs.BAR0 + 8, 4, 0x2000);
        f.configWrite(PciRegs.COMMAND, 2, f.command() | PciRegs.CMD_IO_SPACE);
        rp.configWrite(PciRegs.IO_BASE, 2, 0x2020);
        m.bus.out(0x2000 + I350Nic.IOADDR, 4, RAL0);
        m.bus.out(0x2000 + I350Nic.IODATA, 4, 0x12345678L);
        assertEquals(0x12345678L, m.bus.read(bar(0) + RAL0, 4));
    }
}

package dev.vtd.vmm.virtio;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** virtio-net's data path (virtio 1.x 5.1.6): the 12-byte header, one copy per packet, notifications and interrupts counted. */
class VirtioNetBackendTest {
    final SplitVirtqueueTest.Ram ram = new SplitVirtqueueTest.Ram();
    final SplitLayout rxq = SplitLayout.contiguous(16, 0x1000), txq = SplitLayout.contiguous(16, 0x4000);
    final DriverVirtqueue rxDrv = new DriverVirtqueue(ram, rxq, true), txDrv = new DriverVirtqueue(ram, txq, true);
    final List<byte[]> wire = new ArrayList<>();
    int irqs;
    final VirtioNetBackend net = new VirtioNetBackend(ram, new DeviceVirtqueue(ram, rxq, true), new DeviceVirtqueue(ram, txq, true),
            wire::add, () -> irqs++);

    @Test
    void transmitStripsTheHeaderAndCopiesTheFrameOnce() {
        byte[] payload = "0123456789abcdef".getBytes();
        ram.write(0x10000 + VirtioNetBackend.HDR_BYTES, payload, 0, payload.length);
        txDrv.add(List.of(new DriverVirtqueue.Buffer(0x10000, VirtioNetBackend.HDR_BYTES + payload.length, false)), "tx");
        assertTrue(txDrv.kickNeeded());
        net.notify(VirtioNetBackend.TX);
        assertEquals(1, wire.size());
        assertArrayEquals(payload, wire.getFirst());
        assertEquals(1, net.copies());
        assertEquals(1, net.kicks());
        assertEquals(new DriverVirtqueue.Used("tx", 0), txDrv.poll());
    }

    @Test
    void receiveWritesAZeroHeaderWithOneBufferThenTheFrame() {
        rxDrv.add(List.of(new DriverVirtqueue.Buffer(0x20000, 1526, true)), "rx");
        byte[] frame = new byte[100];
        frame[0] = 0x42;
        assertTrue(net.receive(frame));
        assertEquals(1, ram.read16(0x20000 + 10), "num_buffers = 1");
        assertEquals(0x42, ram.b[0x20000 + VirtioNetBackend.HDR_BYTES]);
        assertEquals(new DriverVirtqueue.Used("rx", 112), rxDrv.poll());
        assertEquals(1, irqs, "used_event 0 was crossed: one interrupt");
    }

    @Test
    void withNoReceiveBufferTheFrameIsDroppedAndCounted() {
        assertFalse(net.receive(new byte[60]));
        assertEquals(1, net.rxDropped());
        assertNull(net.broken());
    }

    @Test
    void aHostileTransmitChainBreaksTheQueueAndNothingIsSent() {
        ram.write(txq.descriptor(0), new VirtqDesc(0x10000, 64, VirtqDesc.F_NEXT, 0).encode(), 0, 16);   // loops on itself
        ram.write16(txq.availRing(0), 0);
        ram.write16(txq.availIdx(), 1);
        net.notify(VirtioNetBackend.TX);
        assertTrue(wire.isEmpty());
        assertEquals("transmit queue: descriptor chain longer than the queue size 16 (a loop?)", net.broken());
    }
}

package dev.vtd.vmm.virtio;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Split virtqueues (virtio 1.x, 2.7): layout, the driver-device handshake, notification suppression, hostile chains. */
class SplitVirtqueueTest {
    /** 1 MiB of driver memory; an access outside it is refused (and counted, so a test can assert there was none). */
    static final class Ram implements DriverMemory {
        final byte[] b = new byte[1 << 20];
        int outside;

        @Override
        public boolean contains(long a, long len) {
            return a >= 0 && len >= 0 && a <= b.length - len;
        }

        @Override
        public boolean read(long a, byte[] dst, int off, int len) {
            if (!contains(a, len)) {
                outside++;
                return false;
            }
            System.arraycopy(b, (int) a, dst, off, len);
            return true;
        }

        @Override
        public boolean write(long a, byte[] src, int off, int len) {
            if (!contains(a, len)) {
                outside++;
                return false;
            }
            System.arraycopy(src, off, b, (int) a, len);
            return true;
        }
    }

    static final SplitLayout Q = SplitLayout.contiguous(8, 0x1000);

    @Test
    void theThreeAreasLieAsTheSpecificationLaysThemOut() {
        assertEquals(0x1000, Q.desc());
        assertEquals(0x1000 + 16 * 8, Q.avail(), "driver area right after 8 descriptors");
        assertEquals(Q.avail() + 2, Q.availIdx());
        assertEquals(Q.avail() + 4 + 2 * 3, Q.availRing(3));
        assertEquals(Q.avail() + 4 + 2 * 8, Q.usedEvent(), "used_event after the ring");
        assertEquals((Q.avail() + 6 + 16 + 3) & ~3L, Q.used(), "device area 4-byte aligned");
        assertEquals(Q.used() + 4 + 8 * 5, Q.usedRing(5));
        assertEquals(Q.used() + 4 + 8 * 8, Q.availEvent());
        assertEquals(Q.availRing(1), Q.availRing(9), "ring indices wrap at the queue size");
        assertThrows(IllegalArgumentException.class, () -> SplitLayout.contiguous(6, 0));
        assertThrows(IllegalArgumentException.class, () -> new SplitLayout(8, 8, 0x2000, 0x3000));
    }

    @Test
    void descriptorEncodingIsLittleEndianAt0_8_12_14() {
        byte[] b = new VirtqDesc(0x1122334455667788L, 0x99aabbcc, VirtqDesc.F_NEXT | VirtqDesc.F_WRITE, 0x0102).encode();
        assertEquals("8877665544332211ccbbaa9903000201", java.util.HexFormat.of().formatHex(b));
        assertEquals(new VirtqDesc(0x1122334455667788L, 0x99aabbcc, 3, 0x0102), VirtqDesc.decode(b, 0));
    }

    @Test
    void eventIndexNotifiesOnlyWhenTheOtherSidesIndexWasCrossed() {
        assertTrue(SplitLayout.needEvent(5, 6, 5), "entry 5 was the one asked for");
        assertFalse(SplitLayout.needEvent(7, 6, 5), "asked for 7, only 5 was added");
        assertTrue(SplitLayout.needEvent(0xFFFF, 2, 0xFFFE), "across the 16-bit wrap");
    }

    @Test
    void aChainTheDriverAddsComesBackThroughTheUsedRing() {
        Ram ram = new Ram();
        DriverVirtqueue drv = new DriverVirtqueue(ram, Q, false);
        DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, false);
        assertTrue(drv.add(List.of(new DriverVirtqueue.Buffer(0x8000, 12, false), new DriverVirtqueue.Buffer(0x9000, 1500, true)), "rx0"));
        assertTrue(drv.kickNeeded());
        assertEquals(6, drv.freeDescriptors());
        DeviceVirtqueue.Chain c = dev.pop();
        assertNotNull(c, dev.broken());
        assertEquals(12, c.readableBytes());
        assertEquals(1500, c.writableBytes());
        assertNull(dev.pop(), "one chain only");
        dev.push(c.head(), 64);
        assertTrue(dev.needsInterrupt());
        DriverVirtqueue.Used u = drv.poll();
        assertEquals(new DriverVirtqueue.Used("rx0", 64), u);
        assertEquals(8, drv.freeDescriptors());
        assertNull(drv.poll());
        assertEquals(0, ram.outside);
    }

    @Test
    void noInterruptAndNoNotifyFlagsSuppressWithoutEventIndex() {
        Ram ram = new Ram();
        DriverVirtqueue drv = new DriverVirtqueue(ram, Q, false);
        DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, false);
        dev.suppressNotifications(true);
        drv.add(List.of(new DriverVirtqueue.Buffer(0x8000, 4, false)), 1);
        assertFalse(drv.kickNeeded(), "used.flags NO_NOTIFY");
        drv.suppressInterrupts(true);
        dev.push(dev.pop().head(), 0);
        assertFalse(dev.needsInterrupt(), "avail.flags NO_INTERRUPT");
    }

    @Test
    void withEventIndexTheDeviceInterruptsWhenUsedEventIsReached() {
        Ram ram = new Ram();
        DriverVirtqueue drv = new DriverVirtqueue(ram, Q, true);
        DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, true);
        for (int i = 0; i < 3; i++) drv.add(List.of(new DriverVirtqueue.Buffer(0x8000 + 64L * i, 64, true)), i);
        ram.write16(Q.usedEvent(), 1);     // the driver wants an interrupt once entry 1 is used
        dev.push(dev.pop().head(), 1);
        assertFalse(dev.needsInterrupt(), "entry 0 used: not yet");
        dev.push(dev.pop().head(), 1);
        assertTrue(dev.needsInterrupt(), "entry 1 used");
    }

    @Test
    void indirectTablesCarryTheWholeChain() {
        Ram ram = new Ram();
        long table = 0x20000;
        byte[] t0 = new VirtqDesc(0x8000, 10, VirtqDesc.F_NEXT, 1).encode(), t1 = new VirtqDesc(0x9000, 20, VirtqDesc.F_WRITE, 0).encode();
        ram.write(table, t0, 0, 16);
        ram.write(table + 16, t1, 0, 16);
        byte[] d = new VirtqDesc(table, 32, VirtqDesc.F_INDIRECT, 0).encode();
        ram.write(Q.descriptor(0), d, 0, 16);
        ram.write16(Q.availRing(0), 0);
        ram.write16(Q.availIdx(), 1);
        DeviceVirtqueue.Chain c = new DeviceVirtqueue(ram, Q, false).pop();
        assertNotNull(c);
        assertEquals(10, c.readableBytes());
        assertEquals(20, c.writableBytes());
    }

    private static String brokenBy(Ram ram, VirtqDesc... descs) {
        for (int i = 0; i < descs.length; i++) {
            byte[] d = descs[i].encode();
            ram.write(Q.descriptor(i), d, 0, 16);
        }
        ram.write16(Q.availRing(0), 0);
        ram.write16(Q.availIdx(), 1);
        DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, false);
        assertNull(dev.pop());
        assertNull(dev.pop(), "a broken queue stays broken");
        return dev.broken();
    }

    @Test
    void chainsTheSpecificationForbidsBreakTheQueueNamingTheRule() {
        assertEquals("descriptor chain longer than the queue size 8 (a loop?)",
                brokenBy(new Ram(), new VirtqDesc(0x8000, 4, VirtqDesc.F_NEXT, 1), new VirtqDesc(0x8000, 4, VirtqDesc.F_NEXT, 0)));
        assertEquals("descriptor 0 points at next 9 beyond the queue size 8",
                brokenBy(new Ram(), new VirtqDesc(0x8000, 4, VirtqDesc.F_NEXT, 9)));
        assertEquals("descriptor 1: device-readable buffer after a device-writable one (2.7.4.2)",
                brokenBy(new Ram(), new VirtqDesc(0x8000, 4, VirtqDesc.F_NEXT | VirtqDesc.F_WRITE, 1), new VirtqDesc(0x9000, 4, 0, 0)));
        assertEquals("descriptor 0: buffer 0xfffff000+8192 not in driver memory",
                brokenBy(new Ram(), new VirtqDesc(0xFFFFF000L, 8192, 0, 0)));
        assertEquals("descriptor 0 has both INDIRECT and NEXT (2.7.5.3.1)",
                brokenBy(new Ram(), new VirtqDesc(0x8000, 32, VirtqDesc.F_INDIRECT | VirtqDesc.F_NEXT, 1)));
        assertEquals("indirect table of 20 bytes is not a non-zero multiple of 16 (2.7.5.3.1)",
                brokenBy(new Ram(), new VirtqDesc(0x8000, 20, VirtqDesc.F_INDIRECT, 0)));
        Ram ram = new Ram();
        ram.write16(Q.availIdx(), 9);
        DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, false);
        assertNull(dev.pop());
        assertEquals("avail.idx moved 9 entries ahead of the device, more than the queue size 8", dev.broken());
    }

    /** Property: whatever the driver area and descriptors hold, the device never throws or reads outside driver memory. */
    @Test
    void randomQueueContentsNeverThrowOrReachOutsideDriverMemory() {
        for (long seed = 0; seed < 300; seed++) {
            Random rnd = new Random(seed);
            Ram ram = new Ram();
            byte[] junk = new byte[(int) Q.footprint()];
            rnd.nextBytes(junk);
            ram.write(Q.desc(), junk, 0, junk.length);
            for (int i = 0; i < 8; i++) {   // mostly small, in-memory addresses so chains get walked
                if (rnd.nextBoolean()) ram.write64(Q.descriptor(i), rnd.nextInt(1 << 19));
            }
            DeviceVirtqueue dev = new DeviceVirtqueue(ram, Q, rnd.nextBoolean());
            for (int k = 0; k < 20; k++) {
                DeviceVirtqueue.Chain c = dev.pop();
                if (c == null) break;
                for (DeviceVirtqueue.Segment s : c.readable()) assertTrue(ram.contains(s.addr(), s.len()));
                for (DeviceVirtqueue.Segment s : c.writable()) assertTrue(ram.contains(s.addr(), s.len()));
                dev.push(c.head(), 0);
                dev.needsInterrupt();
            }
        }
    }
}

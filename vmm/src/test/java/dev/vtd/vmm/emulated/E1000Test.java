package dev.vtd.vmm.emulated;

import dev.vtd.vmm.virtio.DriverMemory;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The emulated 82540EM: its registers, legacy receive and transmit rings (8254x SDM 3.2, 3.3, 13.4), and hostile rings. */
class E1000Test {
    static final class Ram implements DriverMemory {
        final byte[] b = new byte[1 << 20];

        @Override public boolean contains(long a, long len) { return a >= 0 && len >= 0 && a <= b.length - len; }

        @Override public boolean read(long a, byte[] dst, int off, int len) {
            if (!contains(a, len)) return false;
            System.arraycopy(b, (int) a, dst, off, len);
            return true;
        }

        @Override public boolean write(long a, byte[] src, int off, int len) {
            if (!contains(a, len)) return false;
            System.arraycopy(src, off, b, (int) a, len);
            return true;
        }
    }

    final Ram ram = new Ram();
    final List<byte[]> sent = new ArrayList<>();
    int irqs;
    final E1000 nic = new E1000(ram, sent::add, () -> irqs++);

    static final long RX_RING = 0x1000, TX_RING = 0x2000, RX_BUF = 0x10000, TX_BUF = 0x20000;

    void setUpRx(int descriptors) {
        for (int i = 0; i < descriptors; i++) ram.write64(RX_RING + 16L * i, RX_BUF + 2048L * i);
        nic.mmioWrite(E1000.RDBAL, 4, RX_RING);
        nic.mmioWrite(E1000.RDLEN, 4, 16L * descriptors);
        nic.mmioWrite(E1000.RDH, 4, 0);
        nic.mmioWrite(E1000.RDT, 4, descriptors - 1);
        nic.mmioWrite(E1000.IMS, 4, E1000.ICR_RXT0 | E1000.ICR_TXDW);
        nic.mmioWrite(E1000.RCTL, 4, E1000.RCTL_EN);
    }

    @Test
    void resetValuesLinkUpAndQemusMacAddress() {
        assertEquals(E1000.STATUS_FD | E1000.STATUS_LU | E1000.STATUS_SPEED_1000, nic.mmioRead(E1000.STATUS, 4));
        assertEquals(0x1200_5452L, nic.mmioRead(E1000.RAL0, 4));
        assertEquals(0x8000_5634L, nic.mmioRead(E1000.RAH0, 4));
    }

    @Test
    void aReceivedFrameLandsInTheNextBufferWithDdAndEopAndRaisesRxt0() {
        setUpRx(8);
        byte[] frame = new byte[60];
        Arrays.fill(frame, (byte) 0xab);
        assertTrue(nic.receive(frame));
        assertEquals(0xab, ram.b[(int) RX_BUF] & 0xFF);
        assertEquals(60, ram.read16(RX_RING + 8), "length written back");
        assertEquals(E1000.STA_DD | E1000.STA_EOP, ram.b[(int) RX_RING + 12]);
        assertEquals(1, nic.mmioRead(E1000.RDH, 4));
        assertEquals(1, irqs);
        assertEquals(Integer.toUnsignedLong(E1000.ICR_RXT0 | E1000.ICR_INT_ASSERTED), nic.mmioRead(E1000.ICR, 4));
        assertEquals(0, nic.mmioRead(E1000.ICR, 4), "ICR clears on read");
        assertEquals(1, nic.copies());
    }

    @Test
    void aFrameLargerThanOneBufferSpansDescriptorsWithEopOnTheLast() {
        setUpRx(8);
        assertTrue(nic.receive(new byte[3000]));
        assertEquals(0, ram.b[(int) RX_RING + 12] & E1000.STA_EOP, "first buffer: no EOP");
        assertEquals(E1000.STA_DD | E1000.STA_EOP, ram.b[(int) RX_RING + 16 + 12]);
        assertEquals(3000 - 2048, ram.read16(RX_RING + 16 + 8));
    }

    @Test
    void withNoFreeDescriptorTheFrameIsMissedAndCounted() {
        setUpRx(8);
        nic.mmioWrite(E1000.RDT, 4, 1);   // the hardware owns [RDH, RDT): one descriptor
        assertTrue(nic.receive(new byte[64]));
        assertFalse(nic.receive(new byte[64]));
        assertEquals(1, nic.mmioRead(E1000.MPC, 4));
    }

    @Test
    void aTailWriteTransmitsTheQueuedDescriptorsAsOneFramePerEop() {
        nic.mmioWrite(E1000.TDBAL, 4, TX_RING);
        nic.mmioWrite(E1000.TDLEN, 4, 16 * 8);
        nic.mmioWrite(E1000.TCTL, 4, E1000.TCTL_EN);
        ram.write(TX_BUF, "hello ".getBytes(), 0, 6);
        ram.write(TX_BUF + 0x100, "world".getBytes(), 0, 5);
        ram.write64(TX_RING, TX_BUF);
        ram.write32(TX_RING + 8, 6);
        ram.write64(TX_RING + 16, TX_BUF + 0x100);
        ram.write32(TX_RING + 24, 5 | (E1000.CMD_EOP | E1000.CMD_RS) << 24);
        nic.mmioWrite(E1000.TDT, 4, 2);
        assertEquals(1, sent.size());
        assertEquals("hello world", new String(sent.getFirst()));
        assertEquals(2, nic.mmioRead(E1000.TDH, 4));
        assertEquals(E1000.STA_DD, ram.b[(int) TX_RING + 16 + 12], "RS asks for DD");
    }

    @Test
    void ringLengthsAreMultiplesOf128BytesAsTheHardwareMasksThem() {
        nic.mmioWrite(E1000.RDLEN, 4, 16 * 3);
        assertEquals(0, nic.mmioRead(E1000.RDLEN, 4));
        nic.mmioWrite(E1000.RDLEN, 4, 128 + 16);
        assertEquals(128, nic.mmioRead(E1000.RDLEN, 4));
    }

    @Test
    void everyRegisterAccessIsCountedAsTheExitItCosts() {
        long before = nic.registerAccesses();
        nic.mmioRead(E1000.STATUS, 4);
        nic.mmioWrite(E1000.IMS, 4, 1);
        assertEquals(before + 2, nic.registerAccesses());
    }

    /** Property: random register writes and ring contents never throw, and transmission is bounded per tail write. */
    @Test
    void hostileRegisterAndRingContentsNeverThrow() {
        for (long seed = 0; seed < 60; seed++) {
            Random rnd = new Random(seed);
            Ram r = new Ram();
            rnd.nextBytes(r.b);
            List<byte[]> out = new ArrayList<>();
            E1000 e = new E1000(r, out::add, () -> { });
            int[] regs = {E1000.RCTL, E1000.TCTL, E1000.RDBAL, E1000.RDBAH, E1000.RDLEN, E1000.RDH, E1000.RDT, E1000.TDBAL,
                    E1000.TDBAH, E1000.TDLEN, E1000.TDH, E1000.TDT, E1000.IMS, E1000.ICR, E1000.CTRL, 0x1FFFC, 0x20000, -4};
            for (int k = 0; k < 50; k++) {
                int reg = regs[rnd.nextInt(regs.length)];
                if (rnd.nextBoolean()) e.mmioWrite(reg, 4, rnd.nextInt());
                else e.mmioRead(reg, rnd.nextBoolean() ? 4 : 8);
                if (rnd.nextInt(4) == 0) e.receive(new byte[1 + rnd.nextInt(9000)]);
            }
            assertTrue(out.size() <= 50 * 4096, "bounded work");
        }
    }
}

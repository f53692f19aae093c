package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.regs.Reg;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile programming: random register writes and random bytes in every table never make the unit
 * throw, hang or move more bytes than asked; every blocked request leaves an architected fault
 * reason (legacy codes 0x1-0xD) in the history.
 */
class RobustnessTest {
    @Test
    void randomRegisterWritesAndRandomTablesNeverThrow() {
        for (long seed = 100; seed < 110; seed++) {
            Random rnd = new Random(seed);
            try (UnitFixture f = new UnitFixture()) {
                // Random garbage in the whole table pool, then a root table inside it.
                byte[] junk = new byte[0x40_0000];
                rnd.nextBytes(junk);
                // Make garbage entries point back into the pool often, so walks go deep.
                for (int i = 0; i < junk.length; i += 8) {
                    if (rnd.nextInt(3) == 0) {
                        long v = 0x10_0000L + (rnd.nextInt(0x400) << 12) | rnd.nextInt(0x1000);
                        for (int b = 0; b < 8; b++) junk[i + b] = (byte) (v >>> (8 * b));
                    }
                }
                f.mem.writeBytes(0x10_0000, junk);
                f.unit.write(Reg.RTADDR, 8, 0x10_0000L + (rnd.nextInt(0x400) << 12));
                f.unit.write(Reg.GCMD, 4, Reg.GCMD_SRTP);
                f.unit.write(Reg.GCMD, 4, Reg.GCMD_TE);
                long length = f.unit.length();
                for (int op = 0; op < 3000; op++) {
                    switch (rnd.nextInt(4)) {
                        case 0 -> {
                            int size = 1 << rnd.nextInt(4);
                            long off = rnd.nextInt((int) length + 64) & ~(size - 1);
                            assertDoesNotThrow(() -> f.unit.write(off, size, rnd.nextLong()));
                            assertDoesNotThrow(() -> f.unit.read(off, size));
                        }
                        case 1 -> f.unit.write(Reg.GCMD, 4, rnd.nextInt());
                        default -> {
                            int len = rnd.nextInt(9000);
                            byte[] b = new byte[len];
                            long iova = rnd.nextBoolean() ? rnd.nextLong() : rnd.nextLong() & 0xFFFF_FFFFL;
                            int sid = rnd.nextInt(0x10000);
                            long done = rnd.nextBoolean()
                                    ? f.unit.read(sid, iova, MemorySegment.ofArray(b), 0, len)
                                    : f.unit.write(sid, iova, MemorySegment.ofArray(b), 0, len);
                            assertTrue(done >= 0 && done <= len);
                        }
                    }
                }
                for (var fault : f.unit.faults().history()) {
                    int c = fault.reason().code;
                    assertTrue(c >= 0x1 && c <= 0xD, "legacy fault reason " + fault.reason());
                }
            }
        }
    }
}

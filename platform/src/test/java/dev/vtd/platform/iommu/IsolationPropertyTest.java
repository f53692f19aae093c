package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Isolation as a property (VT-d spec 3.6/3.7): over random second-stage tables (4 KiB and 2 MiB
 * leaves, every R/W combination, sparse across a 48-bit space) and random DMA, every byte that
 * moves lies in a page the domain maps with that permission, every other access stops at the first
 * blocked page with the correct fault reason and address, and no byte outside the mapped, permitted
 * pages ever changes.
 */
class IsolationPropertyTest {
    static final long DATA = 0x200_0000;          // data region: 32 MiB .. 40 MiB of RAM
    static final long DATA_SIZE = 8L << 20;
    static final int SID = 0x0100;

    /** Reference model of one domain: 4 KiB iova page -> {pa page, perms}. */
    record Page(long pa, boolean r, boolean w) {}

    @Test
    void everyDmaByteLandsInAMappedPermittedPageAndEveryOtherAccessFaultsCorrectly() {
        for (long seed = 1; seed <= 12; seed++) runSeed(seed);
    }

    private void runSeed(long seed) {
        Random rnd = new Random(seed);
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.context(SID, 7, ContextEntry.AW_48);
            Map<Long, Page> model = new HashMap<>();
            // Mapped iova space: a few 2 MiB slots at random places in the 48-bit space.
            int slots = 6 + rnd.nextInt(6);
            long[] slotBase = new long[slots];
            for (int s = 0; s < slots; s++) {
                slotBase[s] = (rnd.nextLong() & ((1L << 47) - 1)) & ~((2L << 20) - 1);
                boolean r = rnd.nextInt(4) != 0, w = rnd.nextInt(3) != 0;
                if (rnd.nextInt(4) == 0) {
                    long pa = DATA + (rnd.nextInt((int) (DATA_SIZE >>> 21)) << 21);
                    f.tables.map(pt, 4, slotBase[s], pa, 21, r, w);
                    for (int i = 0; i < 512; i++) model.put((slotBase[s] >>> 12) + i, new Page(pa + i * 4096L, r, w));
                } else {
                    int pages = 1 + rnd.nextInt(40);
                    for (int i = 0; i < pages; i++) {
                        long iova = slotBase[s] + (rnd.nextInt(512) * 4096L);
                        long pa = DATA + rnd.nextInt((int) (DATA_SIZE >>> 12)) * 4096L;
                        boolean pr = rnd.nextInt(5) != 0, pw = rnd.nextInt(3) != 0;
                        f.tables.map(pt, 4, iova, pa, 12, pr, pw);
                        model.put(iova >>> 12, new Page(pa, pr, pw));
                    }
                }
            }
            f.enable();
            byte[] shadow = new byte[(int) DATA_SIZE];
            rnd.nextBytes(shadow);
            f.mem.writeBytes(DATA, shadow);
            byte[] tablesBefore = f.mem.readBytes(0x10_0000, 0x40_0000);

            for (int op = 0; op < 1500; op++) {
                long base = slotBase[rnd.nextInt(slots)];
                long iova = base + rnd.nextInt(3 << 20) - (512 << 10);
                if (rnd.nextInt(10) == 0) iova = rnd.nextLong() & ((1L << 48) - 1);   // anywhere
                int len = rnd.nextInt(4) == 0 ? rnd.nextInt(3 * 4096) : 1 + rnd.nextInt(256);
                boolean write = rnd.nextBoolean();
                int faultsBefore = f.unit.faults().history().size();
                long expected = expectedBytes(model, iova, len, write);
                byte[] buf = new byte[len];
                long done;
                if (write) {
                    rnd.nextBytes(buf);
                    done = f.unit.write(SID, iova, MemorySegment.ofArray(buf), 0, len);
                    // Apply to the shadow exactly where the model says the bytes go.
                    for (long i = 0; i < done; i++) {
                        Page p = model.get((iova + i) >>> 12);
                        shadow[(int) (p.pa + ((iova + i) & 0xFFF) - DATA)] = buf[(int) i];
                    }
                } else {
                    done = f.unit.read(SID, iova, MemorySegment.ofArray(buf), 0, len);
                    for (long i = 0; i < done; i++) {
                        Page p = model.get((iova + i) >>> 12);
                        assertEquals(shadow[(int) (p.pa + ((iova + i) & 0xFFF) - DATA)], buf[(int) i],
                                "seed " + seed + " op " + op + ": read byte comes from the mapped page");
                    }
                }
                assertEquals(expected, done, "seed " + seed + " op " + op + String.format(
                        ": bytes transferred for %s iova 0x%x len %d", write ? "write" : "read", iova, len));
                List<Fault> hist = f.unit.faults().history();
                if (done < len) {
                    assertEquals(faultsBefore + 1, hist.size(), "one fault per blocked request");
                    Fault fault = hist.getLast();
                    long blocked = iova + done;
                    assertEquals(blocked & ~0xFFFL, fault.faultInfo(), "FI is the first blocked page");
                    assertEquals(write ? FaultReason.PTE_WRITE : FaultReason.PTE_READ, fault.reason());
                    assertEquals(!write, fault.read());
                } else {
                    assertEquals(faultsBefore, hist.size(), "no fault for a permitted access");
                }
                if (op % 100 == 99 || op == 1499) {
                    assertArrayEquals(shadow, f.mem.readBytes(DATA, (int) DATA_SIZE),
                            "seed " + seed + " op " + op + ": no byte changed outside mapped, writable pages");
                }
            }
            assertTrue(Arrays.equals(tablesBefore, f.mem.readBytes(0x10_0000, 0x40_0000)), "tables untouched by DMA");
        }
    }

    private static long expectedBytes(Map<Long, Page> model, long iova, int len, boolean write) {
        long done = 0;
        while (done < len) {
            long a = iova + done;
            if ((a >>> 48) != 0) return done;
            Page p = model.get(a >>> 12);
            if (p == null || !(write ? p.w : p.r)) return done;
            done += Math.min(len - done, 4096 - (a & 0xFFF));
        }
        return done;
    }
}

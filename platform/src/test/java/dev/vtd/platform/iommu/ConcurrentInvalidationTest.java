package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * 6.5: once an invalidation completes, no request may use a translation it removed, even with DMA
 * running on other threads. One thread retargets a page among four frames and invalidates it
 * (register-based, page-selective); DMA threads read through it. Each frame holds its own tag; once
 * the invalidation of retarget k completes, a read that starts later never sees the frame of an earlier retarget.
 */
class ConcurrentInvalidationTest {
    @Test
    void noStaleTranslationAfterPageSelectiveInvalidationCompletes() throws Exception {
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.context(UnitFixture.SID, 9, ContextEntry.AW_48);
            long[] frames = {0x200_0000, 0x200_1000, 0x200_2000, 0x200_3000};
            for (int i = 0; i < frames.length; i++) f.mem.write64(frames[i], i);
            long leaf = f.tables.map(pt, 4, 0x5000, frames[0], 12, true, true);
            f.enable();
            int iro = f.unit.ecap().iroBytes();
            AtomicLong completedGeneration = new AtomicLong(0);   // retargets whose invalidation completed
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<String> violation = new AtomicReference<>();
            AtomicLong checks = new AtomicLong();
            int threads = 3;
            CountDownLatch done = new CountDownLatch(threads);
            for (int t = 0; t < threads; t++) {
                Thread.ofPlatform().start(() -> {
                    byte[] b = new byte[8];
                    MemorySegment seg = MemorySegment.ofArray(b);
                    while (!stop.get()) {
                        long gen = completedGeneration.get();
                        long n = f.unit.read(UnitFixture.SID, 0x5000, seg, 0, 8);
                        if (n != 8) { violation.compareAndSet(null, "read blocked"); break; }
                        long seen = seg.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
                        long after = completedGeneration.get();
                        // Frame tag = generation mod 4. Retarget gen+1 may already be written (not yet
                        // invalidated): either is legal. Any older frame is stale once gen completed.
                        if (gen == after && seen != gen % 4 && seen != (gen + 1) % 4) {
                            violation.compareAndSet(null, "generation " + gen + " completed but read saw stale frame " + seen);
                        }
                        checks.incrementAndGet();
                    }
                    done.countDown();
                });
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            // At least 3000 retargets, and keep going until the readers have overlapped enough of them.
            for (long gen = 1; gen <= 3000 || (checks.get() < 5000 && System.nanoTime() < deadline); gen++) {
                f.mem.write64(leaf, SlPte.leaf(frames[(int) (gen % 4)], true, true, false));
                f.unit.write(iro, 8, 0x5000);
                f.unit.write(iro + 8, 8, Reg.IOTLB_IVT | (3L << Reg.IOTLB_IIRG_SHIFT) | (9L << Reg.IOTLB_DID_SHIFT));
                assertEquals(0, f.unit.read(iro + 8, 8) & Reg.IOTLB_IVT);
                completedGeneration.set(gen);
            }
            stop.set(true);
            done.await();
            assertNull(violation.get(), violation.get());
            assertTrue(checks.get() > 1000, "enough concurrent checks ran: " + checks.get());
        }
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.inval.InvalidationDescriptor.ContextCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Completion ordering of queued invalidation under concurrency (VT-d spec 6.5.2.8, 6.5.5): DMA
 * threads translate while a mapper thread remaps and unmaps pages and invalidates them through
 * the queue. Once the invalidation wait behind a change has written its status, no thread may
 * observe a translation older than that change.
 *
 * <p>Each page goes through versions v = 0, 1, 2, ...: even versions map the page to a frame
 * that encodes v, odd versions unmap it. The mapper announces v in {@code written} before it edits
 * the PTE and in {@code published} after the wait completed; a checker reads {@code published}
 * (e) before translating and {@code written} (w) after, and the translation must be a version in
 * [e, w].
 */
class InvalidationOrderingStressTest {
    static final int PAGES = 32;
    static final int SID = 0x0100;
    static final int DID = 7;
    static final long IOVA_BASE = 0x4000_0000L;
    static final long FRAME_BASE = 0x10_0000_0000L;      // beyond RAM: only translated, never accessed
    static final long STATUS = 0x6_0000;

    static long frame(int page, long version) {
        return FRAME_BASE + (((long) page << 24) + version) * 4096;
    }

    @Test
    void noStaleTranslationIsObservedAfterAnInvalidationWaitCompletes() throws Exception {
        try (IommuFixture f = IommuFixture.r630()) {
            long pt = f.tables.allocPage();
            f.tables.setContext(SID, ContextEntry.translated(DID, pt, f.levels() - 2));
            long[] pte = new long[PAGES];
            for (int p = 0; p < PAGES; p++) pte[p] = f.tables.map(pt, f.levels(), IOVA_BASE + p * 4096L, frame(p, 0), 12, true, true);
            f.enableTranslation();
            f.queue.enable();

            AtomicLongArray written = new AtomicLongArray(PAGES);
            AtomicLongArray published = new AtomicLongArray(PAGES);
            AtomicBoolean stop = new AtomicBoolean();
            LongAdder checks = new LongAdder();
            LongAdder stale = new LongAdder();
            LongAdder waits = new LongAdder();
            StringBuilder firstStale = new StringBuilder();

            Runnable checker = () -> {
                Random r = new Random(Thread.currentThread().threadId());
                while (!stop.get()) {
                    int p = r.nextInt(PAGES);
                    long e = published.get(p);
                    long hpa = f.unit.translateAddress(SID, IOVA_BASE + p * 4096L, false);
                    long w = written.get(p);
                    boolean ok;
                    if (hpa < 0) {
                        ok = (e & 1) == 1 || w > e;                               // an odd version lies in [e, w]
                    } else {
                        long v = ((hpa - FRAME_BASE) >>> 12) - ((long) p << 24);
                        ok = (v & 1) == 0 && v >= e && v <= w;
                    }
                    checks.increment();
                    if (!ok) {
                        stale.increment();
                        synchronized (firstStale) {
                            if (firstStale.isEmpty()) firstStale.append(String.format("page %d e=%d w=%d hpa=0x%x", p, e, w, hpa));
                        }
                    }
                }
            };
            Thread[] dma = new Thread[3];
            for (int i = 0; i < dma.length; i++) dma[i] = Thread.ofPlatform().start(checker);

            Random r = new Random(42);
            long deadline = System.nanoTime() + 1_500_000_000L;
            int token = 0;
            while (System.nanoTime() < deadline) {
                int p = r.nextInt(PAGES);
                long v = written.get(p) + 1;
                written.set(p, v);
                f.mem.write64(pte[p], (v & 1) == 0 ? SlPte.leaf(frame(p, v), true, true, false) : 0);
                token++;
                if (token % 16 == 0) {
                    f.queue.submit(ContextCacheInvalidate.global(), IotlbInvalidate.global(), InvalidationWait.status(STATUS, token));
                } else if (token % 4 == 0) {
                    f.queue.submit(IotlbInvalidate.domain(DID), InvalidationWait.status(STATUS, token));
                } else {
                    f.queue.submit(IotlbInvalidate.page(DID, IOVA_BASE + p * 4096L, 0, false), InvalidationWait.status(STATUS, token));
                }
                assertEquals(token, f.mem.read32(STATUS), "the wait completed");
                waits.increment();
                published.set(p, v);
            }
            stop.set(true);
            for (Thread t : dma) t.join();

            System.out.printf("QI ordering stress: %d translations checked, %d invalidation waits, %d stale%n",
                    checks.sum(), waits.sum(), stale.sum());
            assertTrue(checks.sum() > 1000, "enough checks ran: " + checks.sum());
            assertTrue(waits.sum() > 100, "enough invalidations ran: " + waits.sum());
            assertEquals(0, stale.sum(), "stale translation observed: " + firstStale);
        }
    }
}

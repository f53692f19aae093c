package dev.vtd.kernel.iommu;

import dev.vtd.platform.clock.VirtualClock;

import java.util.ArrayList;
import java.util.List;

/**
 * The lazy-invalidation flush queue of a DMA domain (dma-iommu.c's fq): an unmap clears the page tables but
 * neither invalidates the IOTLB nor frees the IOVA range and table pages; they wait here. When
 * {@value #DEFAULT_SIZE} entries are queued, or {@link #DEFAULT_TIMEOUT_NS} of virtual time after the first
 * one, the whole domain's IOTLB is invalidated and only then are the ranges and pages released. So a stale
 * IOTLB entry may keep working until the flush, but never into memory that was reused.
 */
public final class FlushQueue {
    /** IOVA_DEFAULT_FQ_SIZE. */
    public static final int DEFAULT_SIZE = 256;
    /** IOVA_DEFAULT_FQ_TIMEOUT: 10 ms. */
    public static final long DEFAULT_TIMEOUT_NS = 10_000_000L;

    private record Entry(long pfn, long pages, List<Long> freelist) {}

    private final Domain domain;
    private final VirtualClock clock;
    private final int size;
    private final long timeoutNs;
    private final List<Entry> entries = new ArrayList<>();
    private boolean timerArmed;
    private long flushes, timerFlushes, fullFlushes;

    FlushQueue(Domain domain, VirtualClock clock, int size, long timeoutNs) {
        this.domain = domain;
        this.clock = clock;
        this.size = size;
        this.timeoutNs = timeoutNs;
    }

    /** Queues an unmapped range; flushes first when the queue is full; arms the timer. */
    void add(long pfn, long pages, List<Long> freelist) {
        List<Entry> ready = List.of();
        synchronized (this) {
            if (entries.size() >= size) {
                fullFlushes++;
                ready = takeAllAndFlush();
            }
            entries.add(new Entry(pfn, pages, List.copyOf(freelist)));
            if (!timerArmed && clock != null) {
                timerArmed = true;
                clock.schedule(timeoutNs, this::timeout);
            }
        }
        release(ready);
    }

    private void timeout() {
        List<Entry> ready;
        synchronized (this) {
            timerArmed = false;
            if (entries.isEmpty()) return;
            timerFlushes++;
            ready = takeAllAndFlush();
        }
        release(ready);
    }

    /** Invalidates now and releases everything queued (also used when the domain goes away). */
    public void flushNow() {
        List<Entry> ready;
        synchronized (this) {
            if (entries.isEmpty()) return;
            ready = takeAllAndFlush();
        }
        release(ready);
    }

    private List<Entry> takeAllAndFlush() {
        flushes++;
        domain.flushIotlbAll();
        List<Entry> out = new ArrayList<>(entries);
        entries.clear();
        return out;
    }

    private void release(List<Entry> ready) {
        for (Entry e : ready) {
            domain.iovad().freeFast(e.pfn, e.pages);
            domain.freeTablePages(e.freelist);
        }
    }

    public synchronized int pending() { return entries.size(); }
    public synchronized long flushes() { return flushes; }
    public synchronized long timerFlushes() { return timerFlushes; }
    public synchronized long fullFlushes() { return fullFlushes; }
}

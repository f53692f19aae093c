package dev.vtd.platform.pci;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.iommu.inval.DeviceTlb;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PageGroupResponse;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * The address-translation side of an ATS-capable endpoint (PCIe ATS and PRI; VT-d spec chapter 4):
 * a device-TLB filled by translation requests, DMA issued as translated requests from it, device-TLB
 * invalidation requests from the remapping unit (with or without PASID, completed at once), and,
 * with its Page Request Interface enabled, page requests for pages a translation found absent,
 * answered by page group responses; a request that faulted this way succeeds when retried after a
 * "Success" response (shared virtual addressing).
 *
 * <p>Bounded: the device-TLB holds at most {@code capacity} translations (least recently used
 * replaced); one translation request per page.
 *
 * <p>Smallest Translation Unit (PCIe base spec 10.5.1.3, ATS Control): software promises that
 * invalidations come in units of at least 2^STU 4 KiB blocks, so an invalidation request removes
 * every translation overlapping the STU-aligned blocks its range touches. Invalidation requests
 * complete as they arrive, so the endpoint never holds more than one and its Invalidate Queue
 * Depth is never reached.
 */
public final class AtsEndpoint implements DeviceTlb {
    /** One device-TLB entry: the translation of a page for a PASID (-1 = requests without PASID). */
    public record Entry(int pasid, long inputBase, long pageSize, long outputBase, boolean read, boolean write) {
        boolean covers(int p, long address) {
            return pasid == p && address - inputBase >= 0 && address - inputBase < pageSize;
        }
    }

    /** A page request this endpoint sent and the answer, once it came. */
    public record PageRequest(int pasid, long address, boolean write, int groupIndex) {}

    private final IntSupplier requesterId;
    private final AtsPort port;
    private final int capacity;
    private final Map<Long, Entry> tlb;
    private boolean pageRequestsEnabled;
    private int stu;
    private int nextGroup;
    private final Map<Integer, PageRequest> outstanding = new LinkedHashMap<>();
    private final List<PageGroupResponse> responses = new ArrayList<>();
    private long translationRequests, hits, invalidations, pageRequestsSent;

    public AtsEndpoint(int requesterId, AtsPort port, int capacity) {
        this(() -> requesterId, port, capacity);
    }

    /**
     * An endpoint whose requester ID is known only once it sits on a bus (a PCI function's,
     * re-read at each request).
     */
    public AtsEndpoint(IntSupplier requesterId, AtsPort port, int capacity) {
        this.requesterId = requesterId;
        this.port = port;
        this.capacity = Math.max(1, capacity);
        this.tlb = new LinkedHashMap<>(16, 0.75f, true);
    }

    public int requesterId() { return requesterId.getAsInt() & 0xFFFF; }

    /** Smallest Translation Unit as software programmed it (2^stu 4 KiB blocks; 0..31). */
    public synchronized void setSmallestTranslationUnit(int stu) { this.stu = stu & 0x1F; }

    public synchronized int smallestTranslationUnit() { return stu; }

    /** Drops every cached translation (ATS disabled, function reset). */
    public synchronized void invalidateAll() { tlb.clear(); }

    /** PRI enable: without it a missing page just ends the transfer. */
    public synchronized void enablePageRequests(boolean on) { this.pageRequestsEnabled = on; }

    private static long key(int pasid, long base) {
        return ((long) (pasid & 0xFFFFF) << 44) ^ (base >>> 12) ^ ((long) (pasid < 0 ? 1 : 0) << 63);
    }

    private Entry find(int pasid, long address) {
        for (int shift = 12; shift <= 30; shift += 9) {
            Entry e = tlb.get(key(pasid, address & ~((1L << shift) - 1)));
            if (e != null && e.covers(pasid, address)) return e;
        }
        return null;
    }

    /**
     * DMA of {@code length} bytes at {@code address} (an untranslated address of the PASID's
     * space): translations come from the device-TLB or a translation request, the data moves as
     * translated requests. Returns the bytes moved before the first page the endpoint may not
     * access (after sending a page request for it when PRI is enabled).
     */
    public long dma(int pasid, boolean privileged, long address, MemorySegment buf, long bufOffset, long length,
                    boolean write) {
        int requesterId = requesterId();
        long done = 0;
        while (done < length) {
            long a = address + done;
            Entry e;
            synchronized (this) {
                e = find(pasid, a);
                if (e != null && (write ? e.write() : e.read())) {
                    hits++;
                } else {
                    translationRequests++;
                    AtsPort.Completion c = port.translate(requesterId, pasid, a, write, privileged, false);
                    if (!c.ok()) return done;                          // Unsupported Request: give up
                    // A completion must name a power-of-two range of at least 4 KiB (PCIe 10.2.3);
                    // anything else is a malformed completion: the request fails.
                    if (c.pageSize() < 4096 || Long.bitCount(c.pageSize()) != 1) return done;
                    e = new Entry(pasid, a & ~(c.pageSize() - 1), c.pageSize(), c.outputBase(), c.read(), c.write());
                    if (c.read() || c.write()) insert(e);
                    if (!(write ? e.write() : e.read())) {
                        if (pageRequestsEnabled) {
                            int g = nextGroup;
                            nextGroup = (nextGroup + 1) & 0x1FF;
                            outstanding.put(g, new PageRequest(pasid, a & ~0xFFFL, write, g));
                            pageRequestsSent++;
                            port.pageRequest(requesterId, pasid, a, !write, write, false, privileged, true, g);
                        }
                        return done;
                    }
                }
            }
            long chunk = Math.min(length - done, e.inputBase() + e.pageSize() - a);
            long out = e.outputBase() + (a - e.inputBase());
            long n = write ? port.writeTranslated(requesterId, out, buf, bufOffset + done, chunk)
                    : port.readTranslated(requesterId, out, buf, bufOffset + done, chunk);
            done += n;
            if (n < chunk) return done;
        }
        return done;
    }

    private void insert(Entry e) {
        if (tlb.size() >= capacity) {
            Iterator<Long> it = tlb.keySet().iterator();
            it.next();
            it.remove();
        }
        tlb.put(key(e.pasid(), e.inputBase()), e);
    }

    /** PCIe ATS invalidation request: drops every translation of the PASID overlapping the range. */
    @Override
    public synchronized Completion invalidate(DeviceTlbInvalidationRequest r) {
        invalidations++;
        // Round the range out to whole STU blocks; addresses compare unsigned (a range may end at 2^64 - 1).
        long unitMask = (1L << (12 + stu)) - 1;
        long first = r.address() & ~unitMask;
        long end = r.address() + (r.size() == 0 ? 1 : r.size()) - 1;      // size is unsigned
        if (Long.compareUnsigned(end, r.address()) < 0) end = -1L;
        long last = end | unitMask;
        tlb.values().removeIf(e -> (r.global() || e.pasid() == r.pasid())
                && Long.compareUnsigned(e.inputBase(), last) <= 0
                && Long.compareUnsigned(first, e.inputBase() + e.pageSize() - 1) <= 0);
        return Completion.DONE;
    }

    /** A PRG response: the group's requests are answered (the endpoint may retry them). */
    @Override
    public synchronized void pageGroupResponse(PageGroupResponse response) {
        responses.add(response);
        outstanding.remove(response.groupIndex());
    }

    public synchronized List<Entry> entries() { return List.copyOf(tlb.values()); }
    public synchronized List<PageRequest> outstandingPageRequests() { return List.copyOf(outstanding.values()); }
    public synchronized List<PageGroupResponse> responses() { return List.copyOf(responses); }

    /** Counters: translation requests, device-TLB hits, invalidation requests, page requests sent. */
    public record Stats(long translationRequests, long hits, long invalidations, long pageRequests) {}

    public synchronized Stats stats() {
        return new Stats(translationRequests, hits, invalidations, pageRequestsSent);
    }
}

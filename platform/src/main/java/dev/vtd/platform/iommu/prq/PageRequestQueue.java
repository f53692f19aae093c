package dev.vtd.platform.iommu.prq;

import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.inval.DeviceTlb;
import dev.vtd.platform.iommu.inval.DeviceTlbRegistry;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.PageGroupResponse;
import dev.vtd.platform.iommu.inval.InvalidationQueue;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Page request services (VT-d spec 7.5.1, registers 11.4.11): the page request queue in memory at
 * PQA (2^PQS 4 KiB pages of 256-bit descriptors), its head (PQH, advanced by software) and tail
 * (PQT, advanced by the unit), the status PRS (PPR pending, PRO overflow; RW1C) and the page
 * request event (PECTL/PEDATA/PEADDR/PEUADDR with IM/IP as the other events).
 *
 * <p>A request that finds the queue full sets PRO and is not queued; if it was the last of its
 * group the unit itself answers the group with "Success" so the endpoint retries (7.5.1.2).
 */
public final class PageRequestQueue implements RemappingUnit.PageRequestSink, InvalidationQueue.PageRequestDrain {
    public static final long PQA_PQS_MASK = 0x7;
    public static final long PQ_OFFSET_MASK = 0x7FFE0L;
    public static final int PRS_PPR = 1, PRS_PRO = 1 << 1;

    private final RemappingUnit unit;
    private final PhysicalMemory memory;
    private final DeviceTlbRegistry endpoints;
    private long pqh, pqt, pqa;
    private int prs;
    private int pectl = Reg.ECTL_IM;
    private int pedata, peaddr, peuaddr;
    private long queued, overflows, eventsSent;

    public PageRequestQueue(RemappingUnit unit, DeviceTlbRegistry endpoints) {
        this.unit = unit;
        this.memory = unit.memory();
        this.endpoints = endpoints;
    }

    /** True for the register offsets this block serves. */
    public static boolean owns(int off) {
        return off >= Reg.PQH && off <= Reg.PEADDR;
    }

    private long queueBytes() {
        return 4096L << (pqa & PQA_PQS_MASK);
    }

    public synchronized long readQword(int off) {
        return switch (off) {
            case Reg.PQH -> pqh;
            case Reg.PQT -> pqt;
            case Reg.PQA -> pqa;
            case 0xD8 -> (long) prs << 32;                                        // PRS at 0xDC
            case Reg.PECTL -> (pectl & 0xFFFF_FFFFL) | ((long) pedata << 32);
            case Reg.PEADDR -> (peaddr & 0xFFFF_FFFFL) | ((long) peuaddr << 32);
            default -> 0;
        };
    }

    public synchronized void writeQword(int off, long value, long mask) {
        boolean lo = (mask & 0xFFFF_FFFFL) != 0;
        boolean hi = (mask >>> 32) != 0;
        switch (off) {
            case Reg.PQH -> pqh = merge(pqh, value, mask) & PQ_OFFSET_MASK;
            case Reg.PQA -> {
                long haw = (1L << unit.config().hostAddressWidth()) - 1;
                pqa = merge(pqa, value, mask) & (~0xFFFL & haw | PQA_PQS_MASK);
            }
            case 0xD8 -> {
                if (hi) {
                    prs &= ~((int) (value >>> 32) & (PRS_PPR | PRS_PRO));
                    if (prs == 0) pectl &= ~Reg.ECTL_IP;                          // the condition was serviced
                }
            }
            case Reg.PECTL -> {
                if (lo) {
                    pectl = (pectl & Reg.ECTL_IP) | ((int) value & Reg.ECTL_IM);
                    if ((pectl & Reg.ECTL_IM) == 0 && (pectl & Reg.ECTL_IP) != 0) sendEvent();
                }
                if (hi) pedata = (int) (merge((long) pedata << 32, value, mask) >>> 32);
            }
            case Reg.PEADDR -> {
                if (lo) peaddr = (int) merge(peaddr & 0xFFFF_FFFFL, value, mask) & ~3;
                if (hi) peuaddr = (int) (merge((long) peuaddr << 32, value, mask) >>> 32);
            }
            default -> { }                                                        // PQT: read-only
        }
    }

    private static long merge(long old, long value, long mask) {
        return (old & ~mask) | (value & mask);
    }

    public synchronized void reset() {
        pqh = pqt = pqa = 0;
        prs = 0;
        pectl = Reg.ECTL_IM;
        pedata = peaddr = peuaddr = 0;
    }

    @Override
    public void pageRequest(int requesterId, int pasid, long address, boolean read, boolean write, boolean execute,
                            boolean privileged, boolean lastInGroup, int groupIndex) {
        boolean autoRespond = false;
        synchronized (this) {
            long bytes = queueBytes();
            long next = (pqt + PageRequestDescriptor.SIZE) % bytes;
            long slot = (pqa & ~0xFFFL) + pqt;
            if (next == (pqh % bytes) || !memory.isRam(slot, PageRequestDescriptor.SIZE)) {
                prs |= PRS_PRO;
                overflows++;
                raise();
                autoRespond = lastInGroup;
            } else {
                long[] d = new PageRequestDescriptor(requesterId, pasid >= 0, Math.max(pasid, 0), execute, privileged,
                        read, write, lastInGroup, groupIndex, address, false, 0, 0).encode();
                for (int i = 0; i < d.length; i++) memory.write64(slot + 8L * i, d[i]);
                pqt = next;
                queued++;
                boolean wasPending = (prs & PRS_PPR) != 0;
                prs |= PRS_PPR;
                if (!wasPending) raise();
            }
        }
        if (autoRespond) respond(requesterId, pasid, groupIndex, PageGroupResponse.SUCCESS);
    }

    @Override
    public void respond(int requesterId, int pasid, int groupIndex, int responseCode) {
        DeviceTlb endpoint = endpoints.lookup(requesterId);
        if (endpoint != null) endpoint.pageGroupResponse(PageGroupResponse.of(requesterId, pasid, responseCode, groupIndex));
    }

    /** Page requests are queued as they arrive: when a drain is asked for, none is in flight. */
    @Override
    public void drain() {}

    private void raise() {
        pectl |= Reg.ECTL_IP;
        if ((pectl & Reg.ECTL_IM) == 0) sendEvent();
    }

    private void sendEvent() {
        pectl &= ~Reg.ECTL_IP;
        eventsSent++;
        unit.interruptSink().deliver(((long) peuaddr << 32) | (peaddr & 0xFFFF_FFFFL), pedata);
    }

    /** Counters: requests queued, overflows, events sent. */
    public record Stats(long queued, long overflows, long eventsSent) {}

    public synchronized Stats stats() {
        return new Stats(queued, overflows, eventsSent);
    }
}

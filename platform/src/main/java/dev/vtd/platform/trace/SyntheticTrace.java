package dev.vtd.platform.trace;

import java.lang.foreign.MemorySegment;

/**
 * A synthetic multi-tenant I/O trace: {@code tenants} NIC functions, each in its own domain (as
 * SR-IOV VFs assigned to different VMs are), receiving packets into their own rings. Per packet a
 * tenant's device reads its RX descriptor, writes the packet into the descriptor's 2 KiB buffer and
 * writes the descriptor back; the tenants take turns in bursts of varying length, as a NIC's queues
 * are served. Each tenant's IOVA layout is the same (ring at 0x1000_0000, buffers at 0x2000_0000), as
 * it is for guests that run the same driver, so only the domain ID tells their translations apart.
 *
 * <p>With {@code strict}, the host invalidates each buffer's page after its packet (a page-selective
 * IOTLB invalidation, as Linux's strict mode does on unmap) and maps the ring's buffers at fresh IOVAs
 * each time round; without it the mappings stay (VFIO: guest memory is mapped once).
 *
 * <p>Generated chunk by chunk ({@link #fill}), so a long trace never has to fit in memory.
 */
public final class SyntheticTrace {
    public record Params(int tenants, int ringSize, int burst, long packets, boolean strict, long seed) {
        public Params {
            if (tenants < 1 || tenants > 255) throw new IllegalArgumentException("tenants " + tenants + " outside 1..255");
            if (ringSize < 8 || ringSize > 4096 || Integer.bitCount(ringSize) != 1) {
                throw new IllegalArgumentException("ring size " + ringSize + " is not a power of two in 8..4096");
            }
            if (burst < 1 || burst > ringSize) throw new IllegalArgumentException("burst " + burst + " outside 1.." + ringSize);
            if (packets < 1 || packets > 1_000_000_000L) {
                throw new IllegalArgumentException("packets " + packets + " outside 1..1000000000");
            }
        }

        /** Records in the whole trace. */
        public long records() {
            return packets * (strict ? 4 : 3);
        }
    }

    static final long RX_RING = 0x1000_0000L, BUFFERS = 0x2000_0000L, HPA_STRIDE = 0x1_0000_0000L;
    private static final int DESC_BYTES = 16, BUF_BYTES = 2048;

    private final Params p;
    private final long[] head;
    private final long[] generation;
    private long rnd;
    private long packet, time;
    private int tenant, burstLeft;

    public SyntheticTrace(Params p) {
        this.p = p;
        this.head = new long[p.tenants()];
        this.generation = new long[p.tenants()];
        this.rnd = p.seed() * 0x9E37_79B9_7F4A_7C15L + 1;
        this.burstLeft = nextBurst();
    }

    private int nextBurst() {
        rnd ^= rnd << 13;
        rnd ^= rnd >>> 7;
        rnd ^= rnd << 17;
        return 1 + (int) Long.remainderUnsigned(rnd, 2L * p.burst());
    }

    /** True while packets remain. */
    public boolean hasMore() {
        return packet < p.packets();
    }

    /**
     * Writes the next packets' records into {@code chunk} from its start.
     *
     * @return the number of bytes written (a whole number of packets; 0 when the trace is done)
     */
    public long fill(MemorySegment chunk) {
        int perPacket = p.strict() ? 4 : 3;
        long room = chunk.byteSize() / ((long) perPacket * TraceFormat.RECORD_BYTES);
        long off = 0;
        for (long k = 0; k < room && hasMore(); k++, packet++) {
            if (burstLeft == 0) {
                tenant = (tenant + 1) % p.tenants();
                burstLeft = nextBurst();
            }
            burstLeft--;
            int sid = (tenant + 1) << 8, did = tenant + 1;
            long hpaBase = (tenant + 1L) * HPA_STRIDE;
            long slot = head[tenant]++ & (p.ringSize() - 1);
            long desc = RX_RING + slot * DESC_BYTES;
            long buf = BUFFERS + (slot + generation[tenant] * p.ringSize()) * BUF_BYTES;
            time += 10;
            TraceRecord.translation(0, sid, did, 0, false, desc, false, false, 0, hpaBase + desc, 12, DESC_BYTES, time)
                    .encode(chunk, off);
            TraceRecord.translation(0, sid, did, 0, false, buf, true, false, 0, hpaBase + buf, 12, 1514, time + 2)
                    .encode(chunk, off + TraceFormat.RECORD_BYTES);
            TraceRecord.translation(0, sid, did, 0, false, desc, true, false, 0, hpaBase + desc, 12, DESC_BYTES, time + 4)
                    .encode(chunk, off + 2L * TraceFormat.RECORD_BYTES);
            off += 3L * TraceFormat.RECORD_BYTES;
            if (p.strict()) {
                TraceRecord.invalidation(0, TraceRecord.Invalidation.IOTLB_PAGE, did, 0, false, buf & ~0xFFFL, 0, false,
                        0, time + 6).encode(chunk, off);
                off += TraceFormat.RECORD_BYTES;
                if (slot == p.ringSize() - 1) generation[tenant] = (generation[tenant] + 1) & 0xFFFF;
            }
        }
        return off;
    }
}

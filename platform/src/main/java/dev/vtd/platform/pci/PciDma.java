package dev.vtd.platform.pci;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.bus.DmaPort;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A function's upstream (bus-master) path: what the device issues DMA and message-signalled
 * interrupts into. Each request
 * <ul>
 *   <li>is issued only if Bus Master Enable is set in the function and in every bridge above it
 *       (PCI-to-PCI Bridge spec 3.2.5.3: a bridge forwards upstream memory requests only with BME);</li>
 *   <li>carries the requester ID the root complex sees: the function's own, or the alias a bridge
 *       above substitutes (see {@link PciBridge.Kind});</li>
 *   <li>goes to the {@link DmaPort} the segment's DMA router names for that requester ID (the
 *       remapping unit whose device scope covers it, or memory).</li>
 * </ul>
 * A read that comes back short (blocked upstream) sets Received Master Abort in the function's
 * status (an Unsupported Request completion, PCIe base spec 7.5.1.1.4).
 */
public final class PciDma {
    private final PciFunction function;
    private final LongAdder gated = new LongAdder();

    PciDma(PciFunction function) {
        this.function = function;
    }

    /** Requests not issued because Bus Master Enable was clear somewhere on the path. */
    public long gatedRequests() {
        return gated.sum();
    }

    /** True if the function and every bridge above it have Bus Master Enable set. */
    public boolean enabled() {
        if (!function.busMasterEnabled()) return false;
        PciBus b = function.bus();
        if (b == null) return false;
        for (PciBridge br = b.upstream(); br != null; br = br.bus() == null ? null : br.bus().upstream()) {
            if (!br.busMasterEnabled()) return false;
        }
        return true;
    }

    /** The requester ID the root complex sees for this function's requests. */
    public int requesterId() {
        int id = function.rid();
        PciBus b = function.bus();
        if (b == null) return id;
        for (PciBridge br = b.upstream(); br != null; br = br.bus() == null ? null : br.bus().upstream()) {
            int alias = br.aliasFor();
            if (alias >= 0) id = alias;
        }
        return id;
    }

    /**
     * Every requester ID this function's DMA may carry, own ID first, then each alias a bridge on
     * the path substitutes, nearest first (the IDs Linux's pci_for_each_dma_alias visits).
     */
    List<Integer> aliases() {
        List<Integer> out = new ArrayList<>();
        out.add(function.rid());
        PciBus b = function.bus();
        if (b == null) return out;
        for (PciBridge br = b.upstream(); br != null; br = br.bus() == null ? null : br.bus().upstream()) {
            int alias = br.aliasFor();
            if (alias >= 0 && !out.contains(alias)) out.add(alias);
        }
        return out;
    }

    private DmaPort route(int rid) {
        PciSegment s = function.segment();
        return s == null ? null : s.dmaTarget(rid);
    }

    /** DMA read of {@code length} bytes; returns the bytes transferred before the first blocked one. */
    public long read(long address, MemorySegment dst, long dstOffset, long length) {
        if (length <= 0) return 0;
        if (!enabled()) {
            gated.increment();
            return 0;
        }
        int rid = requesterId();
        DmaPort p = route(rid);
        long n = p == null ? 0 : p.read(rid, address, dst, dstOffset, length);
        if (n < length) function.setStatusBits(PciRegs.STS_RECEIVED_MASTER_ABORT);
        return n;
    }

    /** DMA write (posted); returns the bytes accepted before the first blocked one. */
    public long write(long address, MemorySegment src, long srcOffset, long length) {
        if (length <= 0) return 0;
        if (!enabled()) {
            gated.increment();
            return 0;
        }
        int rid = requesterId();
        DmaPort p = route(rid);
        return p == null ? 0 : p.write(rid, address, src, srcOffset, length);
    }

    public boolean readFully(long address, byte[] dst) {
        return read(address, MemorySegment.ofArray(dst), 0, dst.length) == dst.length;
    }

    public boolean writeFully(long address, byte[] src) {
        return write(address, MemorySegment.ofArray(src), 0, src.length) == src.length;
    }

    /** A little-endian dword write: how a function sends an MSI/MSI-X message or a status word. */
    public boolean writeInt(long address, int value) {
        byte[] b = {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)};
        return writeFully(address, b);
    }

    public boolean writeLong(long address, long value) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (value >>> (8 * i));
        return writeFully(address, b);
    }

    /**
     * The function's address-translation path (PCIe ATS): translation requests, translated
     * requests and page requests, gated by Bus Master Enable like any upstream request and stamped
     * with the function's requester ID. They go to the translation agent that owns the requester
     * (its remapping unit); with none (no unit covers the function, or VT-d is off in the BIOS) a
     * root complex without ATS completes them as Unsupported Request. A translation request or a
     * translated read that comes back short sets Received Master Abort.
     */
    public AtsPort ats() {
        return ats;
    }

    private final AtsPort ats = new AtsPort() {
        private static final Completion UNSUPPORTED = new Completion(false, 0, 0, false, false);

        private AtsPort agent() {
            if (!enabled()) {
                gated.increment();
                return null;
            }
            return route(requesterId()) instanceof AtsPort p ? p : null;
        }

        @Override
        public Completion translate(int rid, int pasid, long address, boolean write, boolean privileged, boolean execute) {
            AtsPort p = agent();
            Completion c = p == null ? UNSUPPORTED : p.translate(requesterId(), pasid, address, write, privileged, execute);
            if (!c.ok()) function.setStatusBits(PciRegs.STS_RECEIVED_MASTER_ABORT);
            return c;
        }

        @Override
        public long readTranslated(int rid, long address, MemorySegment dst, long dstOffset, long length) {
            if (length <= 0) return 0;
            AtsPort p = agent();
            long n = p == null ? 0 : p.readTranslated(requesterId(), address, dst, dstOffset, length);
            if (n < length) function.setStatusBits(PciRegs.STS_RECEIVED_MASTER_ABORT);
            return n;
        }

        @Override
        public long writeTranslated(int rid, long address, MemorySegment src, long srcOffset, long length) {
            if (length <= 0) return 0;
            AtsPort p = agent();
            return p == null ? 0 : p.writeTranslated(requesterId(), address, src, srcOffset, length);
        }

        @Override
        public void pageRequest(int rid, int pasid, long address, boolean read, boolean write, boolean execute,
                                boolean privileged, boolean lastInGroup, int groupIndex) {
            AtsPort p = agent();
            if (p != null) p.pageRequest(requesterId(), pasid, address, read, write, execute, privileged, lastInGroup, groupIndex);
        }
    };

    /** Reads a little-endian dword; all ones if the read was blocked. */
    public int readInt(long address) {
        byte[] b = new byte[4];
        if (!readFully(address, b)) return -1;
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }
}

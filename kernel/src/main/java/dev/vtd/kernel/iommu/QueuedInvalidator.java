package dev.vtd.kernel.iommu;

import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Queued invalidation (VT-d spec 6.5.2): a one-page ring of 128-bit descriptors at IQA, software advancing IQT,
 * each batch closed by an invalidation-wait descriptor whose status write the driver polls in memory.
 * {@link #enable} returns null when the hardware does not bring GSTS.QIES up, so the caller can fall back to
 * register-based invalidation as Linux does.
 */
public final class QueuedInvalidator implements Invalidator {
    // Descriptor types (6.5.2.*) in bits 3:0.
    static final long TYPE_CONTEXT = 0x1, TYPE_IOTLB = 0x2, TYPE_IEC = 0x4, TYPE_WAIT = 0x5;
    /** Interrupt entry cache invalidation (6.5.2.7): G bit 4 (1 = index-selective), IM 31:27, IIDX 47:32. */
    static final long IEC_INDEX_SELECTIVE = 1L << 4;
    static final int IEC_IM_SHIFT = 27;
    static final int IEC_IIDX_SHIFT = 32;
    static final int G_SHIFT = 4;
    static final int DID_SHIFT = 16;
    static final int CC_SID_SHIFT = 32;
    static final int CC_FM_SHIFT = 48;
    static final long IOTLB_DW = 1L << 6, IOTLB_DR = 1L << 7;
    static final long IOTLB_IH = 1L << 6;
    static final long WAIT_SW = 1L << 5, WAIT_FN = 1L << 6;
    static final int WAIT_DATA_SHIFT = 32;
    /** IQA_REG: QS 2:0 (2^QS pages), DW 11 (0 = 128-bit descriptors). */
    static final long IQA_QS_MASK = 7;
    /** IQH/IQT: descriptor index in bits 18:4 for 128-bit descriptors. */
    static final int IQ_INDEX_SHIFT = 4;
    static final int DESCRIPTOR_BYTES = 16;
    static final int ENTRIES = (int) (PhysicalMemory.PAGE_SIZE / DESCRIPTOR_BYTES);
    static final int STATUS_DONE = 1;
    static final int STATUS_IN_USE = 2;

    private final UnitRegisters regs;
    private final PhysicalMemory memory;
    private final PageAllocator pages;
    private final Cap cap;
    private final long queue;
    private final long status;
    private int tail;

    private QueuedInvalidator(UnitRegisters regs, PhysicalMemory memory, PageAllocator pages, Cap cap, long queue,
                              long status) {
        this.regs = regs;
        this.memory = memory;
        this.pages = pages;
        this.cap = cap;
        this.queue = queue;
        this.status = status;
    }

    /**
     * Programs IQA (one page, 128-bit descriptors), resets IQT, sets GCMD.QIE and waits for GSTS.QIES.
     * Returns null (with the pages given back and QIE cleared) when the unit does not answer.
     */
    public static QueuedInvalidator enable(UnitRegisters regs, PhysicalMemory memory, PageAllocator pages, Cap cap) {
        long q = pages.allocPage();
        long st = pages.allocPage();
        regs.write64(Reg.IQT, 0);
        regs.write64(Reg.IQA, q & ~0xFFFL);  // QS = 0: 256 entries; DW = 0
        int persistent = regs.read32(Reg.GSTS) & UnitRegisters.GCMD_PERSISTENT_MASK;
        regs.write32(Reg.GCMD, persistent | Reg.GCMD_QIE);
        for (int i = 0; i < 1000; i++) {
            if ((regs.read32(Reg.GSTS) & Reg.GSTS_QIES) != 0) {
                return new QueuedInvalidator(regs, memory, pages, cap, q, st);
            }
        }
        regs.write32(Reg.GCMD, persistent & ~Reg.GCMD_QIE);
        pages.freePage(q);
        pages.freePage(st);
        return null;
    }

    @Override
    public String kind() {
        return "Queued";
    }

    @Override
    public void flushContext(int granularity, int domainId, int sourceId, int functionMask) {
        long lo = TYPE_CONTEXT | ((long) (granularity & 3) << G_SHIFT) | ((long) (domainId & 0xFFFF) << DID_SHIFT)
                | ((long) (sourceId & 0xFFFF) << CC_SID_SHIFT) | ((long) (functionMask & 3) << CC_FM_SHIFT);
        submit(lo, 0);
    }

    @Override
    public void flushIotlb(int granularity, int domainId, long address, int addressMask, boolean leafOnly) {
        long lo = TYPE_IOTLB | ((long) (granularity & 3) << G_SHIFT) | ((long) (domainId & 0xFFFF) << DID_SHIFT);
        if (cap.get(Cap.DRD) != 0) lo |= IOTLB_DR;
        if (cap.get(Cap.DWD) != 0) lo |= IOTLB_DW;
        long hi = granularity == IOTLB_PAGE
                ? (address & ~0xFFFL) | (leafOnly ? IOTLB_IH : 0) | (addressMask & 0x3F) : 0;
        submit(lo, hi);
    }

    /** Invalidates the interrupt entry cache: everything, or 2^mask entries from {@code index}. */
    public void flushIec(boolean global, int index, int mask) {
        long lo = TYPE_IEC;
        if (!global) {
            lo |= IEC_INDEX_SELECTIVE | ((long) (mask & 0x1F) << IEC_IM_SHIFT) | ((long) (index & 0xFFFF) << IEC_IIDX_SHIFT);
        }
        submit(lo, 0);
    }

    /** Writes the descriptor and a status-writing wait descriptor, moves IQT, and polls the status word. */
    private synchronized void submit(long lo, long hi) {
        memory.write32(status, STATUS_IN_USE);
        write(lo, hi);
        write(TYPE_WAIT | WAIT_SW | WAIT_FN | ((long) STATUS_DONE << WAIT_DATA_SHIFT), status);
        regs.write64(Reg.IQT, (long) tail << IQ_INDEX_SHIFT);
        for (int i = 0; i < UnitRegisters.POLL_LIMIT; i++) {
            if (memory.read32(status) == STATUS_DONE) return;
            if ((regs.read32(Reg.FSTS) & Reg.FSTS_IQE) != 0) {
                regs.write32(Reg.FSTS, Reg.FSTS_IQE);
                throw new IommuException("EIO", regs.name() + ": Invalidation Queue Error (IQE)");
            }
        }
        throw new IommuException("EIO", regs.name() + ": invalidation wait descriptor never completed");
    }

    private void write(long lo, long hi) {
        long at = queue + (long) tail * DESCRIPTOR_BYTES;
        memory.write64(at, lo);
        memory.write64(at + 8, hi);
        tail = (tail + 1) % ENTRIES;
    }

    @Override
    public void shutdown() {
        int persistent = regs.read32(Reg.GSTS) & UnitRegisters.GCMD_PERSISTENT_MASK;
        regs.write32(Reg.GCMD, persistent & ~Reg.GCMD_QIE);
        regs.poll32(Reg.GSTS, v -> (v & Reg.GSTS_QIES) == 0, "queued invalidation disable");
        pages.freePage(queue);
        pages.freePage(status);
    }
}

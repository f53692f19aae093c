package dev.vtd.platform.iommu.inval;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.iommu.GlobalCommand;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Software's side of the invalidation queue, as a driver programs it: IQA, GCMD.QIE, descriptors
 * written at the tail, then IQT advanced (VT-d spec 6.5.2).
 */
public final class QueueWriter {
    private final MmioDevice regs;
    private final PhysicalMemory memory;
    private final long base;
    private final int queueSize;
    private final boolean wide;
    private long tail;

    /**
     * @param base      4 KiB-aligned queue base in RAM
     * @param queueSize QS: the queue is 2^QS 4 KiB pages
     * @param wide      256-bit descriptors (IQA.DW, needs ECAP.SMTS)
     */
    public QueueWriter(MmioDevice regs, PhysicalMemory memory, long base, int queueSize, boolean wide) {
        this.regs = regs;
        this.memory = memory;
        this.base = base;
        this.queueSize = queueSize;
        this.wide = wide;
    }

    public int descriptorBytes() {
        return wide ? 32 : 16;
    }

    public long queueBytes() {
        return 4096L << queueSize;
    }

    /** Writes IQA and IQT = 0, then enables queued invalidation; returns GSTS. */
    public int enable() {
        regs.write(Reg.IQT, 8, 0);
        regs.write(Reg.IQA, 8, base | queueSize | (wide ? InvalidationQueue.IQA_DW : 0));
        tail = 0;
        return GlobalCommand.set(regs, Reg.GCMD_QIE, true);
    }

    public int disable() {
        return GlobalCommand.set(regs, Reg.GCMD_QIE, false);
    }

    /** Writes descriptors at the tail and advances IQT once. */
    public void submit(InvalidationDescriptor... ds) {
        for (InvalidationDescriptor d : ds) {
            long[] q = d.encode();
            put(q);
        }
        regs.write(Reg.IQT, 8, tail);
    }

    /** Writes one raw descriptor (q0, q1, and for 256-bit queues q2, q3) and advances IQT. */
    public void submitRaw(long... qwords) {
        put(qwords);
        regs.write(Reg.IQT, 8, tail);
    }

    private void put(long... q) {
        long a = base + tail;
        for (int i = 0; i < descriptorBytes() / 8; i++) memory.write64(a + 8L * i, i < q.length ? q[i] : 0);
        tail = (tail + descriptorBytes()) % queueBytes();
    }

    /** Overwrites the descriptor at a queue offset (e.g. to repair the one IQH stopped at). */
    public void rewrite(long offset, long... q) {
        for (int i = 0; i < descriptorBytes() / 8; i++) memory.write64(base + offset + 8L * i, i < q.length ? q[i] : 0);
    }

    public long tail() {
        return tail;
    }

    public long head() {
        return regs.read(Reg.IQH, 8);
    }
}

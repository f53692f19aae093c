package dev.vtd.kernel.iommu;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.iommu.regs.Reg;

import java.util.function.LongPredicate;

/**
 * The driver's window on one remapping unit's register block: 32/64-bit MMIO reads and writes
 * (readl/writel/dmar_readq/dmar_writeq) and the bounded completion poll (IOMMU_WAIT_OP): a register that never
 * shows the awaited state within {@link #POLL_LIMIT} reads means the hardware is broken, as Linux's
 * DMAR_OPERATION_TIMEOUT panic says.
 */
public final class UnitRegisters {
    /** Reads before a poll gives up. */
    public static final int POLL_LIMIT = 10_000;
    /** GSTS bits that reflect persistent enables; the rest are one-shot commands (Linux's 0x96ffffff). */
    public static final int GCMD_PERSISTENT_MASK = 0x96FF_FFFF;

    private final MmioDevice mmio;
    private final String name;
    private long reads, writes;

    public UnitRegisters(MmioDevice mmio, String name) {
        this.mmio = mmio;
        this.name = name;
    }

    public int read32(int offset) {
        reads++;
        return (int) mmio.read(offset, 4);
    }

    public long read64(int offset) {
        reads++;
        return mmio.read(offset, 8);
    }

    public void write32(int offset, int value) {
        writes++;
        mmio.write(offset, 4, value & 0xFFFF_FFFFL);
    }

    public void write64(int offset, long value) {
        writes++;
        mmio.write(offset, 8, value);
    }

    /** Polls a 64-bit register until {@code done} holds; returns the last value read. */
    public long poll64(int offset, LongPredicate done, String what) {
        for (int i = 0; i < POLL_LIMIT; i++) {
            long v = read64(offset);
            if (done.test(v)) return v;
        }
        throw new IommuException("EIO", name + ": DMAR hardware is malfunctioning (" + what + " did not complete)");
    }

    /** Polls a 32-bit register until {@code done} holds; returns the last value read. */
    public int poll32(int offset, LongPredicate done, String what) {
        for (int i = 0; i < POLL_LIMIT; i++) {
            int v = read32(offset);
            if (done.test(v & 0xFFFF_FFFFL)) return v;
        }
        throw new IommuException("EIO", name + ": DMAR hardware is malfunctioning (" + what + " did not complete)");
    }

    /**
     * Issues one GCMD command: the persistent enables currently reported in GSTS plus or minus {@code bit},
     * then waits until GSTS shows the bit in the requested state (11.4.4: software must issue one command at a
     * time and poll GSTS).
     */
    public void globalCommand(int bit, boolean set, String what) {
        int persistent = read32(Reg.GSTS) & GCMD_PERSISTENT_MASK;
        int cmd = set ? persistent | bit : persistent & ~bit;
        write32(Reg.GCMD, cmd);
        poll32(Reg.GSTS, v -> ((v & bit) != 0) == set, what);
    }

    /** Write-buffer flush (11.4.4 WBF): command, then wait until GSTS.WBFS reads 0 again. */
    public void flushWriteBuffer() {
        int persistent = read32(Reg.GSTS) & GCMD_PERSISTENT_MASK;
        write32(Reg.GCMD, persistent | Reg.GCMD_WBF);
        poll32(Reg.GSTS, v -> (v & Reg.GSTS_WBFS) == 0, "write-buffer flush");
    }

    public String name() { return name; }
    public long reads() { return reads; }
    public long writes() { return writes; }
}

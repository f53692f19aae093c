package dev.vtd.platform.pci;

/**
 * MSI capability (PCI Local Bus spec 3.0, 6.8.1): Message Control, Message Address (32 or 64 bit),
 * Message Data and, with per-vector masking, Mask and Pending Bits. A signalled vector is sent as
 * a dword write of (data with the low log2(allocated) bits replaced by the vector) to the address,
 * through the function's DMA path; a masked vector sets its pending bit and is sent on unmask.
 */
public final class MsiCapability extends Capability {
    public static final int CONTROL = 0x02;
    public static final int ADDRESS_LO = 0x04;
    public static final int CTL_ENABLE = 1 << 0;
    public static final int CTL_MMC_SHIFT = 1;
    public static final int CTL_MME_SHIFT = 4;
    public static final int CTL_MME_MASK = 0x7 << CTL_MME_SHIFT;
    public static final int CTL_64BIT = 1 << 7;
    public static final int CTL_PER_VECTOR_MASK = 1 << 8;

    private final int vectors;
    private final boolean is64;
    private final boolean maskable;

    /** @param vectors requested vectors: 1, 2, 4, 8, 16 or 32 (Multiple Message Capable) */
    public MsiCapability(int vectors, boolean is64, boolean perVectorMasking) {
        if (Integer.bitCount(vectors) != 1 || vectors > 32) throw new IllegalArgumentException("MSI vectors " + vectors);
        this.vectors = vectors;
        this.is64 = is64;
        this.maskable = perVectorMasking;
    }

    @Override
    public int id() {
        return PciRegs.CAP_ID_MSI;
    }

    @Override
    public int length() {
        return (is64 ? 0x0E : 0x0A) + (maskable ? 0x0A : 0);
    }

    public int dataOffset() {
        return is64 ? 0x0C : 0x08;
    }

    public int maskOffset() {
        return dataOffset() + 4;
    }

    public int pendingOffset() {
        return dataOffset() + 8;
    }

    @Override
    protected void initRegisters() {
        int ctl = Integer.numberOfTrailingZeros(vectors) << CTL_MMC_SHIFT | (is64 ? CTL_64BIT : 0)
                | (maskable ? CTL_PER_VECTOR_MASK : 0);
        cfg.set16(offset + CONTROL, ctl);
        cfg.rw(offset + CONTROL, 2, CTL_ENABLE | CTL_MME_MASK);
        cfg.rw(offset + ADDRESS_LO, 4, ~0x3);
        if (is64) cfg.rw(offset + 0x08, 4, -1);
        cfg.rw(offset + dataOffset(), 2, 0xFFFF);
        if (maskable) cfg.rw(offset + maskOffset(), 4, vectors == 32 ? -1 : (1 << vectors) - 1);
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    /** Vectors software allocated (Multiple Message Enable, limited to what the function requests). */
    public int allocatedVectors() {
        int mme = (cfg.get16(offset + CONTROL) & CTL_MME_MASK) >>> CTL_MME_SHIFT;
        return Math.min(1 << Math.min(mme, 5), vectors);
    }

    public long address() {
        long lo = cfg.get32(offset + ADDRESS_LO) & 0xFFFF_FFFFL;
        return is64 ? lo | (long) cfg.get32(offset + 0x08) << 32 : lo;
    }

    public int data() {
        return cfg.get16(offset + dataOffset());
    }

    public boolean masked(int vector) {
        return maskable && (cfg.get32(offset + maskOffset()) >>> vector & 1) != 0;
    }

    public boolean pending(int vector) {
        return maskable && (cfg.get32(offset + pendingOffset()) >>> vector & 1) != 0;
    }

    /**
     * Signals a vector: returns true if the message was issued. Nothing happens with MSI disabled
     * or the vector beyond the allocated ones; a masked vector becomes pending.
     */
    public synchronized boolean signal(int vector) {
        if (!enabled() || vector < 0 || vector >= allocatedVectors()) return false;
        if (masked(vector)) {
            cfg.setBits(offset + pendingOffset(), 4, 1 << vector, true);
            return false;
        }
        return send(vector);
    }

    private boolean send(int vector) {
        int n = allocatedVectors();
        int data = (data() & ~(n - 1)) | vector;
        return function.dma().writeInt(address(), data);
    }

    @Override
    protected synchronized void written(int regOffset, int size) {
        if (!maskable || !enabled()) return;
        for (int v = 0; v < allocatedVectors(); v++) {
            if (pending(v) && !masked(v)) {
                cfg.setBits(offset + pendingOffset(), 4, 1 << v, false);
                send(v);
            }
        }
    }
}

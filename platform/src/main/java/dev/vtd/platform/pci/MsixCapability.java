package dev.vtd.platform.pci;

/**
 * MSI-X capability (PCI Local Bus spec 3.0, 6.8.2): Message Control (Table Size, Function Mask,
 * MSI-X Enable) plus a vector table and a Pending Bit Array in memory BARs. Each table entry is 16
 * bytes: Message Address, Upper Address, Data, Vector Control (bit 0 Mask, set at reset). A vector
 * signalled while masked (by its Mask bit or the Function Mask) sets its PBA bit and is sent when
 * unmasked.
 */
public final class MsixCapability extends Capability {
    public static final int CONTROL = 0x02;
    public static final int TABLE = 0x04;
    public static final int PBA = 0x08;
    public static final int CTL_TABLE_SIZE_MASK = 0x7FF;
    public static final int CTL_FUNCTION_MASK = 1 << 14;
    public static final int CTL_ENABLE = 1 << 15;
    public static final int ENTRY_SIZE = 16;
    public static final int ENTRY_ADDR_LO = 0x0;
    public static final int ENTRY_ADDR_HI = 0x4;
    public static final int ENTRY_DATA = 0x8;
    public static final int ENTRY_VECTOR_CONTROL = 0xC;
    public static final int VECTOR_CONTROL_MASK = 1;

    private final int vectors;
    private final int tableBar;
    private final long tableOffset;
    private final int pbaBar;
    private final long pbaOffset;
    private final int[] table;
    private final long[] pba;

    /** Table and PBA offsets must be 8-byte aligned inside the given BARs (which the function defines). */
    public MsixCapability(int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {
        if (vectors < 1 || vectors > 2048 || tableBar < 0 || tableBar > 5 || pbaBar < 0 || pbaBar > 5
                || (tableOffset & 7) != 0 || (pbaOffset & 7) != 0 || tableOffset < 0 || pbaOffset < 0
                || tableOffset > 0xFFFF_FFF8L || pbaOffset > 0xFFFF_FFF8L) {
            throw new IllegalArgumentException("MSI-X layout");
        }
        this.vectors = vectors;
        this.tableBar = tableBar;
        this.tableOffset = tableOffset;
        this.pbaBar = pbaBar;
        this.pbaOffset = pbaOffset;
        this.table = new int[vectors * 4];
        this.pba = new long[(vectors + 63) / 64];
        resetTable();
    }

    @Override
    public int id() {
        return PciRegs.CAP_ID_MSIX;
    }

    @Override
    public int length() {
        return 12;
    }

    @Override
    protected void initRegisters() {
        cfg.set16(offset + CONTROL, vectors - 1);
        cfg.rw(offset + CONTROL, 2, CTL_FUNCTION_MASK | CTL_ENABLE);
        cfg.set32(offset + TABLE, (int) tableOffset | tableBar);
        cfg.set32(offset + PBA, (int) pbaOffset | pbaBar);
    }

    private void resetTable() {
        java.util.Arrays.fill(table, 0);
        java.util.Arrays.fill(pba, 0);
        for (int v = 0; v < vectors; v++) table[v * 4 + 3] = VECTOR_CONTROL_MASK;
    }

    @Override
    protected synchronized void reset() {
        resetTable();
    }

    public int vectors() {
        return vectors;
    }

    public boolean enabled() {
        return (cfg.get16(offset + CONTROL) & CTL_ENABLE) != 0;
    }

    public boolean functionMasked() {
        return (cfg.get16(offset + CONTROL) & CTL_FUNCTION_MASK) != 0;
    }

    public synchronized boolean vectorMasked(int v) {
        return (table[v * 4 + 3] & VECTOR_CONTROL_MASK) != 0;
    }

    public synchronized boolean pending(int v) {
        return v >= 0 && v < vectors && (pba[v >>> 6] >>> (v & 63) & 1) != 0;
    }

    public synchronized long entryAddress(int v) {
        return (table[v * 4] & 0xFFFF_FFFFL) | (long) table[v * 4 + 1] << 32;
    }

    public synchronized int entryData(int v) {
        return table[v * 4 + 2];
    }

    /** Signals a vector; returns true if the message was issued now. */
    public boolean signal(int v) {
        long addr;
        int data;
        synchronized (this) {
            if (!enabled() || v < 0 || v >= vectors) return false;
            if (functionMasked() || vectorMasked(v)) {
                pba[v >>> 6] |= 1L << (v & 63);
                return false;
            }
            addr = entryAddress(v);
            data = entryData(v);
        }
        return function.dma().writeInt(addr, data);
    }

    /** Sends every pending vector that is no longer masked (PCI spec 6.8.2.9). */
    private void deliverPending() {
        for (int v = 0; v < vectors; v++) {
            long addr;
            int data;
            synchronized (this) {
                if (!enabled() || functionMasked() || !pending(v) || vectorMasked(v)) continue;
                pba[v >>> 6] &= ~(1L << (v & 63));
                addr = entryAddress(v);
                data = entryData(v);
            }
            function.dma().writeInt(addr, data);
        }
    }

    @Override
    protected void written(int regOffset, int size) {
        deliverPending();
    }

    // ---- BAR side --------------------------------------------------------------------------

    boolean claims(int bar, long off, int size) {
        return (bar == tableBar && off >= tableOffset && off - tableOffset < (long) vectors * ENTRY_SIZE)
                || (bar == pbaBar && off >= pbaOffset && off - pbaOffset < pba.length * 8L);
    }

    synchronized long barRead(int bar, long off, int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) return -1L;
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | byteAt(bar, off + i);
        return v;
    }

    private int byteAt(int bar, long off) {
        if (bar == tableBar && off >= tableOffset && off - tableOffset < (long) vectors * ENTRY_SIZE) {
            long o = off - tableOffset;
            return table[(int) (o >>> 2)] >>> (8 * (o & 3)) & 0xFF;
        }
        if (bar == pbaBar && off >= pbaOffset && off - pbaOffset < pba.length * 8L) {
            long o = off - pbaOffset;
            return (int) (pba[(int) (o >>> 3)] >>> (8 * (o & 7))) & 0xFF;
        }
        return 0xFF;
    }

    void barWrite(int bar, long off, int size, long value) {
        if (size != 1 && size != 2 && size != 4 && size != 8) return;
        boolean touchedControl = false;
        synchronized (this) {
            for (int i = 0; i < size; i++) {
                long o = off + i - tableOffset;
                if (bar != tableBar || o < 0 || o >= (long) vectors * ENTRY_SIZE) continue; // PBA is read-only
                int idx = (int) (o >>> 2);
                int shift = 8 * (int) (o & 3);
                int b = (int) (value >>> (8 * i)) & 0xFF;
                int field = idx & 3;
                int writable = switch (field) {
                    case 0 -> 0xFFFF_FFFC;                 // Message Address, dword aligned
                    case 3 -> VECTOR_CONTROL_MASK;         // Vector Control: only Mask is defined
                    default -> -1;
                };
                int m = writable & (0xFF << shift);
                table[idx] = (table[idx] & ~m) | ((b << shift) & m);
                if (field == 3) touchedControl = true;
            }
        }
        if (touchedControl) deliverPending();
    }
}

package dev.vtd.vmm.emulated;

import java.util.function.BiConsumer;

/**
 * The guest's I/O APIC as the VMM emulates it (82093AA datasheet, 3.0): IOREGSEL at 0x00 and IOWIN at
 * 0x10 of its MMIO page, 24 redirection entries. Every guest access is an MMIO exit. An emulated device
 * asserting its INTx line reaches its GSI; an unmasked entry makes the VMM inject the entry's vector into
 * the vCPU its destination names (physical destination mode, fixed delivery).
 *
 * <p>Simplification stated: the VMM injects on each assertion edge; remote IRR and EOI broadcast of
 * level-triggered entries are not modelled.
 */
public final class VirtualIoApic {
    public static final long BASE = 0xFEC0_0000L, SIZE = 0x1000;
    public static final int IOREGSEL = 0x00, IOWIN = 0x10;
    public static final int REG_ID = 0x00, REG_VER = 0x01, REG_RTE0 = 0x10;
    public static final int ENTRIES = 24;
    /** Version register: maximum redirection entry 23 in bits 23:16, version 0x11. */
    public static final int VERSION = (ENTRIES - 1) << 16 | 0x11;
    public static final long RTE_MASKED = 1L << 16;
    /** PCI INTx of guest bus 0 lands on GSI 16-23: the routing the guest's firmware (_PRT) describes. */
    public static int gsiOf(int devfn, int pin) {
        return 16 + (((devfn >>> 3) + pin - 1) & 7);
    }

    private final long[] rte = new long[ENTRIES];
    private final BiConsumer<Integer, Integer> inject;   // (destination APIC ID, vector)
    private int select, id;

    public VirtualIoApic(BiConsumer<Integer, Integer> inject) {
        this.inject = inject;
        java.util.Arrays.fill(rte, RTE_MASKED);
    }

    public static boolean claims(long gpa) {
        return gpa >= BASE && gpa - BASE < SIZE;
    }

    public synchronized long read(long offset, int size) {
        if (size != 4) return 0xFFFF_FFFFL;
        if (offset == IOREGSEL) return select;
        if (offset != IOWIN) return 0;
        int s = select;
        if (s == REG_ID) return (long) id << 24;
        if (s == REG_VER) return VERSION;
        if (s >= REG_RTE0 && s < REG_RTE0 + 2 * ENTRIES) {
            long e = rte[(s - REG_RTE0) / 2];
            return (s & 1) == 0 ? e & 0xFFFF_FFFFL : e >>> 32;
        }
        return 0;
    }

    public synchronized void write(long offset, int size, long value) {
        if (size != 4) return;
        if (offset == IOREGSEL) {
            select = (int) value & 0xFF;
            return;
        }
        if (offset != IOWIN) return;
        int s = select;
        if (s == REG_ID) id = (int) (value >>> 24) & 0xF;
        else if (s >= REG_RTE0 && s < REG_RTE0 + 2 * ENTRIES) {
            int i = (s - REG_RTE0) / 2;
            if ((s & 1) == 0) rte[i] = rte[i] & 0xFFFF_FFFF_0000_0000L | value & 0xFFFF_FFFFL;
            else rte[i] = rte[i] & 0xFFFF_FFFFL | (value & 0xFFFF_FFFFL) << 32;
        }
    }

    /** A device's INTx line is asserted: the entry's vector is injected unless it is masked. */
    public void assert_(int gsi) {
        long e;
        synchronized (this) {
            if (gsi < 0 || gsi >= ENTRIES) return;
            e = rte[gsi];
        }
        if ((e & RTE_MASKED) != 0) return;
        int vector = (int) e & 0xFF;
        if (vector < 0x10) return;                 // illegal vectors are not delivered
        inject.accept((int) (e >>> 56), vector);
    }
}

package dev.vtd.platform.interrupt;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.clock.VirtualClock;

/**
 * The High Precision Event Timer block (IA-PC HPET specification 1.0a, section 2.3): a main counter
 * at 100 MHz on the platform's virtual clock and three comparators, each delivering either to an
 * IOAPIC pin (its INT_ROUTE GSI) or, with FSB_EN, as a message (FSB_INT_ADDR / FSB_INT_VAL) that
 * carries the HPET's source ID from the DMAR HPET scope. That message is an interrupt request the
 * owning remapping unit remaps like any MSI.
 */
public final class Hpet implements MmioDevice {
    public static final int GCAP_ID = 0x000;
    public static final int GEN_CONF = 0x010;
    public static final int GEN_INT_STS = 0x020;
    public static final int MAIN_COUNTER = 0x0F0;
    public static final int TIMER_BASE = 0x100;
    public static final int TIMER_STRIDE = 0x20;
    public static final int TN_CONF = 0x00, TN_COMPARATOR = 0x08, TN_FSB_ROUTE = 0x10;

    public static final long GEN_ENABLE = 1;
    public static final long TN_INT_TYPE_LEVEL = 1 << 1;
    public static final long TN_INT_ENB = 1 << 2;
    public static final long TN_TYPE_PERIODIC = 1 << 3;
    public static final long TN_PER_INT_CAP = 1 << 4;
    public static final long TN_SIZE_CAP = 1 << 5;
    public static final int TN_INT_ROUTE_SHIFT = 9;
    public static final long TN_INT_ROUTE_MASK = 0x1FL << TN_INT_ROUTE_SHIFT;
    public static final long TN_FSB_EN = 1 << 14;
    public static final long TN_FSB_DEL_CAP = 1 << 15;
    /** Writable bits of Tn_CONF. */
    static final long TN_CONF_RW = TN_INT_TYPE_LEVEL | TN_INT_ENB | TN_TYPE_PERIODIC | TN_INT_ROUTE_MASK | TN_FSB_EN;

    public static final int TIMERS = 3;
    /** Counter period in femtoseconds: 10 ns (100 MHz). */
    public static final long PERIOD_FS = 10_000_000L;
    static final long PERIOD_NS = PERIOD_FS / 1_000_000L;
    /**
     * Shortest period a periodic timer runs with, in counter ticks (10 us). A guest may program a
     * 1-tick period; honouring it would make one large clock step fire a billion interrupts, so the
     * model stretches shorter periods to this (real HPETs likewise document a minimum tick).
     */
    public static final long MIN_PERIOD_TICKS = 1_000;

    /** Interrupt routes each timer may use: GSIs 20-23 (INT_ROUTE_CAP). */
    public static final long ROUTE_CAP = 0x00F0_0000L;

    private final int id;
    private final int sourceId;
    private final VirtualClock clock;
    private final InterruptRequestPort messages;
    private final GsiSink pins;
    private long genConf;
    private long intStatus;
    private long counterAtEnable;
    private long enabledAt;
    private final long[] conf = new long[TIMERS];
    private final long[] comparator = new long[TIMERS];
    private final long[] period = new long[TIMERS];
    private final long[] fsbRoute = new long[TIMERS];
    private final long[] generation = new long[TIMERS];
    private long fired;

    /**
     * @param id       the HPET number (the DMAR HPET scope's enumeration ID)
     * @param sourceId the requester ID its FSB messages carry (from the DMAR HPET scope)
     * @param messages where FSB messages go: the owning remapping unit, or the fabric directly
     * @param pins     the IOAPIC pins for non-FSB delivery
     */
    public Hpet(int id, int sourceId, VirtualClock clock, InterruptRequestPort messages, GsiSink pins) {
        this.id = id;
        this.sourceId = sourceId;
        this.clock = clock;
        this.messages = messages;
        this.pins = pins;
        for (int t = 0; t < TIMERS; t++) conf[t] = TN_FSB_DEL_CAP | (t == 0 ? TN_PER_INT_CAP | TN_SIZE_CAP : 0) | (ROUTE_CAP << 32);
    }

    public int id() { return id; }
    public int sourceId() { return sourceId; }
    public synchronized long interruptsFired() { return fired; }

    @Override
    public long length() {
        return 0x400;
    }

    private long counterNow() {
        if ((genConf & GEN_ENABLE) == 0) return counterAtEnable;
        return counterAtEnable + (clock.now() - enabledAt) / PERIOD_NS;
    }

    @Override
    public synchronized long read(long offset, int size) {
        if (offset < 0 || offset >= length() || (size != 4 && size != 8)) return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        long q = readQword((int) (offset & ~7L));
        return size == 8 ? q : (q >>> (8 * (offset & 4))) & 0xFFFF_FFFFL;
    }

    private long readQword(int off) {
        if (off == GCAP_ID) return (PERIOD_FS << 32) | (0x8086L << 16) | (1L << 13) | ((long) (TIMERS - 1) << 8) | 0x01;
        if (off == GEN_CONF) return genConf;
        if (off == GEN_INT_STS) return intStatus;
        if (off == MAIN_COUNTER) return counterNow();
        int t = (off - TIMER_BASE) / TIMER_STRIDE;
        if (off >= TIMER_BASE && t < TIMERS) {
            return switch ((off - TIMER_BASE) % TIMER_STRIDE) {
                case TN_CONF -> conf[t];
                case TN_COMPARATOR -> comparator[t];
                case TN_FSB_ROUTE -> fsbRoute[t];
                default -> 0;
            };
        }
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= length() || (size != 4 && size != 8)) return;
        synchronized (this) {
            int off = (int) (offset & ~7L);
            long mask = size == 8 ? -1L : 0xFFFF_FFFFL << (8 * (offset & 4));
            long v = size == 8 ? value : (value & 0xFFFF_FFFFL) << (8 * (offset & 4));
            writeQword(off, v, mask);
        }
    }

    private void writeQword(int off, long v, long mask) {
        if (off == GEN_CONF) {
            long before = genConf;
            long now = counterNow();
            genConf = (genConf & ~mask) | (v & mask & GEN_ENABLE);
            if ((before & GEN_ENABLE) == 0 && (genConf & GEN_ENABLE) != 0) {
                counterAtEnable = now;
                enabledAt = clock.now();
                for (int t = 0; t < TIMERS; t++) arm(t);
            } else if ((genConf & GEN_ENABLE) == 0) {
                counterAtEnable = now;
            }
            return;
        }
        if (off == GEN_INT_STS) {
            intStatus &= ~(v & mask);                                   // RW1C
            return;
        }
        if (off == MAIN_COUNTER) {
            if ((genConf & GEN_ENABLE) == 0) counterAtEnable = (counterAtEnable & ~mask) | (v & mask);
            return;
        }
        int t = (off - TIMER_BASE) / TIMER_STRIDE;
        if (off < TIMER_BASE || t >= TIMERS) return;
        switch ((off - TIMER_BASE) % TIMER_STRIDE) {
            case TN_CONF -> {
                long w = (conf[t] & ~(mask & TN_CONF_RW)) | (v & mask & TN_CONF_RW);
                if ((w & TN_TYPE_PERIODIC) != 0 && (conf[t] & TN_PER_INT_CAP) == 0) w &= ~TN_TYPE_PERIODIC;
                long route = (w & TN_INT_ROUTE_MASK) >>> TN_INT_ROUTE_SHIFT;
                if ((ROUTE_CAP & (1L << route)) == 0) w = (w & ~TN_INT_ROUTE_MASK) | (conf[t] & TN_INT_ROUTE_MASK);
                conf[t] = w;
                arm(t);
            }
            case TN_COMPARATOR -> {
                long c = (comparator[t] & ~mask) | (v & mask);
                if ((conf[t] & TN_TYPE_PERIODIC) != 0) period[t] = c;
                comparator[t] = c;
                arm(t);
            }
            case TN_FSB_ROUTE -> fsbRoute[t] = (fsbRoute[t] & ~mask) | (v & mask);
            default -> { }
        }
    }

    /** Schedules timer t's next match on the virtual clock (stale schedules are ignored by generation). */
    private void arm(int t) {
        long gen = ++generation[t];
        if ((genConf & GEN_ENABLE) == 0 || (conf[t] & TN_INT_ENB) == 0) return;
        long ticks = comparator[t] - counterNow();
        if (ticks < 0) return;                                  // already passed: a one-shot does not fire again
        clock.schedule(ticks * PERIOD_NS, () -> fire(t, gen));
    }

    private void fire(int t, long gen) {
        boolean fsb;
        long route;
        long addr;
        int data;
        synchronized (this) {
            if (gen != generation[t]) return;
            fired++;
            intStatus |= 1L << t;
            fsb = (conf[t] & TN_FSB_EN) != 0;
            route = (conf[t] & TN_INT_ROUTE_MASK) >>> TN_INT_ROUTE_SHIFT;
            addr = fsbRoute[t] >>> 32;
            data = (int) fsbRoute[t];
            if ((conf[t] & TN_TYPE_PERIODIC) != 0 && period[t] > 0) {
                comparator[t] += Math.max(period[t], MIN_PERIOD_TICKS);
                arm(t);
            }
        }
        if (fsb) {
            messages.interruptRequest(sourceId, addr, data);
        } else {
            pins.setLevel((int) route, true);
            pins.setLevel((int) route, false);
        }
    }
}

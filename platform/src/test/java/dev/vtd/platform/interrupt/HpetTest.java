package dev.vtd.platform.interrupt;

import dev.vtd.platform.clock.VirtualClock;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** IA-PC HPET 1.0a: counter, comparators, FSB (message) and IOAPIC-pin delivery. */
class HpetTest {
    final VirtualClock clock = new VirtualClock();
    final List<long[]> messages = new ArrayList<>();
    final List<String> pins = new ArrayList<>();
    final Hpet hpet = new Hpet(0, 0xF078, clock, (sid, a, d) -> messages.add(new long[] {sid, a, d}),
            (gsi, level) -> pins.add(gsi + (level ? "+" : "-")));

    @Test
    void capabilitiesAdvertiseThreeTimersAt100MHz() {
        long cap = hpet.read(Hpet.GCAP_ID, 8);
        assertEquals(Hpet.PERIOD_FS, cap >>> 32);
        assertEquals(Hpet.TIMERS - 1, (cap >>> 8) & 0x1F);
        assertNotEquals(0, hpet.read(Hpet.TIMER_BASE, 8) & Hpet.TN_FSB_DEL_CAP, "timer 0 can deliver by FSB");
    }

    @Test
    void counterRunsOnlyWhileEnabled() {
        clock.step(1000);
        assertEquals(0, hpet.read(Hpet.MAIN_COUNTER, 8));
        hpet.write(Hpet.GEN_CONF, 8, Hpet.GEN_ENABLE);
        clock.step(1000);
        assertEquals(100, hpet.read(Hpet.MAIN_COUNTER, 8), "1 us at 100 MHz");
    }

    @Test
    void fsbTimerSendsItsMessageWithTheHpetSourceId() {
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_FSB_ROUTE, 8, (0xFEE0_0000L << 32) | 0x41);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_COMPARATOR, 8, 500);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, Hpet.TN_INT_ENB | Hpet.TN_FSB_EN);
        hpet.write(Hpet.GEN_CONF, 8, Hpet.GEN_ENABLE);
        clock.step(4_990);
        assertTrue(messages.isEmpty());
        clock.step(10);
        assertEquals(1, messages.size());
        assertArrayEquals(new long[] {0xF078, 0xFEE0_0000L, 0x41}, messages.getFirst());
        assertEquals(1, hpet.read(Hpet.GEN_INT_STS, 8) & 1);
        hpet.write(Hpet.GEN_INT_STS, 8, 1);
        assertEquals(0, hpet.read(Hpet.GEN_INT_STS, 8) & 1, "status is RW1C");
    }

    @Test
    void periodicTimerReArmsAndPinDeliveryPulsesTheRoutedGsi() {
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, Hpet.TN_INT_ENB | Hpet.TN_TYPE_PERIODIC | (20L << Hpet.TN_INT_ROUTE_SHIFT));
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_COMPARATOR, 8, Hpet.MIN_PERIOD_TICKS);
        hpet.write(Hpet.GEN_CONF, 8, Hpet.GEN_ENABLE);
        clock.step(3 * Hpet.MIN_PERIOD_TICKS * 10);
        assertEquals(List.of("20+", "20-", "20+", "20-", "20+", "20-"), pins);
        assertEquals(3, hpet.interruptsFired());
    }

    @Test
    void aHostileOneTickPeriodIsStretchedSoALargeClockStepStaysBounded() {
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_FSB_ROUTE, 8, (0xFEE0_0000L << 32) | 0x41);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, Hpet.TN_INT_ENB | Hpet.TN_FSB_EN | Hpet.TN_TYPE_PERIODIC);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_COMPARATOR, 8, 1);
        hpet.write(Hpet.GEN_CONF, 8, Hpet.GEN_ENABLE);
        clock.step(1_000_000_000L);                         // one second of virtual time
        assertEquals(1 + 1_000_000_000L / 10 / Hpet.MIN_PERIOD_TICKS, hpet.interruptsFired(), 1,
                "at most one interrupt per minimum period");
    }

    @Test
    void unsupportedRouteIsNotLatched() {
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, 3L << Hpet.TN_INT_ROUTE_SHIFT);
        assertEquals(0, (hpet.read(Hpet.TIMER_BASE + Hpet.TN_CONF, 8) & Hpet.TN_INT_ROUTE_MASK));
    }

    @Test
    void disablingTheTimerCancelsItsPendingMatch() {
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_FSB_ROUTE, 8, (0xFEE0_0000L << 32) | 0x41);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_COMPARATOR, 8, 500);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, Hpet.TN_INT_ENB | Hpet.TN_FSB_EN);
        hpet.write(Hpet.GEN_CONF, 8, Hpet.GEN_ENABLE);
        hpet.write(Hpet.TIMER_BASE + Hpet.TN_CONF, 8, Hpet.TN_FSB_EN);
        clock.step(10_000);
        assertTrue(messages.isEmpty());
    }

    @Test
    void badAccessesNeverThrow() {
        assertEquals(0xFF, hpet.read(0x3, 1));
        hpet.write(-8, 8, 1);
        hpet.write(0x5000, 8, 1);
        assertEquals(0, hpet.read(0x300, 8));
    }
}

package dev.vtd.kernel.log;

import dev.vtd.platform.clock.VirtualClock;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelLogTest {
    @Test
    void entriesPrintLikeDmesgWithSecondsAndMicroseconds() {
        assertEquals("[    0.123456] DMAR: x", new KernelLog.Entry(0, 123_456_789L, KernelLog.Level.INFO, "DMAR: x").format());
        assertEquals("[12345.000001] y", new KernelLog.Entry(0, 12_345_000_001_000L, KernelLog.Level.INFO, "y").format());
    }

    @Test
    void theBootClockFollowsVirtualTimeAndAdvancesPerMessage() {
        VirtualClock clock = new VirtualClock();
        KernelLog log = new KernelLog(BootClock.following(clock));
        log.info("a");
        log.info("b");
        clock.step(2_000_000_000L);
        log.info("c");
        List<KernelLog.Entry> e = log.entries();
        assertEquals(0, e.get(0).timestampNs());
        assertEquals(BootClock.DEFAULT_STEP_NS, e.get(1).timestampNs());
        assertEquals(2_000_000_000L, e.get(2).timestampNs());
    }

    @Test
    void theRingOverwritesTheOldestAndGrepFilters() {
        KernelLog log = new KernelLog(BootClock.standalone(), 3);
        log.info("DMAR: one");
        log.err("DMAR: two");
        log.info("iommu: three");
        log.warn("DMAR: four");
        assertEquals(List.of("DMAR: two", "iommu: three", "DMAR: four"), log.messages());
        assertEquals(1, log.dropped());
        assertEquals(List.of("DMAR: two", "DMAR: four"), log.grepMessages("DMAR:"));
        assertEquals(1, log.grep(Pattern.compile("^iommu: t")).size());
        assertEquals(List.of("DMAR: two", "DMAR: four"),
                log.atLeast(KernelLog.Level.WARNING).stream().map(KernelLog.Entry::text).toList());
        assertEquals(3, log.since(1).size());
    }
}

package dev.vtd.kernel.iommu;

import java.util.function.LongSupplier;

/**
 * The kernel's printk rate limit (lib/ratelimit.c ___ratelimit): at most {@code burst} passes per
 * {@code intervalNs} window; when a new window opens after suppressions, the caller is told how many were
 * suppressed ("%s: %d callbacks suppressed").
 */
public final class RateLimit {
    /** DEFAULT_RATELIMIT_INTERVAL (5 s) and DEFAULT_RATELIMIT_BURST (10). */
    public static final long DEFAULT_INTERVAL_NS = 5_000_000_000L;
    public static final int DEFAULT_BURST = 10;

    private final LongSupplier clock;
    private final long intervalNs;
    private final int burst;
    private long begin = -1;
    private int printed;
    private int missed;
    private long totalSuppressed;

    public RateLimit(LongSupplier clockNs, long intervalNs, int burst) {
        this.clock = clockNs;
        this.intervalNs = intervalNs;
        this.burst = burst;
    }

    /** Result of one check: whether to print, and how many were suppressed in the window that just closed. */
    public record Verdict(boolean pass, int suppressedBefore) {}

    public synchronized Verdict check() {
        long now = clock.getAsLong();
        int reported = 0;
        if (begin < 0) begin = now;
        if (now - begin >= intervalNs) {
            reported = missed;
            missed = 0;
            begin = now;
            printed = 0;
        }
        if (printed < burst) {
            printed++;
            return new Verdict(true, reported);
        }
        missed++;
        totalSuppressed++;
        return new Verdict(false, reported);
    }

    public synchronized long totalSuppressed() {
        return totalSuppressed;
    }
}

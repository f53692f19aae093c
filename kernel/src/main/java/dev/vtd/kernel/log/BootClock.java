package dev.vtd.kernel.log;

import dev.vtd.platform.clock.VirtualClock;

import java.util.function.LongSupplier;

/**
 * The kernel's deterministic boot clock (local_clock() as printk sees it), in nanoseconds since boot.
 * It follows the platform's {@link VirtualClock} when there is one, and every reading advances it by a
 * fixed step, standing in for the time the kernel spends executing between two messages: two log lines
 * never share a timestamp and a run always prints the same times.
 */
public final class BootClock implements LongSupplier {
    /** Default advance per reading: 37 microseconds. */
    public static final long DEFAULT_STEP_NS = 37_000;

    private final VirtualClock clock;
    private final long stepNs;
    private long last = -1;

    public BootClock(VirtualClock clock, long stepNs) {
        if (stepNs < 0) throw new IllegalArgumentException("boot clock step " + stepNs + " ns is negative");
        this.clock = clock;
        this.stepNs = stepNs;
    }

    /** A clock with no platform time behind it, starting at 0. */
    public static BootClock standalone() {
        return new BootClock(null, DEFAULT_STEP_NS);
    }

    public static BootClock following(VirtualClock clock) {
        return new BootClock(clock, DEFAULT_STEP_NS);
    }

    @Override
    public synchronized long getAsLong() {
        long platform = clock == null ? 0 : clock.now();
        long t = last < 0 ? platform : Math.max(platform, last + stepNs);
        last = t;
        return t;
    }
}

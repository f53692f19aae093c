package dev.vtd.platform.clock;

import java.util.PriorityQueue;

/**
 * Deterministic virtual time in nanoseconds. Devices schedule callbacks (a DMA that completes
 * 100 ms after its command, say); {@link #step} advances time and fires them in order. Nothing
 * runs on its own thread, so a run is reproducible.
 */
public final class VirtualClock {
    private record Timer(long deadline, long seq, Runnable action) implements Comparable<Timer> {
        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(deadline, o.deadline);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private long now;
    private long seq;

    public synchronized long now() {
        return now;
    }

    /** Runs {@code action} once virtual time reaches now + delayNs. */
    public synchronized void schedule(long delayNs, Runnable action) {
        timers.add(new Timer(now + Math.max(0, delayNs), seq++, action));
    }

    /** Deadline of the next pending timer, or -1. */
    public synchronized long nextDeadline() {
        Timer t = timers.peek();
        return t == null ? -1 : t.deadline;
    }

    /** Advances by ns (or, with ns <= 0, to the next deadline), firing due timers; returns the new time. */
    public long step(long ns) {
        long target;
        synchronized (this) {
            if (ns > 0) target = now + ns;
            else target = timers.isEmpty() ? now : timers.peek().deadline;
        }
        return advanceTo(target);
    }

    /** Sets the time to t (never backwards), firing due timers. */
    public long advanceTo(long target) {
        while (true) {
            Timer t;
            synchronized (this) {
                t = timers.peek();
                if (t == null || t.deadline > target) {
                    now = Math.max(now, target);
                    return now;
                }
                timers.poll();
                now = Math.max(now, t.deadline);
            }
            t.action.run();
        }
    }
}

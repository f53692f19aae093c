package dev.vtd.kernel.log;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The kernel message ring buffer (printk / dmesg): a bounded ring of records, each with a sequence
 * number, a boot-clock timestamp, a log level and the text (with its subsystem prefix, e.g.
 * {@code DMAR: }). Rendered like {@code dmesg}: {@code [    0.123456] DMAR: IOMMU enabled}.
 * When the ring is full the oldest records are overwritten, as in the kernel.
 */
public final class KernelLog {
    /** printk levels (include/linux/kern_levels.h). */
    public enum Level {
        EMERG, ALERT, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG;

        /** The dmesg --level name. */
        public String dmesgName() {
            return switch (this) {
                case WARNING -> "warn";
                default -> name().toLowerCase();
            };
        }
    }

    /** One record of the ring. */
    public record Entry(long sequence, long timestampNs, Level level, String text) {
        /** {@code [    0.123456] text}: seconds width 5, microseconds 6 (printk's "[%5lu.%06lu] "). */
        public String format() {
            long us = timestampNs / 1000;
            return String.format("[%5d.%06d] %s", us / 1_000_000, us % 1_000_000, text);
        }
    }

    /** Default capacity in records (the kernel sizes its buffer in bytes; records are what matter here). */
    public static final int DEFAULT_CAPACITY = 16384;

    private final ArrayDeque<Entry> ring = new ArrayDeque<>();
    private final int capacity;
    private final LongSupplier clock;
    private long nextSequence;
    private long dropped;

    public KernelLog(LongSupplier clockNs, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("log capacity " + capacity + " < 1");
        this.clock = clockNs;
        this.capacity = capacity;
    }

    public KernelLog(LongSupplier clockNs) {
        this(clockNs, DEFAULT_CAPACITY);
    }

    /** A log on a standalone boot clock. */
    public static KernelLog create() {
        return new KernelLog(BootClock.standalone());
    }

    /** Appends a message; a text with several lines becomes several records. */
    public synchronized void log(Level level, String text) {
        for (String line : text.split("\n", -1)) {
            if (ring.size() == capacity) {
                ring.removeFirst();
                dropped++;
            }
            ring.addLast(new Entry(nextSequence++, clock.getAsLong(), level, line));
        }
    }

    public void info(String text) { log(Level.INFO, text); }
    public void notice(String text) { log(Level.NOTICE, text); }
    public void warn(String text) { log(Level.WARNING, text); }
    public void err(String text) { log(Level.ERR, text); }
    public void debug(String text) { log(Level.DEBUG, text); }

    /** Every record still in the ring, oldest first. */
    public synchronized List<Entry> entries() {
        return List.copyOf(ring);
    }

    /** Records with a sequence number of at least {@code sequence} (to follow the log like dmesg -w). */
    public synchronized List<Entry> since(long sequence) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : ring) if (e.sequence() >= sequence) out.add(e);
        return out;
    }

    /** Sequence number the next record will get. */
    public synchronized long nextSequence() {
        return nextSequence;
    }

    /** Records overwritten because the ring was full. */
    public synchronized long dropped() {
        return dropped;
    }

    /** The texts without timestamps, oldest first. */
    public List<String> messages() {
        return entries().stream().map(Entry::text).toList();
    }

    /** The whole ring as dmesg prints it. */
    public String dmesg() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries()) sb.append(e.format()).append('\n');
        return sb.toString();
    }

    /** Records whose text contains {@code needle} (grep -F). */
    public List<Entry> grep(String needle) {
        return filter(e -> e.text().contains(needle));
    }

    /** Records whose text matches {@code regex} somewhere (grep -E). */
    public List<Entry> grep(Pattern regex) {
        return filter(e -> regex.matcher(e.text()).find());
    }

    /** Texts of the records containing {@code needle}. */
    public List<String> grepMessages(String needle) {
        return grep(needle).stream().map(Entry::text).toList();
    }

    /** Records at {@code level} or more severe (dmesg --level up to that one). */
    public List<Entry> atLeast(Level level) {
        return filter(e -> e.level().ordinal() <= level.ordinal());
    }

    public List<Entry> filter(Predicate<Entry> p) {
        return entries().stream().filter(p).toList();
    }

    /** Empties the ring (dmesg --clear); sequence numbers keep counting. */
    public synchronized void clear() {
        ring.clear();
    }
}

package dev.vtd.kernel.iommu;

import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.interrupt.InterruptSink;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The kernel's end of the interrupt fabric on the boot CPU (local APIC ID 0): the machine hands this sink to
 * the remapping units (and devices), the kernel allocates vectors and registers handlers. A message arriving
 * is latched (like the APIC's IRR) and its handler runs when the CPU next takes interrupts: on
 * {@link #dispatchPending()}, or at once from the virtual clock when one is attached. Handlers never run inside
 * the hardware call that raised the message, so a handler may touch the unit's registers freely.
 *
 * <p>Messages for vectors nobody registered are counted as spurious and forwarded to the downstream sink
 * (e.g. a recorder or the VMM's interrupt controller), if any.
 */
public final class KernelIrq implements InterruptSink {
    /** First vector handed out (Linux's FIRST_EXTERNAL_VECTOR 0x20 plus the legacy ISA range). */
    public static final int FIRST_DYNAMIC_VECTOR = 0x30;
    /** MSI address for destination APIC ID 0, physical mode (Intel SDM 10.11.1). */
    public static final long MSI_ADDRESS_BASE = 0xFEE0_0000L;
    static final int MSI_DEST_SHIFT = 12;

    private final Map<Integer, Runnable> handlers = new HashMap<>();
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Integer, Long> counts = new HashMap<>();
    private final ArrayDeque<Integer> pending = new ArrayDeque<>();
    private final InterruptSink downstream;
    private final VirtualClock clock;
    private int nextVector = FIRST_DYNAMIC_VECTOR;
    private long spurious;

    /** @param clock when not null, a latched interrupt is dispatched from the clock right away (delay 0)
     *  @param downstream receives messages for vectors the kernel does not own; may be null */
    public KernelIrq(VirtualClock clock, InterruptSink downstream) {
        this.clock = clock;
        this.downstream = downstream;
    }

    /** Allocates a vector for {@code name} (as /proc/interrupts names it, e.g. "dmar0") with its handler. */
    public synchronized int requestIrq(String name, Runnable handler) {
        if (nextVector > 0xEF) throw new IommuException("ENOSPC", "no free interrupt vector for " + name);
        int v = nextVector++;
        handlers.put(v, handler);
        names.put(v, name);
        counts.put(v, 0L);
        return v;
    }

    /** MSI address that targets this CPU. */
    public long msiAddress() {
        return MSI_ADDRESS_BASE | (0L << MSI_DEST_SHIFT);
    }

    /** MSI data for a vector: fixed delivery, edge triggered. */
    public static int msiData(int vector) {
        return vector & 0xFF;
    }

    @Override
    public void deliver(long address, int data) {
        int vector = data & 0xFF;
        boolean ours;
        synchronized (this) {
            ours = handlers.containsKey(vector) && ((address >>> MSI_DEST_SHIFT) & 0xFF) == 0;
            if (ours) pending.add(vector);
            else spurious++;
        }
        if (!ours) {
            if (downstream != null) downstream.deliver(address, data);
            return;
        }
        if (clock != null) clock.schedule(0, this::dispatchPending);
    }

    /** Runs the handlers of every latched interrupt; returns how many ran. */
    public int dispatchPending() {
        int ran = 0;
        while (true) {
            Runnable h;
            synchronized (this) {
                Integer v = pending.poll();
                if (v == null) return ran;
                h = handlers.get(v);
                counts.merge(v, 1L, Long::sum);
            }
            h.run();
            ran++;
        }
    }

    /** Interrupts taken per vector name (a /proc/interrupts view). */
    public synchronized Map<String, Long> counts() {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (var e : counts.entrySet()) out.put(names.get(e.getKey()), e.getValue());
        return out;
    }

    public synchronized long spurious() { return spurious; }
    public synchronized int pendingCount() { return pending.size(); }
}

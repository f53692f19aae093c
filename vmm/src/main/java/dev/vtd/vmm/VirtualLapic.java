package dev.vtd.vmm;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A vCPU's virtual local APIC as the guest sees interrupts arrive: requested vectors wait in the IRR until the
 * guest takes them ({@link #take()}); every delivery is recorded with how it came (posted through the
 * posted-interrupt descriptor, or injected by the VMM after a remapped host interrupt).
 */
public final class VirtualLapic {
    /** One delivered interrupt. */
    public record Delivery(int vector, boolean posted) {}

    private final int apicId;
    private final boolean[] irr = new boolean[256];
    private final ArrayDeque<Integer> order = new ArrayDeque<>();
    private final List<Delivery> log = new ArrayList<>();

    public VirtualLapic(int apicId) {
        this.apicId = apicId;
    }

    public int apicId() { return apicId; }

    public synchronized void deliver(int vector, boolean posted) {
        int v = vector & 0xFF;
        log.add(new Delivery(v, posted));
        if (!irr[v]) {
            irr[v] = true;
            order.add(v);
        }
    }

    /** The next requested vector (cleared from the IRR as the CPU acknowledges it), or -1. */
    public synchronized int take() {
        Integer v = order.poll();
        if (v == null) return -1;
        irr[v] = false;
        return v;
    }

    public synchronized List<Delivery> deliveries() {
        return List.copyOf(log);
    }

    public synchronized long count(int vector, boolean posted) {
        return log.stream().filter(d -> d.vector() == (vector & 0xFF) && d.posted() == posted).count();
    }
}

package dev.vtd.platform.interrupt;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The platform's interrupt fabric: the local APICs that receive interrupt messages (from interrupt
 * remapping, from compatibility-format MSIs, as posted-interrupt notifications) and the IOAPICs
 * whose pins the global system interrupts (GSIs) drive. Lowest-priority delivery picks the
 * matching APIC with the lowest task priority, ties going to the lowest APIC ID (deterministic).
 */
public final class InterruptFabric implements InterruptSink, GsiSink {
    private record Route(IoApic ioapic, int gsiBase) {}

    private final List<LocalApic> apics = new CopyOnWriteArrayList<>();
    private final List<Route> ioapics = new CopyOnWriteArrayList<>();
    private final List<InterruptMessage> undelivered = new ArrayList<>();

    public LocalApic addLocalApic(LocalApic a) {
        apics.add(a);
        return a;
    }

    public IoApic addIoApic(IoApic io, int gsiBase) {
        ioapics.add(new Route(io, gsiBase));
        return io;
    }

    public List<LocalApic> localApics() {
        return List.copyOf(apics);
    }

    public LocalApic localApic(int id) {
        for (LocalApic a : apics) if (a.id() == id) return a;
        return null;
    }

    @Override
    public void deliver(long address, int data) {
        deliver(InterruptMessage.fromMsi(address, data));
    }

    @Override
    public void deliver(InterruptMessage m) {
        List<LocalApic> targets = new ArrayList<>();
        for (LocalApic a : apics) if (a.matches(m)) targets.add(a);
        if (targets.isEmpty()) {
            synchronized (undelivered) { undelivered.add(m); }
            return;
        }
        if (m.deliveryMode() == InterruptMessage.DM_LOWEST_PRIORITY) {
            LocalApic best = targets.getFirst();
            for (LocalApic a : targets) {
                if (a.taskPriority() < best.taskPriority()
                        || (a.taskPriority() == best.taskPriority() && Integer.compareUnsigned(a.id(), best.id()) < 0)) {
                    best = a;
                }
            }
            best.accept(m);
        } else {
            for (LocalApic a : targets) a.accept(m);
        }
    }

    /** Messages no local APIC accepted. */
    public List<InterruptMessage> undelivered() {
        synchronized (undelivered) { return List.copyOf(undelivered); }
    }

    /** Routes a GSI to the IOAPIC pin it belongs to (GSIs outside every IOAPIC are ignored). */
    @Override
    public void setLevel(int gsi, boolean asserted) {
        for (Route r : ioapics) {
            if (gsi >= r.gsiBase && gsi < r.gsiBase + IoApic.PINS) {
                r.ioapic.setPin(gsi - r.gsiBase, asserted);
                return;
            }
        }
    }

    /** The local APIC's EOI: a level-triggered vector's EOI is broadcast to every IOAPIC. */
    public void eoi(int apicId, int vector) {
        LocalApic a = localApic(apicId);
        if (a != null && a.eoi(vector)) {
            for (Route r : ioapics) r.ioapic.eoi(vector);
        }
    }
}

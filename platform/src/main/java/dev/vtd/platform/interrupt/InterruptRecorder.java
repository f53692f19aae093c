package dev.vtd.platform.interrupt;

import java.util.ArrayList;
import java.util.List;

/** Records every interrupt message delivered to the platform, decoded per destination APIC ID. */
public final class InterruptRecorder implements InterruptSink {
    /** One delivered interrupt (compatibility-format fields, Intel SDM 10.11.1/10.11.2). */
    public record Delivered(long address, int data, int destination, int vector,
                            int deliveryMode, boolean logical, boolean levelTriggered) {
        public static Delivered of(long address, int data) {
            int dest = (int) ((address >>> 12) & 0xFF);
            boolean logical = ((address >>> 2) & 1) != 0;
            return new Delivered(address, data, dest, data & 0xFF, (data >>> 8) & 7, logical,
                    ((data >>> 15) & 1) != 0);
        }
    }

    private final List<Delivered> log = new ArrayList<>();

    @Override
    public synchronized void deliver(long address, int data) {
        log.add(Delivered.of(address, data));
    }

    /** A remapped interrupt: recorded with its full (possibly 32-bit) destination. */
    @Override
    public synchronized void deliver(InterruptMessage m) {
        log.add(new Delivered(m.msiAddress(), m.msiData(), m.destination(), m.vector(), m.deliveryMode(), m.logical(),
                m.levelTriggered()));
    }

    public synchronized List<Delivered> delivered() {
        return List.copyOf(log);
    }

    public synchronized List<Delivered> deliveredTo(int destination) {
        return log.stream().filter(d -> d.destination() == destination).toList();
    }

    public synchronized int count() {
        return log.size();
    }

    public synchronized void clear() {
        log.clear();
    }
}

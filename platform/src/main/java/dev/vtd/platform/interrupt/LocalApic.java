package dev.vtd.platform.interrupt;

import java.util.ArrayList;
import java.util.List;

/**
 * A local APIC as far as interrupt delivery needs it (Intel SDM 10.6, 10.12): its APIC ID (8-bit in
 * xAPIC mode, 32-bit in x2APIC mode), logical destination (xAPIC LDR with the flat or cluster
 * model of DFR; in x2APIC mode derived from the ID, cluster = ID[19:4], bit = 1 << ID[3:0]), task
 * priority for lowest-priority arbitration, and a log of every interrupt accepted, including
 * posted-interrupt notification events.
 */
public final class LocalApic {
    /** xAPIC DFR models (SDM 10.6.2.2). */
    public enum LogicalModel { FLAT, CLUSTER }

    /** One accepted interrupt. */
    public record Accepted(int vector, int deliveryMode, boolean levelTriggered, boolean logical,
                           boolean postedNotification, int destination) {}

    private final int id;
    private final boolean x2apic;
    private int logicalId;             // xAPIC LDR[31:24]
    private LogicalModel model = LogicalModel.FLAT;
    private int taskPriority;
    private final List<Accepted> accepted = new ArrayList<>();
    private final boolean[] levelInService = new boolean[256];

    public LocalApic(int id, boolean x2apic) {
        if (!x2apic && (id & ~0xFF) != 0) throw new IllegalArgumentException("xAPIC ID " + id + " exceeds 8 bits");
        this.id = id;
        this.x2apic = x2apic;
    }

    public static LocalApic xapic(int id) { return new LocalApic(id, false); }
    public static LocalApic x2apic(int id) { return new LocalApic(id, true); }

    public int id() { return id; }
    public boolean x2apicMode() { return x2apic; }

    public synchronized LocalApic logical(int ldr8, LogicalModel m) {
        this.logicalId = ldr8 & 0xFF;
        this.model = m;
        return this;
    }

    public synchronized void setTaskPriority(int tpr) { this.taskPriority = tpr & 0xFF; }
    public synchronized int taskPriority() { return taskPriority; }

    /** The x2APIC logical ID (SDM 10.12.10.2): cluster ID[19:4] in 31:16, 1 << ID[3:0] in 15:0. */
    public int x2apicLogicalId() {
        return ((id >>> 4) << 16) | (1 << (id & 0xF));
    }

    /** True if a message with this destination addresses this APIC (broadcast included). */
    public synchronized boolean matches(InterruptMessage m) {
        int dest = m.destination();
        if (!m.logical()) {
            if (x2apic || m.x2apicDestination()) return dest == 0xFFFF_FFFF || dest == id;
            return (dest & 0xFF) == 0xFF || (dest & 0xFF) == id;
        }
        if (x2apic) {
            if (dest == 0xFFFF_FFFF) return true;
            int ldr = x2apicLogicalId();
            return (dest >>> 16) == (ldr >>> 16) && (dest & ldr & 0xFFFF) != 0;
        }
        int d8 = dest & 0xFF;
        if (d8 == 0xFF) return true;
        return switch (model) {
            case FLAT -> (logicalId & d8) != 0;
            case CLUSTER -> (logicalId >>> 4) == (d8 >>> 4) && (logicalId & d8 & 0xF) != 0;
        };
    }

    synchronized void accept(InterruptMessage m) {
        accepted.add(new Accepted(m.vector(), m.deliveryMode(), m.levelTriggered(), m.logical(), m.postedNotification(),
                m.destination()));
        if (m.levelTriggered() && m.deliveryMode() == InterruptMessage.DM_FIXED) levelInService[m.vector() & 0xFF] = true;
    }

    /** End of interrupt for vector: true if it was a level-triggered interrupt (EOI to broadcast). */
    public synchronized boolean eoi(int vector) {
        boolean level = levelInService[vector & 0xFF];
        levelInService[vector & 0xFF] = false;
        return level;
    }

    public synchronized List<Accepted> accepted() {
        return List.copyOf(accepted);
    }

    /** The interrupts accepted after the first {@code from} (empty if there are no more): a reader's new entries. */
    public synchronized List<Accepted> acceptedSince(int from) {
        return from >= accepted.size() ? List.of() : List.copyOf(accepted.subList(Math.max(0, from), accepted.size()));
    }

    public synchronized int acceptedCount() {
        return accepted.size();
    }

    public synchronized List<Accepted> notifications() {
        return accepted.stream().filter(Accepted::postedNotification).toList();
    }

    public synchronized void clear() {
        accepted.clear();
    }
}

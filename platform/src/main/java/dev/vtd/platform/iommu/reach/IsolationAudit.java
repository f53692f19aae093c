package dev.vtd.platform.iommu.reach;

import java.util.ArrayList;
import java.util.List;

/**
 * The isolation policy "no device reaches memory that is not its own VM's or its own driver's",
 * checked against what the remapping hardware lets each requester reach ({@link ReachEnumerator}).
 *
 * <p>Each reachable range is labelled with its owner, in this order: the MSI window (requests there
 * are interrupts, 3.14), the IOMMU's own translation structures, a VM's RAM, a firmware RMRR, the host
 * kernel's RAM, and what is not RAM at all (MMIO, holes). A device assigned to a VM may reach only that
 * VM's RAM; a device the host drives may reach host RAM and its RMRRs, never a VM's RAM or the
 * translation structures; a requester no device answers to (a stale context entry) may reach no RAM.
 * Nobody may reach the translation structures, through which a device could rewrite its own mappings.
 */
public final class IsolationAudit {
    public static final String MSI_WINDOW = "MSI window (interrupt requests)";
    public static final String TABLES = "IOMMU translation structures";
    public static final String FIRMWARE = "firmware RMRR";
    public static final String HOST = "host kernel RAM";
    public static final String NOT_RAM = "not RAM";
    static final long MSI_BASE = 0xFEE0_0000L, MSI_SIZE = 0x10_0000L;

    /** Who answers to a requester ID: the device, its driver, the VM it is assigned to (or null). */
    public record Requester(String device, String driver, String vm) {
        public static final Requester UNKNOWN = new Requester(null, null, null);

        public boolean known() {
            return device != null;
        }
    }

    /** Finds the requester behind a unit's source ID (unit index, source ID). */
    @FunctionalInterface
    public interface Requesters {
        Requester of(int unit, int sourceId);
    }

    /** A VM's RAM in host-physical memory. */
    public record Tenant(String vm, RangeSet ram) {}

    /** A stretch of reachable memory with its owner, and whether the policy forbids it. */
    public record Piece(RangeSet.Range range, String owner, boolean violation) {}

    /** One mapping of one requester and what it reaches. */
    public record Entry(int unit, ReachEnumerator.Mapping mapping, Requester requester, List<Piece> pieces) {
        public List<Piece> violations() {
            return pieces.stream().filter(Piece::violation).toList();
        }
    }

    /** The whole audit. */
    public record Report(List<Entry> entries, boolean complete) {
        public boolean clean() {
            return complete && entries.stream().allMatch(e -> e.violations().isEmpty());
        }
    }

    private IsolationAudit() {
    }

    /**
     * @param units      each unit's reach, by unit index
     * @param ram        the machine's RAM
     * @param vms        each VM's RAM
     * @param rmrr       the firmware's reserved-memory ranges (RMRRs)
     * @param requesters who answers to each source ID
     */
    public static Report audit(List<ReachEnumerator.UnitReach> units, RangeSet ram, List<Tenant> vms, RangeSet rmrr,
                               Requesters requesters) {
        RangeSet.Builder tb = new RangeSet.Builder();
        for (ReachEnumerator.UnitReach u : units) tb.addAll(u.translationStructures());
        RangeSet tables = tb.build();
        RangeSet msi = new RangeSet.Builder().add(MSI_BASE, MSI_SIZE, RangeSet.R | RangeSet.W).build();
        List<Entry> entries = new ArrayList<>();
        boolean complete = true;
        for (int i = 0; i < units.size(); i++) {
            ReachEnumerator.UnitReach u = units.get(i);
            complete &= u.complete();
            for (ReachEnumerator.Mapping m : u.mappings()) {
                Requester who = m.sourceId() < 0 ? Requester.UNKNOWN : requesters.of(i, m.sourceId());
                entries.add(new Entry(i, m, who, label(m.reach(), who, msi, tables, vms, rmrr, ram)));
            }
        }
        return new Report(List.copyOf(entries), complete);
    }

    private static List<Piece> label(RangeSet reach, Requester who, RangeSet msi, RangeSet tables, List<Tenant> vms,
                                     RangeSet rmrr, RangeSet ram) {
        List<Piece> out = new ArrayList<>();
        RangeSet rest = reach;
        rest = take(rest, msi, MSI_WINDOW, false, out);
        rest = take(rest, tables, TABLES, true, out);
        for (Tenant t : vms) {
            String owner = "vm " + t.vm() + " RAM";
            rest = take(rest, t.ram(), owner, !t.vm().equals(who.vm()), out);
        }
        // Outside every VM: firmware and host memory are the host driver's to reach, nobody else's.
        boolean hostOwned = who.known() && who.vm() == null;
        rest = take(rest, rmrr.minus(notIn(ram)), FIRMWARE, !hostOwned, out);
        rest = take(rest, ram, HOST, !hostOwned, out);
        for (RangeSet.Range r : rest.ranges()) out.add(new Piece(r, NOT_RAM, false));
        out.sort((a, b) -> Long.compare(a.range().base(), b.range().base()));
        return List.copyOf(out);
    }

    private static RangeSet notIn(RangeSet ram) {
        return new RangeSet.Builder().add(0, Long.MAX_VALUE, RangeSet.R | RangeSet.W).build().minus(ram);
    }

    private static RangeSet take(RangeSet rest, RangeSet owned, String owner, boolean violation, List<Piece> out) {
        if (rest.isEmpty() || owned.isEmpty()) return rest;
        RangeSet.Builder inside = new RangeSet.Builder();
        for (RangeSet.Range o : owned.ranges()) inside.addAll(rest.within(o.base(), o.end()));
        RangeSet in = inside.build();
        for (RangeSet.Range r : in.ranges()) out.add(new Piece(r, owner, violation));
        return rest.minus(in);
    }
}

package dev.vtd.platform.iommu.reach;

import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidDirEntry;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.RootEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import dev.vtd.platform.iommu.tables.SmRootEntry;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What every requester behind one remapping unit can reach in host-physical memory, read from the
 * unit's active translation structures in memory: the root table latched by SRTP (RTADDR, 11.4.6),
 * legacy context entries (9.3) or scalable-mode context, PASID directory and PASID entries (9.4-9.6),
 * and every second-stage (9.8) and first-stage (9.7) table under them; with translation disabled
 * (GSTS.TES = 0) every request reaches all of memory outside the protected memory regions (3.15).
 *
 * <p>The result is an upper bound, never an underestimate: a present entry is counted even where the
 * hardware would fault it for a reserved bit, an unsupported page size or an address-width rule, so a
 * clean audit means the hardware cannot do more, whatever those checks decide. Translated requests
 * (ATS, AT=10b) are not translated by the unit: where a context lets them through (legacy TT=01b,
 * scalable-mode DTE=1) the requester reaches all memory, and the mapping says so.
 *
 * <p>Bounded: at most {@code maxEntries} table entries are read per unit (a hostile table that points
 * back at itself would otherwise describe 512^5 pages); past that the report is marked incomplete.
 * Walks of a table shared by many requesters (one domain) are done once.
 */
public final class ReachEnumerator {
    public static final int NO_PASID = -1;
    public static final int DEFAULT_MAX_ENTRIES = 1 << 22;

    /** How a requester's DMA is handled, with what it reaches. */
    public record Mapping(int sourceId, int pasid, String translation, int domainId, RangeSet reach) {
        public boolean withPasid() {
            return pasid != NO_PASID;
        }
    }

    /** Everything one unit lets its requesters reach. */
    public record UnitReach(boolean translationEnabled, boolean scalableMode, List<Mapping> mappings,
                            RangeSet translationStructures, boolean complete, long entriesRead) {}

    private final RemappingUnit unit;
    private final PhysicalMemory memory;
    private final long maxEntries;
    private final long addressLimit;
    private long entriesRead;
    private boolean complete = true;
    private final RangeSet.Builder structures = new RangeSet.Builder();
    private final Map<Long, RangeSet> secondStageMemo = new HashMap<>();
    private final Map<Long, RangeSet> firstStageMemo = new HashMap<>();

    private ReachEnumerator(RemappingUnit unit, PhysicalMemory memory, long maxEntries) {
        this.unit = unit;
        this.memory = memory;
        this.maxEntries = maxEntries;
        this.addressLimit = 1L << Math.min(unit.config().hostAddressWidth(), 62);
    }

    public static UnitReach of(RemappingUnit unit, PhysicalMemory memory) {
        return of(unit, memory, DEFAULT_MAX_ENTRIES);
    }

    public static UnitReach of(RemappingUnit unit, PhysicalMemory memory, long maxEntries) {
        return new ReachEnumerator(unit, memory, maxEntries).run();
    }

    private UnitReach run() {
        List<Mapping> out = new ArrayList<>();
        if (!unit.translationEnabled()) {
            out.add(new Mapping(-1, NO_PASID, "not remapped (GSTS.TES = 0)", 0, everything().minus(protectedRegions())));
            return new UnitReach(false, false, out, RangeSet.EMPTY, true, 0);
        }
        boolean scalable = unit.translationTableMode() == RemappingUnit.TTM_SCALABLE;
        long root = unit.rootTableAddress();
        for (int bus = 0; bus < 256 && complete; bus++) {
            long re = root + bus * 16L;
            long[] q = read(re, 2);
            if (q == null) break;
            if (scalable) {
                SmRootEntry r = SmRootEntry.decode(q[0], q[1]);
                if (r.lowerPresent()) scalableContexts(bus, 0, r.lowerContextTablePointer(), out);
                if (r.upperPresent()) scalableContexts(bus, SmRootEntry.UPPER_DEVFN, r.upperContextTablePointer(), out);
            } else {
                RootEntry r = RootEntry.decode(q[0], q[1]);
                if (r.present()) legacyContexts(bus, r.contextTablePointer(), out);
            }
        }
        structures.add(root, 4096, RangeSet.R);
        return new UnitReach(true, scalable, List.copyOf(out), structures.build(), complete, entriesRead);
    }

    private RangeSet everything() {
        return new RangeSet.Builder().add(0, addressLimit, RangeSet.R | RangeSet.W).build();
    }

    /** PMEN.PRS: the low and high protected regions block untranslated DMA while TES = 0 (3.15, 11.4.10-14). */
    private RangeSet protectedRegions() {
        if ((unit.read(Reg.PMEN, 4) & (1L << 0)) == 0) return RangeSet.EMPTY;
        RangeSet.Builder b = new RangeSet.Builder();
        long lb = unit.read(Reg.PLMBASE, 4) & 0xFFFF_FFFFL, ll = unit.read(Reg.PLMLIMIT, 4) & 0xFFFF_FFFFL;
        if (ll >= lb) b.add(lb, ll - lb + 0x10_0000L, RangeSet.R | RangeSet.W);
        long hb = unit.read(Reg.PHMBASE, 8), hl = unit.read(Reg.PHMLIMIT, 8);
        if (Long.compareUnsigned(hl, hb) >= 0) b.add(hb, hl - hb + 0x10_0000L, RangeSet.R | RangeSet.W);
        return b.build();
    }

    private void legacyContexts(int bus, long table, List<Mapping> out) {
        structures.add(table, 4096, RangeSet.R);
        for (int devfn = 0; devfn < 256 && complete; devfn++) {
            long[] q = read(table + devfn * 16L, 2);
            if (q == null) return;
            ContextEntry c = ContextEntry.decode(q[0], q[1]);
            if (!c.present()) continue;
            int sid = bus << 8 | devfn;
            switch (c.translationType()) {
                case ContextEntry.TT_PASS_THROUGH -> out.add(new Mapping(sid, NO_PASID, "pass-through (TT=10b)", c.domainId(), everything()));
                case ContextEntry.TT_UNTRANSLATED, ContextEntry.TT_DEVICE_TLB -> {
                    int levels = c.addressWidth() + 2;
                    if (levels > 5) continue;  // a reserved AW: the context is invalid and every request faults
                    out.add(new Mapping(sid, NO_PASID, "second-stage, " + levels + "-level", c.domainId(),
                            secondStage(c.slptptr(), levels)));
                    if (c.translationType() == ContextEntry.TT_DEVICE_TLB) {
                        out.add(new Mapping(sid, NO_PASID, "translated requests unchecked (TT=01b, device-TLB)",
                                c.domainId(), everything()));
                    }
                }
                default -> { }  // TT=11b is reserved: every request faults.
            }
        }
    }

    private void scalableContexts(int bus, int devfnBase, long table, List<Mapping> out) {
        structures.add(table, 4096, RangeSet.R);
        for (int i = 0; i < 128 && complete; i++) {
            long[] q = read(table + i * 32L, 4);
            if (q == null) return;
            SmContextEntry c = SmContextEntry.decode(q);
            if (!c.present()) continue;
            int sid = bus << 8 | (devfnBase + i);
            long dirEntries = 1L << (c.pasidDirSize() + 7);
            structures.add(c.pasidDirPointer(), dirEntries * 8, RangeSet.R);
            for (long d = 0; d < dirEntries && complete; d++) {
                long[] de = read(c.pasidDirPointer() + d * 8, 1);
                if (de == null) break;
                PasidDirEntry dir = PasidDirEntry.decode(de[0]);
                if (!dir.present()) continue;
                structures.add(dir.tablePointer(), 4096, RangeSet.R);
                for (int p = 0; p < PasidDirEntry.PASIDS_PER_TABLE && complete; p++) {
                    int pasid = (int) (d << PasidDirEntry.INDEX_SHIFT) | p;
                    boolean rid = pasid == c.ridPasid();
                    if (!rid && !c.pasidEnable()) continue;  // requests with PASID fault (0x45) unless PASIDE
                    long[] pe = read(dir.tablePointer() + p * 64L, 8);
                    if (pe == null) break;
                    PasidEntry e = PasidEntry.decode(pe);
                    if (!e.present()) continue;
                    pasidMapping(sid, rid ? NO_PASID : pasid, e, out);
                    if (rid && c.pasidEnable()) pasidMapping(sid, pasid, e, out);
                }
            }
            if (c.deviceTlbEnable()) {
                out.add(new Mapping(sid, NO_PASID, "translated requests unchecked (DTE=1, device-TLB)", 0, everything()));
            }
        }
    }

    private void pasidMapping(int sid, int pasid, PasidEntry e, List<Mapping> out) {
        int slLevels = Math.min(5, e.addressWidth() + 2);
        int flLevels = e.flpm() == PasidEntry.FLPM_5_LEVEL ? 5 : 4;
        switch (e.pgtt()) {
            case PasidEntry.PGTT_FIRST_STAGE -> out.add(new Mapping(sid, pasid, "first-stage, " + flLevels + "-level",
                    e.domainId(), firstStage(e.flptptr(), flLevels)));
            case PasidEntry.PGTT_SECOND_STAGE -> out.add(new Mapping(sid, pasid, "second-stage, " + slLevels + "-level",
                    e.domainId(), secondStage(e.slptptr(), slLevels)));
            case PasidEntry.PGTT_NESTED -> out.add(new Mapping(sid, pasid, "nested (first-stage over second-stage)",
                    e.domainId(), nested(e.flptptr(), flLevels, e.slptptr(), slLevels)));
            case PasidEntry.PGTT_PASS_THROUGH -> out.add(new Mapping(sid, pasid, "pass-through (PGTT=100b)", e.domainId(),
                    everything()));
            default -> { }  // reserved PGTT: every request faults.
        }
    }

    // ---- page tables --------------------------------------------------------------------------

    /** Receives each leaf of a walk: input range [in, in+size) maps to output [out, out+size). */
    private interface Leaf {
        void leaf(long in, long out, long size, int perms);
    }

    private RangeSet secondStage(long root, int levels) {
        long key = root ^ (long) levels << 56;
        RangeSet memo = secondStageMemo.get(key);
        if (memo != null) return memo;
        RangeSet.Builder b = new RangeSet.Builder();
        secondStageWalk(root, levels, 0, 0, Long.MAX_VALUE, RangeSet.R | RangeSet.W, (in, o, size, p) -> b.add(o, size, p));
        RangeSet r = b.build();
        secondStageMemo.put(key, r);
        return r;
    }

    /** Second-stage entries (9.8): R (bit 0), W (bit 1), PS (bit 7) at levels 2 and 3; permissions AND along the path. */
    private void secondStageWalk(long table, int level, long inputBase, long lo, long hi, int perms, Leaf sink) {
        if (!complete) return;
        table &= SlPte.ADDR_MASK;
        structures.add(table, 4096, RangeSet.R);
        int shift = SlPte.shiftOfLevel(level);
        for (int i = 0; i < 512 && complete; i++) {
            long in = inputBase + ((long) i << shift), size = 1L << shift;
            if (Long.compareUnsigned(in + size - 1, lo) < 0 || Long.compareUnsigned(in, hi) > 0) continue;
            long[] q = read(table + i * 8L, 1);
            if (q == null) return;
            long pte = q[0];
            int p = perms & (int) (pte & (SlPte.R | SlPte.W));
            if ((pte & (SlPte.R | SlPte.W)) == 0) continue;
            if (level == 1 || (level <= 3 && (pte & SlPte.PS) != 0)) {
                long outBase = pte & SlPte.ADDR_MASK & -size;
                clip(in, outBase, size, lo, hi, p, sink);
            } else {
                secondStageWalk(pte, level - 1, in, lo, hi, p, sink);
            }
        }
    }

    private RangeSet firstStage(long root, int levels) {
        long key = root ^ (long) levels << 56;
        RangeSet memo = firstStageMemo.get(key);
        if (memo != null) return memo;
        RangeSet.Builder b = new RangeSet.Builder();
        firstStageWalk(root, levels, 0, RangeSet.R | RangeSet.W, (in, o, size, p) -> b.add(o, size, p));
        RangeSet r = b.build();
        firstStageMemo.put(key, r);
        return r;
    }

    /** First-stage entries (9.7): P (bit 0), R/W (bit 1), PS (bit 7) at levels 2 and 3. */
    private void firstStageWalk(long table, int level, long inputBase, int perms, Leaf sink) {
        if (!complete) return;
        table &= FlPte.ADDR_MASK;
        structures.add(table, 4096, RangeSet.R);
        int shift = FlPte.shiftOfLevel(level);
        for (int i = 0; i < 512 && complete; i++) {
            long[] q = read(table + i * 8L, 1);
            if (q == null) return;
            long pte = q[0];
            if ((pte & FlPte.P) == 0) continue;
            int p = perms & (RangeSet.R | ((pte & FlPte.RW) != 0 ? RangeSet.W : 0));
            long in = inputBase + ((long) i << shift), size = 1L << shift;
            if (level == 1 || (level <= 3 && (pte & FlPte.PS) != 0)) {
                sink.leaf(in, pte & FlPte.ADDR_MASK & -size, size, p);
            } else {
                firstStageWalk(pte, level - 1, in, p, sink);
            }
        }
    }

    /** Nested (3.8): each first-stage leaf's guest-physical range translated through the second stage. */
    private RangeSet nested(long flRoot, int flLevels, long slRoot, int slLevels) {
        RangeSet.Builder b = new RangeSet.Builder();
        RangeSet.Builder gpa = new RangeSet.Builder();
        firstStageWalk(flRoot, flLevels, 0, RangeSet.R | RangeSet.W, (in, o, size, p) -> gpa.add(o, size, p));
        for (RangeSet.Range g : gpa.build().ranges()) {
            secondStageWalk(slRoot, slLevels, 0, g.base(), g.end() - 1, g.perms(), (in, o, size, p) -> b.add(o, size, p));
        }
        return b.build();
    }

    private static void clip(long in, long out, long size, long lo, long hi, int p, Leaf sink) {
        long b = Math.max(in, lo), e = Math.min(in + size - 1, hi);
        if (e < b) return;
        sink.leaf(b, out + (b - in), e - b + 1, p);
    }

    /** Reads {@code n} quadwords, or null when they are not in RAM (the hardware's walk would fault there). */
    private long[] read(long addr, int n) {
        entriesRead += 1;
        if (entriesRead > maxEntries) {
            complete = false;
            return null;
        }
        if (addr < 0 || !memory.isRam(addr, 8L * n)) return null;
        long[] q = new long[n];
        for (int i = 0; i < n; i++) q[i] = memory.read64(addr + 8L * i);
        return q;
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.reach.RangeSet;
import dev.vtd.platform.iommu.reach.ReachEnumerator;
import dev.vtd.platform.iommu.reach.ReachEnumerator.Mapping;
import dev.vtd.platform.iommu.reach.ReachEnumerator.UnitReach;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a requester can reach, read from the unit's active structures: legacy contexts and
 * second-stage tables (9.3, 9.8), pass-through and device-TLB contexts, translation disabled with
 * PMRs (3.15), scalable-mode PASID entries (9.6) of every PGTT, and the rule that the result is an
 * upper bound of every translation the hardware performs.
 */
class ReachEnumeratorTest {
    private static Mapping only(UnitReach r, int sid) {
        List<Mapping> m = r.mappings().stream().filter(x -> x.sourceId() == sid).toList();
        assertEquals(1, m.size(), m.toString());
        return m.getFirst();
    }

    @Test
    void secondStageLeavesCoalesceIntoHostRangesWithTheirPermissions() {
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.context(UnitFixture.SID, 3, ContextEntry.AW_48);
            f.tables.map(pt, 4, 0x1000, 0x20_0000, 12, true, true);
            f.tables.map(pt, 4, 0x9000, 0x20_1000, 12, true, true);   // adjacent host page: one range
            f.tables.map(pt, 4, 0x5000, 0x30_0000, 12, true, false);  // read-only
            f.tables.map(pt, 4, 0x4000_0000L, 0x200_0000, 21, true, true);
            f.enable();
            UnitReach r = ReachEnumerator.of(f.unit, f.mem);
            assertTrue(r.translationEnabled() && !r.scalableMode() && r.complete());
            Mapping m = only(r, UnitFixture.SID);
            assertEquals(3, m.domainId());
            assertEquals("second-stage, 4-level", m.translation());
            assertEquals("[0x200000-0x201fff rw, 0x300000-0x300fff r-, 0x2000000-0x21fffff rw]", m.reach().ranges().toString());
            assertFalse(r.translationStructures().within(pt, pt + 4096).isEmpty(), "the page table is a translation structure");
            assertFalse(r.translationStructures().within(f.tables.rootTable(), f.tables.rootTable() + 1).isEmpty());
        }
    }

    @Test
    void permissionsAreTheAndOfEveryLevel() {
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
            f.tables.map(pt, 4, 0x1000, 0x20_0000, 12, true, true);
            long pml4e = f.tables.entryAddress(pt, 4, 0x1000, 4);
            f.mem.write64(pml4e, f.mem.read64(pml4e) & ~SlPte.W);     // the top level grants read only
            f.enable();
            assertEquals("[0x200000-0x200fff r-]", only(ReachEnumerator.of(f.unit, f.mem), UnitFixture.SID).reach().ranges().toString());
        }
    }

    @Test
    void passThroughReachesAllMemoryAndDeviceTlbLetsTranslatedRequestsThrough() {
        try (UnitFixture f = new UnitFixture()) {
            f.tables.setContext(0x0200, new ContextEntry(true, false, ContextEntry.TT_PASS_THROUGH, 0, ContextEntry.AW_48, 7, 0, 0));
            long pt = f.tables.allocPage();
            f.tables.setContext(0x0300, new ContextEntry(true, false, ContextEntry.TT_DEVICE_TLB, pt, ContextEntry.AW_48, 8, 0, 0));
            f.enable();
            UnitReach r = ReachEnumerator.of(f.unit, f.mem);
            Mapping pt2 = only(r, 0x0200);
            assertEquals("pass-through (TT=10b)", pt2.translation());
            assertEquals(1L << 46, pt2.reach().bytes(), "all of the host address width");
            List<Mapping> dt = r.mappings().stream().filter(x -> x.sourceId() == 0x0300).toList();
            assertEquals(2, dt.size());
            assertTrue(dt.get(0).reach().isEmpty(), "nothing mapped for untranslated requests");
            assertEquals("translated requests unchecked (TT=01b, device-TLB)", dt.get(1).translation());
            assertEquals(1L << 46, dt.get(1).reach().bytes());
        }
    }

    @Test
    void withTranslationDisabledEveryRequestReachesMemoryOutsideTheProtectedRegions() {
        try (UnitFixture f = new UnitFixture()) {
            f.unit.write(Reg.PLMBASE, 4, 0x40_0000);
            f.unit.write(Reg.PLMLIMIT, 4, 0x40_0000);
            f.unit.write(Reg.PMEN, 4, Reg.PMEN_EPM);
            UnitReach r = ReachEnumerator.of(f.unit, f.mem);
            assertFalse(r.translationEnabled());
            Mapping m = r.mappings().getFirst();
            assertEquals("not remapped (GSTS.TES = 0)", m.translation());
            assertTrue(m.reach().within(0x40_0000, 0x50_0000).isEmpty(), "the low PMR is protected: " + m.reach().ranges());
            assertFalse(m.reach().within(0x3f_f000, 0x40_0000).isEmpty());
        }
    }

    @Test
    void aTableThatPointsAtItselfEndsTheReportIncompleteInsteadOfRunningForever() {
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_57 - 1);
            for (int i = 0; i < 512; i++) f.mem.write64(pt + 8L * i, SlPte.table(pt, true, true));
            f.enable();
            long t0 = System.nanoTime();
            UnitReach r = ReachEnumerator.of(f.unit, f.mem, 1 << 18);
            assertFalse(r.complete());
            assertTrue(System.nanoTime() - t0 < 30_000_000_000L);
        }
    }

    @Test
    void scalableModeReportsEachPasidWithItsTranslationType() {
        try (SmFixture f = new SmFixture()) {
            f.context(SmFixture.SID, 1);
            long sl = f.slRoot();
            f.tables.secondStage().map(sl, 4, 0x1000, 0x60_0000, 12, true, true);
            f.pasid(1, PasidEntry.secondStage(5, sl, 2));
            long fl = f.flRoot();
            f.tables.mapFirstStage(fl, 4, 0x7000, 0x61_0000, 12, false, false, false);
            f.pasid(9, PasidEntry.firstStage(6, fl, false));
            long nfl = f.flRoot();
            f.tables.mapFirstStage(nfl, 4, 0x3000, 0x1000, 12, true, false, false);  // GPA 0x1000 -> HPA 0x600000
            f.pasid(10, PasidEntry.nested(7, nfl, false, sl, 2));
            f.pasid(11, PasidEntry.passThrough(8));
            f.enable();
            UnitReach r = ReachEnumerator.of(f.unit, f.mem);
            assertTrue(r.scalableMode());
            List<Mapping> m = r.mappings().stream().filter(x -> x.sourceId() == SmFixture.SID).toList();
            assertEquals("second-stage, 4-level", find(m, ReachEnumerator.NO_PASID).translation(), "requests without PASID use RID_PASID 1");
            assertEquals("[0x600000-0x600fff rw]", find(m, 1).reach().ranges().toString());
            assertEquals("[0x610000-0x610fff r-]", find(m, 9).reach().ranges().toString());
            assertEquals("nested (first-stage over second-stage)", find(m, 10).translation());
            assertEquals("[0x600000-0x600fff rw]", find(m, 10).reach().ranges().toString());
            assertEquals(1L << 46, find(m, 11).reach().bytes());
        }
    }

    private static Mapping find(List<Mapping> m, int pasid) {
        return m.stream().filter(x -> x.pasid() == pasid && !x.translation().startsWith("translated")).findFirst()
                .orElseThrow(() -> new AssertionError("no mapping for PASID " + pasid + " in " + m));
    }

    /** Property: every translation the hardware performs lands inside the reported reach, with its permission. */
    @Test
    void theReachIsAnUpperBoundOfEveryTranslationTheHardwarePerforms() {
        for (long seed = 1; seed <= 6; seed++) {
            Random rnd = new Random(seed);
            try (UnitFixture f = new UnitFixture()) {
                int[] sids = {0x0100, 0x0101, 0x0200};
                long[] roots = new long[sids.length];
                for (int d = 0; d < sids.length; d++) roots[d] = f.context(sids[d], d + 1, ContextEntry.AW_48);
                for (int i = 0; i < 200; i++) {
                    int d = rnd.nextInt(sids.length);
                    int shift = rnd.nextInt(10) == 0 ? 21 : 12;
                    long iova = (rnd.nextLong(1L << 36)) & -(1L << shift);
                    long pa = (rnd.nextLong(UnitFixture.RAM)) & -(1L << shift);
                    f.tables.map(roots[d], 4, iova, pa, shift, rnd.nextBoolean() || true, rnd.nextBoolean());
                }
                f.enable();
                UnitReach r = ReachEnumerator.of(f.unit, f.mem);
                for (int i = 0; i < 3000; i++) {
                    int d = rnd.nextInt(sids.length);
                    long iova = rnd.nextLong(1L << 36);
                    boolean write = rnd.nextBoolean();
                    RemappingUnit.Translation t = f.unit.translate(sids[d], iova,
                            write ? RemappingUnit.Access.WRITE : RemappingUnit.Access.READ);
                    if (!t.ok()) continue;
                    RangeSet reach = only(r, sids[d]).reach();
                    RangeSet hit = reach.within(t.hpa(), t.hpa() + 1);
                    assertFalse(hit.isEmpty(), "seed " + seed + ": 0x" + Long.toHexString(t.hpa()) + " outside the reach");
                    assertTrue(!write || hit.ranges().getFirst().writable(), "seed " + seed + ": a write where the reach says read-only");
                }
            }
        }
    }

    @Test
    void rangeSetsMergeTouchingPiecesAndSplitWherePermissionsDiffer() {
        RangeSet s = new RangeSet.Builder().add(0x1000, 0x1000, RangeSet.R).add(0x2000, 0x1000, RangeSet.R)
                .add(0x1800, 0x1000, RangeSet.W).build();
        assertEquals("[0x1000-0x17ff r-, 0x1800-0x27ff rw, 0x2800-0x2fff r-]", s.ranges().toString());
        assertEquals("[0x1000-0x17ff r-]", s.minus(new RangeSet.Builder().add(0x1800, 0x2000, RangeSet.R).build()).ranges().toString());
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.RemappingUnit.Access;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reserved bits of second-stage paging entries (VT-d spec 9.8, "Format for Second-Stage Paging Entries"): an
 * entry that references a table (SL-PML5E, SL-PML4E, SL-PDPE and SL-PDE with PS = 0) has bits 7, 11 and 62
 * reserved whatever ECAP.SC and ECAP.DT say; a leaf has SNP (reserved only when ECAP.SC = 0) and TM (reserved
 * only when ECAP.DT = 0). A present entry with a reserved bit set ends the walk: fault 0Ch in legacy mode, 7Ah in
 * scalable mode, recorded like other paging-entry faults and not recorded when the context's FPD is 1.
 */
class SecondStageReservedBitsTest {
    static final long IOVA = 0x4020_3000L, PA = 0x90_0000L;

    /** Legacy mode on the R630 (ECAP.SC = 1, ECAP.DT = 1): one bit set in the entry at one level of a 4 KiB mapping. */
    private static FaultReason legacyWith(int level, long bit, boolean fpd, UnitFixture f) {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48).withFpd(fpd));
        f.tables.map(pt, 4, IOVA, PA, 12, true, true);
        long e = f.tables.entryAddress(pt, 4, IOVA, level);
        f.mem.write64(e, f.mem.read64(e) | bit);
        f.enable();
        return f.unit.translate(UnitFixture.SID, IOVA, Access.READ).fault();
    }

    @ParameterizedTest(name = "bit {1} in the SL entry at level {0} that references a table is reserved (0Ch)")
    @CsvSource({"4, 11", "3, 11", "2, 11", "4, 62", "3, 62", "2, 62", "4, 7"})
    void tableEntriesHaveNoSnpTmOrPsWhateverEcapSays(int level, int bit) {
        try (UnitFixture f = new UnitFixture()) {
            assertTrue(f.unit.ecap().sc() && f.unit.ecap().dt(), "the R630 advertises SC and DT");
            assertEquals(FaultReason.PTE_RESERVED, legacyWith(level, 1L << bit, false, f));
            assertTrue(f.faultPending(0));
            assertEquals(0x0C, f.faultReason(0));
            assertEquals(IOVA & ~0xFFFL, f.frcdLo(0) & ~0xFFFL, "FRCD records the faulting page");
        }
    }

    @Test
    void snpAndTmAreValidInALeafWhenEcapAdvertisesSnoopControlAndDeviceTlbs() {
        for (long bit : new long[]{SlPte.SNP, SlPte.TM}) {
            try (UnitFixture f = new UnitFixture()) {
                assertNull(legacyWith(1, bit, false, f));
                assertEquals(0, f.fsts() & Reg.FSTS_PPF);
            }
        }
    }

    @Test
    void tmInALeafIsReservedWithoutDeviceTlbSupport() {
        try (UnitFixture q = UnitFixture.withCap(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP)) {
            assertFalse(q.unit.ecap().dt());
            long pt = q.tables.allocPage();
            q.tables.setContext(0x20, ContextEntry.translated(1, pt, ContextEntry.AW_39));
            long leaf = q.tables.map(pt, 3, 0x1000, PA, 12, true, true);
            q.mem.write64(leaf, q.mem.read64(leaf) | SlPte.TM);
            q.enable();
            assertEquals(FaultReason.PTE_RESERVED, q.unit.translate(0x20, 0x1000, Access.READ).fault());
            assertEquals(0x0C, q.faultReason(0));
        }
    }

    @Test
    void aReservedBitFaultIsNotRecordedWhenTheContextSetsFpdButTheRequestIsStillBlocked() {
        try (UnitFixture f = new UnitFixture()) {
            assertEquals(FaultReason.PTE_RESERVED, legacyWith(3, SlPte.SNP, true, f));
            assertFalse(f.faultPending(0));
            assertEquals(0, f.fsts() & Reg.FSTS_PPF);
        }
    }

    @Test
    void bit11InATableEntryIsReason7AhInScalableMode() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, IOVA, PA, 12, true, true);
            long e = s.tables.secondStage().entryAddress(sl, 4, IOVA, 3);
            s.mem.write64(e, s.mem.read64(e) | SlPte.SNP);
            s.pasid(0, PasidEntry.secondStage(1, sl, 2));
            s.enable();
            assertEquals(FaultReason.SM_SL_RESERVED, s.tr(0, IOVA, false, false).fault());
            assertEquals(0x7A, s.reason(0));
        }
    }

    @Test
    void theMaskTableMatchesTheSpecificationsFigure() {
        // Table entries at levels 2-5: bits 7 (PS), 11 and 62.
        assertEquals(0x4000_0000_0000_0880L, SlPte.reservedMask(4, false, true, true));
        assertEquals(0x4000_0000_0000_0880L, SlPte.reservedMask(5, false, false, false));
        assertEquals(0x4000_0000_0000_0800L, SlPte.reservedMask(3, false, true, true));   // PS = 0 is what makes it a table
        // A 2 MiB leaf: address bits 20:12 (plus SNP/TM per ECAP); a 1 GiB leaf: 29:12.
        assertEquals(0x0000_0000_001F_F000L, SlPte.reservedMask(2, true, true, true));
        assertEquals(0x4000_0000_001F_F800L, SlPte.reservedMask(2, true, false, false));
        assertEquals(0x0000_0000_3FFF_F000L, SlPte.reservedMask(3, true, true, true));
        assertEquals(0x0000_0000_0000_0000L, SlPte.reservedMask(1, false, true, true));
        assertEquals(0x4000_0000_0000_0800L, SlPte.reservedMask(1, false, false, false));
    }
}

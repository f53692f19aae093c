package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Scalable-mode translation (VT-d spec 3.4.3, 3.5-3.8, 9.2-9.8): the four PGTT types, with and without PASID. */
class ScalableTranslationTest {
    static final int DID = 7;
    static final int PASID = 5;
    static final long VA = 0x7f12_3456_7000L;
    static final long PA = 0x0200_0000L;

    @Test
    void rtaddrKeepsTtmOnlyWithSmtsAndSrtpLatchesScalableMode() {
        try (SmFixture s = new SmFixture()) {
            s.unit.write(Reg.RTADDR, 8, 0x100000L | (1L << 10) | 0x3FF);
            assertEquals(0x100400L, s.unit.read(Reg.RTADDR, 8));
            s.unit.write(Reg.RTADDR, 8, 0x100000L | (3L << 10));
            assertEquals(0x100c00L, s.unit.read(Reg.RTADDR, 8));
            s.enable();
            assertTrue(s.unit.scalableMode());
            assertEquals(RemappingUnit.TTM_SCALABLE, s.unit.translationTableMode());
        }
        try (UnitFixture legacy = new UnitFixture()) {
            legacy.unit.write(Reg.RTADDR, 8, 0x100000L | (1L << 10));
            assertEquals(0x100000L, legacy.unit.read(Reg.RTADDR, 8), "TTM read-only 0 without SMTS");
            legacy.unit.write(Reg.GCMD, 4, Reg.GCMD_SRTP);
            assertFalse(legacy.unit.scalableMode());
        }
    }

    @Test
    void secondStageRequestWithoutPasidUsesRidPasidAndItsDomain() {
        // s27: RID_PASID 0x41 -> directory entry 1, table entry 1; PGTT 010b, DID 5, AW 1 (3-level).
        try (SmFixture s = SmFixture.qemu()) {
            s.context(SmFixture.SID, SmContextEntry.of(s.pasidDir, 0, 0x41));
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 3, 0x0500_0000L, 0x43_0000L, 12, true, true);
            s.pasid(0x41, PasidEntry.secondStage(5, sl, 1));
            s.enable();
            assertEquals(0x43_0010L, s.unit.translateAddress(SmFixture.SID, 0x0500_0010L, true));
            assertEquals(5, s.unit.translate(SmFixture.SID, 0x0500_0010L, RemappingUnit.Access.READ).domainId());
            assertEquals(0, s.fsts());
            assertEquals(1, s.unit.iotlb().size());
        }
    }

    @Test
    void firstStageFourLevelTranslatesRequestsWithPasidAndSetsAccessedThenDirty() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            long leaf = s.tables.mapFirstStage(fl, 4, VA, PA, 12, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.enable();
            RemappingUnit.Translation t = s.tr(PASID, VA + 0x123, false, false);
            assertTrue(t.ok());
            assertEquals(PA + 0x123, t.hpa());
            assertEquals(FlPte.A, s.mem.read64(leaf) & (FlPte.A | FlPte.D), "a read sets A only");
            assertEquals(FlPte.A, s.mem.read64(fl + ((VA >>> 39) & 0x1FF) * 8) & FlPte.A, "A set in the PML4E");
            assertEquals(4, s.write(PASID, VA + 8, new byte[] {1, 2, 3, 4}));
            assertEquals(FlPte.A | FlPte.D, s.mem.read64(leaf) & (FlPte.A | FlPte.D), "a write sets D");
            assertEquals(0x04030201, s.mem.read32(PA + 8));
        }
    }

    @Test
    void firstStageFiveLevelNeedsFl5lpAndChecksCanonicalBit56() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            long va = 0x00F0_0000_0000_0000L | 0x1000;       // beyond 48 bits: needs 5 levels
            s.tables.mapFirstStage(fl, 5, va, PA, 12, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, true).withPwsnp(true));
            s.enable();
            assertEquals(PA, s.tr(PASID, va, false, false).hpa());
            assertFalse(s.tr(PASID, 0x0100_0000_0000_0000L, false, false).ok());
            assertEquals(FaultReason.SM_NOT_CANONICAL.code, s.lastReason());
        }
        try (SmFixture s = new SmFixture(SmFixture.CAP.with(Cap.FL5LP, 0), SmFixture.ECAP)) {
            s.context(SmFixture.SID, 0);
            s.pasid(PASID, PasidEntry.firstStage(DID, s.flRoot(), true));
            s.enable();
            assertFalse(s.tr(PASID, 0x1000, false, false).ok());
            assertEquals(FaultReason.SM_PASID_INVALID.code, s.lastReason());
        }
    }

    @Test
    void firstStageLargePagesOf2MiBAnd1GiB() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, 0x4020_0000L, 0x0140_0000L, 21, true, true, false);
            s.tables.mapFirstStage(fl, 4, 0x80_0000_0000L, 0x4000_0000L, 30, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.enable();
            RemappingUnit.Translation t = s.tr(PASID, 0x4020_0000L + 0x1F_F123, false, false);
            assertEquals(0x0140_0000L + 0x1F_F123, t.hpa());
            assertEquals(1L << 21, t.pageSize());
            RemappingUnit.Translation g = s.tr(PASID, 0x80_0000_0000L + 0x123_4567, false, false);
            assertEquals(1L << 30, g.pageSize());
            assertEquals(0x4000_0000L + 0x123_4567, g.hpa());
        }
        try (SmFixture s = new SmFixture(SmFixture.CAP.with(Cap.FL1GP, 0), SmFixture.ECAP)) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, 0x80_0000_0000L, 0x4000_0000L, 30, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.enable();
            assertFalse(s.tr(PASID, 0x80_0000_0000L, false, false).ok());
            assertEquals(FaultReason.SM_FL_RESERVED.code, s.lastReason(), "PS in an FL-PDPE is reserved without FL1GP");
        }
    }

    @Test
    void userRequestsNeedUsAtEveryLevelSupervisorRequestsNeedSreAndWpeProtectsReadOnlyPages() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, PA, 12, false, false, false);      // read-only supervisor page
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.pasid(PASID + 1, PasidEntry.firstStage(DID, fl, false).withPwsnp(true).withSupervisor(true, false));
            s.pasid(PASID + 2, PasidEntry.firstStage(DID, fl, false).withPwsnp(true).withSupervisor(true, true));
            s.enable();
            assertFalse(s.tr(PASID, VA, false, false).ok());
            assertEquals(FaultReason.SM_US_CLEAR.code, s.lastReason());
            assertFalse(s.tr(PASID, VA, false, true).ok());
            assertEquals(FaultReason.SM_SRE_CLEAR.code, s.lastReason());
            assertTrue(s.tr(PASID + 1, VA, true, true).ok(), "supervisor write to a read-only page with WPE = 0");
            assertFalse(s.tr(PASID + 2, VA, true, true).ok());
            assertEquals(FaultReason.SM_NO_WRITE.code, s.lastReason(), "WPE = 1 protects read-only pages");
        }
    }

    @Test
    void executeRequestsNeedEreAndAreBlockedByXd() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, PA, 12, true, true, true);
            s.tables.mapFirstStage(fl, 4, VA + 0x1000, PA + 0x1000, 12, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true).withExecute(true, true));
            s.pasid(PASID + 1, PasidEntry.firstStage(DID, fl, false).withPwsnp(true).withExecute(false, true));
            s.enable();
            RemappingUnit.Access r = RemappingUnit.Access.READ;
            assertFalse(s.unit.translate(SmFixture.SID, PASID, VA, r, false, true).ok());
            assertEquals(FaultReason.SM_NO_EXECUTE.code, s.lastReason());
            assertTrue(s.unit.translate(SmFixture.SID, PASID, VA + 0x1000, r, false, true).ok());
            assertFalse(s.unit.translate(SmFixture.SID, PASID + 1, VA + 0x1000, r, false, true).ok());
            assertEquals(FaultReason.SM_ERE_CLEAR.code, s.lastReason());
        }
    }

    @Test
    void nestedTranslationWalksFirstStageTablesAndOutputThroughTheSecondStage() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            long sl = s.slRoot();
            long gpaData = 0x0300_0000L;
            // First-stage tables live at GPA = HPA (identity second stage over the table pool), data GPA -> PA.
            s.tables.mapFirstStage(fl, 4, VA, gpaData, 12, true, true, false);
            for (long a = 0; a < 0x100_0000; a += 0x20_0000) {
                s.tables.secondStage().map(sl, 4, a, a, 21, true, true);
            }
            s.tables.secondStage().map(sl, 4, gpaData, PA, 12, true, true);
            s.pasid(PASID, PasidEntry.nested(DID, fl, false, sl, 2).withPwsnp(true));
            s.enable();
            RemappingUnit.Translation t = s.tr(PASID, VA + 0x44, true, false);
            assertTrue(t.ok(), () -> "fault " + s.lastReason());
            assertEquals(PA + 0x44, t.hpa());
            assertEquals(4096, t.pageSize());
        }
    }

    @Test
    void passThroughPasidEntryIsIdentity() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 3);
            s.pasid(3, PasidEntry.passThrough(DID));
            s.enable();
            assertEquals(0x123_4567L, s.unit.translateAddress(SmFixture.SID, 0x123_4567L, true));
        }
    }

    @Test
    void secondStageAccessedDirtyWithSlade() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long sl = s.slRoot();
            long leaf = s.tables.secondStage().map(sl, 4, 0x5000, PA, 12, true, true);
            s.pasid(0, PasidEntry.secondStage(DID, sl, 2).withSlade(true).withPwsnp(true));
            s.enable();
            s.unit.translateAddress(SmFixture.SID, 0x5000, false);
            assertEquals(SlPte.A, s.mem.read64(leaf) & (SlPte.A | SlPte.D));
            s.unit.translateAddress(SmFixture.SID, 0x5000, true);
            assertEquals(SlPte.A | SlPte.D, s.mem.read64(leaf) & (SlPte.A | SlPte.D), "the cached entry re-walks to set D");
        }
    }

    @Test
    void faultsOfRequestsWithPasidRecordPpAndPvAndThoseWithoutDoNot() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            s.pasid(0, PasidEntry.secondStage(DID, s.slRoot(), 2));
            s.pasid(PASID, PasidEntry.firstStage(DID, s.flRoot(), false));
            s.enable();
            s.tr(PASID, 0x3000, true, false);
            long hi = s.frcdHi(0);
            assertNotEquals(0, hi & Reg.FRCD_HI_PP);
            assertEquals(PASID, (hi >>> Reg.FRCD_HI_PV_SHIFT) & 0xFFFFF);
            assertEquals(FaultReason.SM_FL_NOT_PRESENT.code, s.reason(0));
            assertEquals(0x3000, s.frcdLo(0));
            s.unit.translateAddress(SmFixture.SID, 0x4000, false);
            assertEquals(0, s.frcdHi(1) & Reg.FRCD_HI_PP, "request without PASID: PP = 0");
            assertEquals(FaultReason.SM_SL_PERMISSION.code, s.reason(1));
        }
    }

    @Test
    void pasidTableEntryFpdSuppressesItsFaults() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            s.pasid(PASID, PasidEntry.firstStage(DID, s.flRoot(), false).withFpd(true));
            s.enable();
            assertFalse(s.tr(PASID, 0x1000, false, false).ok());
            assertEquals(0, s.fsts() & Reg.FSTS_PPF);
            assertEquals(1, s.unit.faults().suppressedCount());
        }
    }

    @Test
    void legacyModeBlocksRequestsWithPasid() {
        try (IommuFixture g = IommuFixture.r630()) {
            long pt = g.context(IommuFixture.SID, 1);
            g.tables.map(pt, g.levels(), 0x1000, 0x80_0000, 12, true, true);
            g.enableTranslation();
            assertTrue(g.unit.translate(IommuFixture.SID, RemappingUnit.NO_PASID, 0x1000, RemappingUnit.Access.READ, false,
                    false).ok());
            assertFalse(g.unit.translate(IommuFixture.SID, 9, 0x1000, RemappingUnit.Access.READ, false, false).ok());
            long hi = g.unit.read(g.unit.cap().froBytes() + 8, 8);
            assertEquals(FaultReason.SM_TTM0_PASID.code, (int) ((hi >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF));
        }
    }

    @Test
    void iotlbEntriesOfFirstStageAreTaggedByDomainAndPasid() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl1 = s.flRoot(), fl2 = s.flRoot();
            s.tables.mapFirstStage(fl1, 4, VA, PA, 12, true, true, false);
            s.tables.mapFirstStage(fl2, 4, VA, PA + 0x1000, 12, true, true, false);
            s.pasid(1, PasidEntry.firstStage(DID, fl1, false).withPwsnp(true));
            s.pasid(2, PasidEntry.firstStage(DID, fl2, false).withPwsnp(true));
            s.enable();
            assertEquals(PA, s.tr(1, VA, false, false).hpa());
            assertEquals(PA + 0x1000, s.tr(2, VA, false, false).hpa());
            assertEquals(PA, s.tr(1, VA, false, false).hpa());
            assertEquals(2, s.unit.iotlb().size());
        }
    }

    @Test
    void dmaWithPasidMovesBytesThroughTheFirstStage() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, PA, 12, true, true, false);
            s.tables.mapFirstStage(fl, 4, VA + 0x1000, PA + 0x5000, 12, true, true, false);
            s.pasid(PASID, PasidEntry.firstStage(DID, fl, false).withPwsnp(true));
            s.enable();
            byte[] data = new byte[0x1800];
            for (int i = 0; i < data.length; i++) data[i] = (byte) i;
            assertEquals(data.length, s.write(PASID, VA + 0x800, data));
            assertEquals((byte) 0x00, s.mem.read8(PA + 0x800));
            assertEquals((byte) 0x800 % 256, s.mem.read8(PA + 0x5000));
            byte[] back = new byte[data.length];
            assertEquals(data.length, s.read(PASID, VA + 0x800, back));
            assertArrayEquals(data, back);
            assertEquals(0x800, s.write(PASID, VA + 0x1800, new byte[0x1000]), "stops at the unmapped page");
        }
    }

    @Test
    void translationTableModeTenIsReservedAndBlocksDma() {
        try (SmFixture s = new SmFixture()) {
            s.context(SmFixture.SID, 0);
            s.unit.write(Reg.RTADDR, 8, s.tables.rootTable() | (2L << Reg.RTADDR_TTM_SHIFT));
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            GlobalCommand.set(s.unit, Reg.GCMD_TE, true);
            assertEquals(-1 - FaultReason.SM_ROOT_TABLE_ADDRESS.code, s.unit.translateAddress(SmFixture.SID, 0x1000, false));
        }
    }

    @Test
    void qemuEcapHasNoFirstStageSoPgttFirstStageIsInvalid() {
        try (SmFixture s = SmFixture.qemu()) {
            s.context(SmFixture.SID, SmContextEntry.of(s.pasidDir, 0, 0));
            s.pasid(0, PasidEntry.firstStage(5, s.flRoot(), false));
            s.enable();
            s.unit.translateAddress(SmFixture.SID, 0x1000, false);
            assertEquals(FaultReason.SM_PASID_INVALID.code, s.reason(0));
            assertEquals(Ecap.SMTS.get(s.unit.ecap().raw()), 1);
        }
    }
}

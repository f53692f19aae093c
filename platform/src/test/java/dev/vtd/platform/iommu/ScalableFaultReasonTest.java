package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every scalable-mode fault reason (VT-d spec 7.1.3, codes 0x30-0x90) raised by its cause, one
 * case per code, each the smallest programming that produces it.
 */
class ScalableFaultReasonTest {
    static final int SID = SmFixture.SID;
    static final int DID = 3;
    static final int P = 9;                       // a PASID
    static final long VA = 0x4000_0000L;
    static final long NOT_RAM = 0x1000_0000L;     // below HAW 46, above the 64 MiB of RAM

    record Case(FaultReason expected, ToIntFunction<SmFixture> run) {}

    static final List<Case> CASES = new ArrayList<>();

    static void add(FaultReason r, ToIntFunction<SmFixture> run) {
        CASES.add(new Case(r, run));
    }

    /** An untranslated read with PASID P; returns the reason of the fault it raised. */
    static int read(SmFixture s, int pasid, long addr) {
        s.enable();
        assertFalse(s.unit.translate(SID, pasid, addr, RemappingUnit.Access.READ, false, false).ok());
        return s.lastReason();
    }

    static int access(SmFixture s, int pasid, long addr, boolean write, boolean priv, boolean exec) {
        s.enable();
        assertFalse(s.unit.translate(SID, pasid, addr, write ? RemappingUnit.Access.WRITE : RemappingUnit.Access.READ,
                priv, exec).ok());
        return s.lastReason();
    }

    static PasidEntry fs(SmFixture s, long fl) {
        return PasidEntry.firstStage(DID, fl, false).withPwsnp(true);
    }

    /** A nested PASID entry whose second stage maps GPA [0, 16 MiB) to itself except as given. */
    static long identitySl(SmFixture s) {
        long sl = s.slRoot();
        for (long a = 0; a < 0x100_0000; a += 0x20_0000) s.tables.secondStage().map(sl, 4, a, a, 21, true, true);
        return sl;
    }

    static {
        add(FaultReason.SM_ROOT_TABLE_ADDRESS, s -> {
            s.context(SID, 0);
            s.unit.write(Reg.RTADDR, 8, s.tables.rootTable() | (2L << Reg.RTADDR_TTM_SHIFT));
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            GlobalCommand.set(s.unit, Reg.GCMD_TE, true);
            s.unit.translateAddress(SID, 0, false);
            return s.lastReason();
        });
        add(FaultReason.SM_TTM0_PASID, s -> {
            s.unit.write(Reg.RTADDR, 8, s.tables.rootTable());
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            GlobalCommand.set(s.unit, Reg.GCMD_TE, true);
            s.unit.translate(SID, P, 0, RemappingUnit.Access.READ, false, false);
            return s.lastReason();
        });
        add(FaultReason.SM_TTM0_PAGE_GROUP, s -> {
            s.unit.write(Reg.RTADDR, 8, s.tables.rootTable());
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            GlobalCommand.set(s.unit, Reg.GCMD_TE, true);
            s.unit.pageRequest(SID, P, 0x1000, true, false, false, false, true, 0);
            return s.lastReason();
        });
        add(FaultReason.SM_ROOT_ACCESS, s -> {
            s.unit.write(Reg.RTADDR, 8, NOT_RAM | (1L << Reg.RTADDR_TTM_SHIFT));
            GlobalCommand.oneShot(s.unit, Reg.GCMD_SRTP);
            GlobalCommand.set(s.unit, Reg.GCMD_TE, true);
            s.unit.translateAddress(SID, 0, false);
            return s.lastReason();
        });
        add(FaultReason.SM_ROOT_NOT_PRESENT, s -> read(s, P, VA));
        add(FaultReason.SM_ROOT_RESERVED, s -> {
            s.context(SID, 0);
            long root = s.tables.rootTable() + (SID >>> 8) * 16L;
            s.mem.write64(root, s.mem.read64(root) | 2);
            return read(s, P, VA);
        });
        add(FaultReason.SM_CONTEXT_ACCESS, s -> {
            s.mem.write64(s.tables.rootTable() + (SID >>> 8) * 16L, NOT_RAM | 1);
            return read(s, P, VA);
        });
        add(FaultReason.SM_CONTEXT_NOT_PRESENT, s -> {
            s.context(SID, SmContextEntry.decode(s.pasidDir, 0, 0, 0));
            return read(s, P, VA);
        });
        add(FaultReason.SM_CONTEXT_RESERVED, s -> {
            SmContextEntry ce = SmContextEntry.of(s.pasidDir, 0, 0);
            s.context(SID, SmContextEntry.decode(ce.q0(), ce.q1(), 1, 0));
            return read(s, P, VA);
        });
        add(FaultReason.SM_DTE_CLEAR, s -> {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0).withPasidEnable(true));
            s.pasid(P, fs(s, s.flRoot()));
            s.enable();
            assertFalse(s.unit.translationRequest(SID, P, VA, false, false, false).ok());
            return s.lastReason();
        });
        add(FaultReason.SM_PASIDE_CLEAR, s -> {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0));
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_TOO_LARGE, s -> {
            s.context(SID, 0);
            return read(s, 128 * 64, VA);              // PDTS 0: 128 directory entries of 64 PASIDs
        });
        add(FaultReason.SM_PRE_CLEAR, s -> {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0).withPasidEnable(true));
            s.enable();
            s.unit.pageRequest(SID, P, VA, true, false, false, false, true, 3);
            return s.lastReason();
        });
        add(FaultReason.SM_RID_PASID_ERROR, s -> {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 128 * 64));
            s.enable();
            s.unit.translateAddress(SID, VA, false);
            return s.lastReason();
        });
        add(FaultReason.SM_PASID_DIR_ACCESS, s -> {
            s.context(SID, SmContextEntry.of(NOT_RAM, 0, 0).withPasidEnable(true));
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_DIR_NOT_PRESENT, s -> {
            s.context(SID, 0);
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_DIR_RESERVED, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            s.mem.write64(s.pasidDir, s.mem.read64(s.pasidDir) | 4);
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_ACCESS, s -> {
            s.context(SID, 0);
            s.mem.write64(s.pasidDir, NOT_RAM | 1);
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_NOT_PRESENT, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()).withPresent(false));
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_RESERVED, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            s.mem.write64(s.tables.pasidEntryAddress(s.pasidDir, P) + 24, 1);     // qw3 bit 0
            return read(s, P, VA);
        });
        add(FaultReason.SM_PASID_INVALID, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()).withPgtt(0));
            return read(s, P, VA);
        });
        add(FaultReason.SM_ERE_CLEAR, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            return access(s, P, VA, false, false, true);
        });
        add(FaultReason.SM_SRE_CLEAR, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            return access(s, P, VA, false, true, false);
        });
        add(FaultReason.SM_FL_ACCESS, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, NOT_RAM));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_NOT_PRESENT, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_RESERVED, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.mem.write64(fl + ((VA >>> 39) & 0x1FF) * 8, FlPte.table(s.tables.allocPage(), true, true) | FlPte.PS);
            s.pasid(P, fs(s, fl));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_PML4_ACCESS, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            long flGpa = 0x200_0000L;
            s.tables.secondStage().map(sl, 4, flGpa, NOT_RAM, 12, true, true);
            s.pasid(P, PasidEntry.nested(DID, flGpa, false, sl, 2).withPwsnp(true));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_BEYOND_MGAW_NESTED, s -> {
            s.context(SID, 0);
            s.pasid(P, PasidEntry.nested(DID, 1L << 49, false, identitySl(s), 2).withPwsnp(true));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_PML4_READ_NESTED, s -> {
            s.context(SID, 0);
            s.pasid(P, PasidEntry.nested(DID, 0x200_0000L, false, identitySl(s), 2).withPwsnp(true));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_READ_NESTED, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.mem.write64(fl + ((VA >>> 39) & 0x1FF) * 8, FlPte.table(0x200_0000L, true, true));
            s.pasid(P, PasidEntry.nested(DID, fl, false, identitySl(s), 2).withPwsnp(true));
            return read(s, P, VA);
        });
        add(FaultReason.SM_FL_WRITE_NESTED, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, 0x300_0000L, 12, true, true, false);
            long sl = s.slRoot();
            for (long a = 0; a < 0x100_0000; a += 0x20_0000) s.tables.secondStage().map(sl, 4, a, a, 21, true, false);
            s.tables.secondStage().map(sl, 4, 0x300_0000L, 0x300_0000L, 12, true, true);
            s.pasid(P, PasidEntry.nested(DID, fl, false, sl, 2).withPwsnp(true));
            return read(s, P, VA);                   // A must be set in first-stage entries on read-only pages
        });
        add(FaultReason.SM_SL_ACCESS, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.mem.write64(sl, SlPte.table(NOT_RAM, true, true));
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_SL_PERMISSION, s -> {
            s.context(SID, 0);
            s.pasid(P, PasidEntry.secondStage(DID, s.slRoot(), 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_SL_RESERVED, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.mem.write64(sl, SlPte.table(s.tables.allocPage(), true, true) | SlPte.PS);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_SL_PTR_INVALID, s -> {
            s.context(SID, 0);
            s.pasid(P, PasidEntry.secondStage(DID, NOT_RAM, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_SL_AD_NOSNOOP, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, 0x300_0000L, 12, true, true);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2).withSlade(true));       // PWSNP = 0: walks not snooped
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_NOT_CANONICAL, s -> {
            s.context(SID, 0);
            s.pasid(P, fs(s, s.flRoot()));
            return read(s, P, 0x0000_8000_0000_0000L);
        });
        add(FaultReason.SM_US_CLEAR, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, 0x300_0000L, 12, true, false, false);
            s.pasid(P, fs(s, fl));
            return read(s, P, VA);
        });
        add(FaultReason.SM_NO_EXECUTE, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, 0x300_0000L, 12, true, true, true);
            s.pasid(P, fs(s, fl).withExecute(true, true));
            return access(s, P, VA, false, false, true);
        });
        add(FaultReason.SM_BEYOND_DMA_MAX, s -> {
            s.context(SID, 0);
            s.pasid(P, PasidEntry.secondStage(DID, s.slRoot(), 2));
            return read(s, P, 1L << 50);
        });
        add(FaultReason.SM_SL_BEYOND_MAX, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, 1L << 47, 12, true, true);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_NO_WRITE, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, 0x300_0000L, 12, true, false);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return access(s, P, 0x1000, true, false, false);
        });
        add(FaultReason.SM_NO_READ, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, 0x300_0000L, 12, false, true);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_INTERRUPT_ADDRESS, s -> {
            s.context(SID, 0);
            long sl = s.slRoot();
            s.tables.secondStage().map(sl, 4, 0x1000, 0xFEE0_0000L, 12, true, true);
            s.pasid(P, PasidEntry.secondStage(DID, sl, 2));
            return read(s, P, 0x1000);
        });
        add(FaultReason.SM_FL_AD_NOSNOOP, s -> {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, 0x300_0000L, 12, true, true, false);
            s.pasid(P, PasidEntry.firstStage(DID, fl, false));                   // PWSNP = 0
            return read(s, P, VA);
        });
        add(FaultReason.SM_CONTEXT_INVALID, s -> {
            s.context(SID, SmContextEntry.of(s.pasidDir, 0, 0).withDeviceTlb(true));
            return read(s, P, VA);
        });
    }

    @Test
    void everyScalableModeReasonIsRaisedByItsCause() {
        for (Case c : CASES) {
            Ecap ecap = c.expected() == FaultReason.SM_CONTEXT_INVALID ? SmFixture.ECAP.with(Ecap.DT, 0) : SmFixture.ECAP;
            try (SmFixture s = new SmFixture(SmFixture.CAP, ecap)) {
                assertEquals(c.expected().code, c.run().applyAsInt(s), c.expected().toString());
            }
        }
    }

    @Test
    void theCasesCoverEveryScalableModeCode() {
        TreeSet<Integer> covered = new TreeSet<>();
        for (Case c : CASES) covered.add(c.expected().code);
        for (FaultReason r : FaultReason.values()) {
            if (r.code >= 0x30) assertTrue(covered.contains(r.code), "no case for " + r);
        }
    }

    @Test
    void aFaultRecordCarriesTheRequestsPasidPrivilegeAndExecute() {
        try (SmFixture s = new SmFixture()) {
            s.context(SID, 0);
            long fl = s.flRoot();
            s.tables.mapFirstStage(fl, 4, VA, 0x300_0000L, 12, true, true, true);
            s.pasid(P, fs(s, fl).withExecute(true, true).withSupervisor(true, false));
            access(s, P, VA + 0x10, false, true, true);
            long hi = s.frcdHi(0);
            assertEquals(FaultReason.SM_NO_EXECUTE.code, s.reason(0));
            assertNotEquals(0, hi & Reg.FRCD_HI_PP);
            assertNotEquals(0, hi & Reg.FRCD_HI_EXE);
            assertNotEquals(0, hi & Reg.FRCD_HI_PRIV);
            assertEquals(P, (hi >>> Reg.FRCD_HI_PV_SHIFT) & 0xFFFFF);
            assertEquals(VA, s.frcdLo(0));
        }
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.RemappingUnit.Access;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Register file (VT-d spec 11.4) and primary fault logging (7.3). */
class RegisterAndFaultTest {
    UnitFixture f = new UnitFixture();

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void resetValuesAreArchitected() {
        assertEquals(0x10, f.unit.read(Reg.VER, 4));
        assertEquals(0x8d2078c106f0466L, f.unit.read(Reg.CAP, 8));
        assertEquals(0xf020dfL, f.unit.read(Reg.ECAP, 8));
        assertEquals(0, f.unit.read(Reg.GSTS, 4));
        assertEquals(0, f.unit.read(Reg.FSTS, 4));
        assertEquals(0x8000_0000L, f.unit.read(Reg.FECTL, 4), "FECTL.IM is set at reset");
        assertEquals(0, f.unit.read(Reg.RTADDR, 8));
    }

    @Test
    void capAndEcapAreReadOnly() {
        f.unit.write(Reg.CAP, 8, 0);
        f.unit.write(Reg.ECAP, 4, 0);
        assertEquals(0x8d2078c106f0466L, f.unit.read(Reg.CAP, 8));
        assertEquals(0xf020dfL, f.unit.read(Reg.ECAP, 8));
    }

    @Test
    void gcmdReadsZeroAndGstsSitsInTheUpperDword() {
        f.enable();
        assertEquals(0, f.unit.read(Reg.GCMD, 4));
        assertEquals((long) (Reg.GSTS_TES | Reg.GSTS_RTPS) << 32 & 0xFFFF_FFFF_0000_0000L, f.unit.read(Reg.GCMD, 8));
    }

    @Test
    void sixtyFourBitRegisterWrittenAsTwoDwords() {
        f.unit.write(Reg.RTADDR, 4, 0x0012_3000L);
        f.unit.write(Reg.RTADDR + 4, 4, 0x0000_0001L);
        assertEquals(0x1_0012_3000L, f.unit.read(Reg.RTADDR, 8));
        assertEquals(0x1L, f.unit.read(Reg.RTADDR + 4, 4));
    }

    @Test
    void rtaddrLowBitsAreReservedInLegacyOnlyUnits() {
        f.unit.write(Reg.RTADDR, 8, 0x12_3FFFL);
        assertEquals(0x12_3000L, f.unit.read(Reg.RTADDR, 8));
    }

    @Test
    void faultIsRecordedWithSidFaultInfoTypeAndReason() {
        f.context(UnitFixture.SID + 3, 1, ContextEntry.AW_48);
        f.enable();
        f.unit.translate(UnitFixture.SID + 3, 0x7f00_0123L, Access.READ);
        assertEquals(0x7f00_0000L, f.frcdLo(0));
        long hi = f.frcdHi(0);
        assertEquals(UnitFixture.SID + 3, hi & 0xFFFF);
        assertNotEquals(0, hi & Reg.FRCD_HI_T, "T = 1 for a read");
        assertEquals(FaultReason.PTE_READ.code, f.faultReason(0));
        assertNotEquals(0, hi & Reg.FRCD_HI_F);
        assertEquals(Reg.FSTS_PPF, f.fsts() & 0xFF, "PPF reflects the pending record");
        assertEquals(0, f.fsts() >>> Reg.FSTS_FRI_SHIFT, "FRI names the register of the first pending fault");
    }

    @Test
    void writeFaultHasTypeZero() {
        f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x2000, Access.WRITE);
        assertEquals(0, f.frcdHi(0) & Reg.FRCD_HI_T);
        assertEquals(FaultReason.PTE_WRITE.code, f.faultReason(0));
    }

    @Test
    void faultRecordsRotateThroughNfrRegistersAndOverflowSetsPfo() {
        f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.enable();
        int n = f.unit.cap().faultRecordCount();
        assertEquals(8, n);
        for (int i = 0; i < n; i++) f.unit.translate(UnitFixture.SID, 0x1000L * (i + 1), Access.READ);
        for (int i = 0; i < n; i++) assertEquals(0x1000L * (i + 1), f.frcdLo(i));
        assertEquals(0, f.fsts() & Reg.FSTS_PFO);
        f.unit.translate(UnitFixture.SID, 0x99000, Access.READ);
        assertEquals(Reg.FSTS_PFO, f.fsts() & Reg.FSTS_PFO, "PFO: the register at FRI was still full");
        assertEquals(0x1000L, f.frcdLo(0), "the overflowing fault is dropped");
        // Software clears F of register 0 (RW1C) and PFO; the next fault lands in register 0.
        f.unit.write(f.unit.cap().froBytes() + 12, 4, 0x8000_0000L);
        assertFalse(f.faultPending(0));
        f.unit.write(Reg.FSTS, 4, Reg.FSTS_PFO);
        assertEquals(0, f.fsts() & Reg.FSTS_PFO);
        f.unit.translate(UnitFixture.SID, 0xAB000, Access.READ);
        assertEquals(0xAB000L, f.frcdLo(0));
    }

    @Test
    void whilePfoIsSetNoFaultIsRecordedEvenInAFreeRegisterUntilSoftwareClearsPfo() {
        // 7.3.1: primary fault logging tests FSTS.PFO first.
        f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.enable();
        int n = f.unit.cap().faultRecordCount();
        for (int i = 0; i <= n; i++) f.unit.translate(UnitFixture.SID, 0x1000L * (i + 1), Access.READ);
        assertEquals(Reg.FSTS_PFO, f.fsts() & Reg.FSTS_PFO);
        // Software services register 0 (F cleared) but leaves PFO set: register 0 is free, yet nothing is recorded.
        f.unit.write(f.unit.cap().froBytes() + 12, 4, 0x8000_0000L);
        long fsts = f.fsts(), hi1 = f.frcdHi(1), fectl = f.unit.read(Reg.FECTL, 4);
        f.unit.translate(UnitFixture.SID, 0xCD000, Access.READ);
        assertFalse(f.faultPending(0), "a free register stays free while PFO = 1");
        assertEquals(0x1000L, f.frcdLo(0));
        assertEquals(fsts, f.fsts(), "PPF, FRI and PFO unchanged");
        assertEquals(hi1, f.frcdHi(1));
        assertEquals(fectl, f.unit.read(Reg.FECTL, 4), "no new fault event");
        // Clearing PFO resumes recording at the internal index.
        f.unit.write(Reg.FSTS, 4, Reg.FSTS_PFO);
        f.unit.translate(UnitFixture.SID, 0xEF000, Access.READ);
        assertTrue(f.faultPending(0));
        assertEquals(0xEF000L, f.frcdLo(0));
    }

    @Test
    void friLatchesTheFirstPendingRecordWhilePpfStaysSet() {
        f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x1000, Access.READ);
        f.unit.translate(UnitFixture.SID, 0x2000, Access.READ);
        assertEquals(0, f.fsts() >>> Reg.FSTS_FRI_SHIFT);
        // Software services records 0 and 1; the next fault goes to record 2 and FRI names it.
        f.unit.write(f.unit.cap().froBytes() + 8, 8, Reg.FRCD_HI_F);
        f.unit.write(f.unit.cap().froBytes() + 24, 8, Reg.FRCD_HI_F);
        f.unit.translate(UnitFixture.SID, 0x3000, Access.READ);
        assertEquals(2, f.fsts() >>> Reg.FSTS_FRI_SHIFT);
        assertEquals(0x3000L, f.frcdLo(2));
    }

    @Test
    void fpdSuppressesRecording() {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48).withFpd(true));
        f.enable();
        assertEquals(FaultReason.PTE_READ, f.unit.translate(UnitFixture.SID, 0x1000, Access.READ).fault());
        assertFalse(f.faultPending(0));
        assertEquals(0, f.fsts());
        assertEquals(1, f.unit.faults().suppressedCount());
    }

    @Test
    void unmaskedFaultEventSendsFeMessageAndClearsIp() {
        f.unit.write(Reg.FEDATA, 4, 0x4055);
        f.unit.write(Reg.FEADDR, 4, 0xFEE0_2000L);
        f.unit.write(Reg.FECTL, 4, 0);
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x1000, Access.READ);
        assertEquals(0, f.unit.read(Reg.FECTL, 4), "event sent, IP cleared");
        assertEquals(1, f.irq.count());
        assertEquals(0x55, f.irq.delivered().getFirst().vector());
        assertEquals(2, f.irq.delivered().getFirst().destination());
        // A second fault while PPF is still set raises no new event (7.3.1).
        f.unit.translate(UnitFixture.SID, 0x2000, Access.READ);
        assertEquals(1, f.irq.count());
    }

    @Test
    void maskedFaultEventSetsIpAndUnmaskingSendsIt() {
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x1000, Access.READ);
        assertEquals(0xC000_0000L, f.unit.read(Reg.FECTL, 4), "IM and IP");
        assertEquals(0, f.irq.count());
        f.unit.write(Reg.FECTL, 4, 0);
        assertEquals(0, f.unit.read(Reg.FECTL, 4));
        assertEquals(1, f.irq.count());
    }

    @Test
    void clearingEveryPendingFaultClearsIp() {
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x1000, Access.READ);
        assertEquals(0xC000_0000L, f.unit.read(Reg.FECTL, 4));
        f.unit.write(f.unit.cap().froBytes() + 8, 8, Reg.FRCD_HI_F);
        assertEquals(0x8000_0000L, f.unit.read(Reg.FECTL, 4));
        assertEquals(0, f.fsts() & Reg.FSTS_PPF);
    }

    @Test
    void frcdFieldsOtherThanFAreReadOnly() {
        f.enable();
        f.unit.translate(UnitFixture.SID, 0x1000, Access.READ);
        long before = f.frcdHi(0);
        f.unit.write(f.unit.cap().froBytes() + 8, 8, 0x7FFF_FFFF_FFFF_FFFFL);
        assertEquals(before, f.frcdHi(0));
        f.unit.write(f.unit.cap().froBytes(), 8, 0);
        assertEquals(0x1000, f.frcdLo(0));
    }

    @Test
    void linuxFaultLineFormat() {
        f.enable();
        f.unit.translate(0x0103, 0x7f00_0000L, Access.READ);
        var fault = f.unit.faults().history().getFirst();
        assertEquals("DMAR: [DMA Read NO_PASID] Request device [01:00.3] fault addr 0x7f000000 [fault reason 0x01] "
                + "Present bit in root entry is clear", fault.linuxLine());
    }

    @Test
    void pmrBlocksUntranslatedDmaIntoTheProtectedLowRegion() {
        f.mem.write64(0x40_0000, 0x1111);
        f.unit.write(Reg.PLMBASE, 4, 0x40_0000);
        f.unit.write(Reg.PLMLIMIT, 4, 0x40_0000);       // limit: the 2 MiB granule at 4 MiB
        f.unit.write(Reg.PMEN, 4, Reg.PMEN_EPM);
        assertEquals(Reg.PMEN_EPM | Reg.PMEN_PRS, (int) f.unit.read(Reg.PMEN, 4));
        byte[] b = new byte[8];
        assertFalse(f.unit.writeFully(UnitFixture.SID, 0x5F_FFF8, b), "inside the region");
        assertEquals(0x1111, f.mem.read64(0x40_0000));
        assertTrue(f.unit.writeFully(UnitFixture.SID, 0x60_0000, b), "just above the limit");
        assertFalse(f.faultPending(0), "PMR violations are not recorded faults");
    }

    @Test
    void pmrDoesNotApplyToRemappedRequests() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x40_0000, 12, true, true);
        f.unit.write(Reg.PLMBASE, 4, 0x40_0000);
        f.unit.write(Reg.PLMLIMIT, 4, 0x40_0000);
        f.unit.write(Reg.PMEN, 4, Reg.PMEN_EPM);
        f.enable();
        assertTrue(f.unit.writeInt(UnitFixture.SID, 0x1000, 0x2222));
        assertEquals(0x2222, f.mem.read32(0x40_0000));
    }

    @Test
    void pmrRegistersIgnoredWithoutPlmrPhmr() {
        Cap cap = UnitFixture.R630_CAP.with(Cap.PLMR, 0).with(Cap.PHMR, 0);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(cap, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            q.unit.write(Reg.PLMBASE, 4, 0x40_0000);
            q.unit.write(Reg.PMEN, 4, Reg.PMEN_EPM);
            assertEquals(0, q.unit.read(Reg.PLMBASE, 4));
            assertEquals(0, q.unit.read(Reg.PMEN, 4));
        }
    }

    @Test
    void accessesOutsideTheRegisterBlockReadOnesAndNeverThrow() {
        assertEquals(0xFFFF_FFFFL, f.unit.read(0x10_0000, 4));
        f.unit.write(-8, 8, 1);
        assertEquals(0, f.unit.read(0x300, 4), "undecoded offsets inside the block read 0");
    }
}

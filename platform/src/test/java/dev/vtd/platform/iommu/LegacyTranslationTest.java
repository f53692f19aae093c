package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.RemappingUnit.Access;
import dev.vtd.platform.iommu.RemappingUnit.Translation;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.RootEntry;
import dev.vtd.platform.iommu.tables.SlPte;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Legacy-mode DMA remapping rules (VT-d spec 3.4-3.7, 9.1, 9.3, 9.8), one test per rule. */
class LegacyTranslationTest {
    UnitFixture f = new UnitFixture();

    @AfterEach
    void close() {
        f.close();
    }

    private Translation tr(long iova, Access a) {
        return f.unit.translate(UnitFixture.SID, iova, a);
    }

    @Test
    void withTranslationDisabledDmaPassesUntranslated() {
        f.mem.write64(0x80_0000, 0x1122334455667788L);
        byte[] b = new byte[8];
        assertTrue(f.unit.readFully(UnitFixture.SID, 0x80_0000, b));
        assertEquals((byte) 0x88, b[0]);
        assertEquals(0, f.unit.gsts() & Reg.GSTS_TES);
    }

    @Test
    void srtpLatchesRootTableAndTeSetsTes() {
        f.enable();
        assertEquals(Reg.GSTS_TES | Reg.GSTS_RTPS, (int) f.unit.read(Reg.GSTS, 4));
        assertEquals(f.tables.rootTable(), f.unit.rootTableAddress());
        // Writing RTADDR again does not change the active root table until the next SRTP.
        f.unit.write(Reg.RTADDR, 8, 0x20_0000);
        assertEquals(f.tables.rootTable(), f.unit.rootTableAddress());
    }

    @Test
    void fourLevelWalkTranslatesToThePageTheLeafNames() {
        long pt = f.context(UnitFixture.SID, 5, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x7f00_0000_0000L, 0x80_0000, 12, true, true);
        f.enable();
        Translation t = tr(0x7f00_0000_0123L, Access.WRITE);
        assertTrue(t.ok());
        assertEquals(0x80_0123, t.hpa());
        assertEquals(5, t.domainId());
        assertEquals(4096, t.pageSize());
    }

    @Test
    void threeLevelWalkWhenAwSelects39Bits() {
        try (UnitFixture q = UnitFixture.withCap(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP)) {
            long pt = q.context(0x20, 1, ContextEntry.AW_39);
            q.tables.map(pt, 3, 0x1234_5000L, 0x90_0000, 12, true, false);
            q.enable();
            assertEquals(0x90_0abcL, q.unit.translateAddress(0x20, 0x1234_5abcL, false));
        }
    }

    @Test
    void fiveLevelWalkWhenSagawAdvertisesIt() {
        Cap cap = UnitFixture.R630_CAP.with(Cap.SAGAW, 0xE).with(Cap.MGAW, 56);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(cap, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            long pt = q.context(UnitFixture.SID, 2, ContextEntry.AW_57);
            long iova = 0x00AB_CDEF_1234_5000L;
            q.tables.map(pt, 5, iova, 0xA0_0000, 12, true, true);
            q.enable();
            assertEquals(0xA0_0010L, q.unit.translateAddress(UnitFixture.SID, iova + 0x10, true));
        }
    }

    @Test
    void twoMegabytePageWhenSllpsAllows() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x4000_0000L, 0x20_0000, 21, true, true);
        f.enable();
        Translation t = tr(0x401F_FFC0L, Access.READ);
        assertTrue(t.ok());
        assertEquals(0x3F_FFC0L, t.hpa());
        assertEquals(2L << 20, t.pageSize());
    }

    @Test
    void oneGigabytePageWhenSllpsAllows() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x80_0000_0000L, 0, 30, true, true);
        f.enable();
        assertEquals(0x123_4567L, f.unit.translateAddress(UnitFixture.SID, 0x80_0123_4567L, false));
    }

    @Test
    void largePageWithoutSllpsSupportIsReservedFault0xC() {
        Cap cap = UnitFixture.R630_CAP.with(Cap.SLLPS, 0);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(cap, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            long pt = q.context(UnitFixture.SID, 1, ContextEntry.AW_48);
            q.tables.map(pt, 4, 0x4000_0000L, 0x20_0000, 21, true, true);
            q.enable();
            assertEquals(FaultReason.PTE_RESERVED, q.unit.translate(UnitFixture.SID, 0x4000_0000L, Access.READ).fault());
            assertEquals(0x0C, q.faultReason(0));
        }
    }

    @Test
    void psInPml4eIsReserved() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.mem.write64(pt, SlPte.leaf(0, true, true, true));
        f.enable();
        assertEquals(FaultReason.PTE_RESERVED, tr(0x1000, Access.READ).fault());
    }

    @Test
    void misalignedLargePageAddressIsReserved() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        long leaf = f.tables.map(pt, 4, 0x4000_0000L, 0x20_0000, 21, true, true);
        f.mem.write64(leaf, f.mem.read64(leaf) | 0x1000);
        f.enable();
        assertEquals(FaultReason.PTE_RESERVED, tr(0x4000_0000L, Access.READ).fault());
    }

    @Test
    void addressBitsAboveHostAddressWidthInPteAreReserved() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 1L << 46, 12, true, true);
        f.enable();
        assertEquals(FaultReason.PTE_RESERVED, tr(0x1000, Access.READ).fault());
    }

    @Test
    void snpInLeafIsReservedWithoutSnoopControl() {
        try (UnitFixture q = UnitFixture.withCap(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP)) {
            long pt = q.context(0x20, 1, ContextEntry.AW_39);
            long leaf = q.tables.map(pt, 3, 0x1000, 0x90_0000, 12, true, true);
            q.mem.write64(leaf, q.mem.read64(leaf) | SlPte.SNP);
            q.enable();
            assertEquals(FaultReason.PTE_RESERVED, q.unit.translate(0x20, 0x1000, Access.READ).fault());
        }
        // The R630 has ECAP.SC = 1: SNP is a valid leaf bit there.
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        long leaf = f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.mem.write64(leaf, f.mem.read64(leaf) | SlPte.SNP);
        f.enable();
        assertTrue(tr(0x1000, Access.READ).ok());
    }

    @Test
    void permissionIsTheAndOfEveryLevel() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        // Clear W in the PML4E: the leaf's W no longer grants writes.
        f.mem.write64(pt, f.mem.read64(pt) & ~SlPte.W);
        f.enable();
        assertTrue(tr(0x1000, Access.READ).ok());
        assertEquals(FaultReason.PTE_WRITE, tr(0x1000, Access.WRITE).fault());
    }

    @Test
    void writeToReadOnlyPageIsFault0x5AndReadOfWriteOnlyIs0x6() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, false);
        f.tables.map(pt, 4, 0x2000, 0x91_0000, 12, false, true);
        f.enable();
        assertEquals(FaultReason.PTE_WRITE, tr(0x1000, Access.WRITE).fault());
        assertEquals(FaultReason.PTE_READ, tr(0x2000, Access.READ).fault());
    }

    @Test
    void notPresentEntryFaultsByRequestType() {
        f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.enable();
        assertEquals(FaultReason.PTE_WRITE, tr(0x5000, Access.WRITE).fault());
        assertEquals(FaultReason.PTE_READ, tr(0x5000, Access.READ).fault());
    }

    @Test
    void rootEntryNotPresentIsFault0x1() {
        f.enable();
        assertEquals(FaultReason.ROOT_NOT_PRESENT, tr(0x1000, Access.READ).fault());
        assertEquals(0x01, f.faultReason(0));
    }

    @Test
    void contextEntryNotPresentIsFault0x2() {
        f.context(0x0200, 1, ContextEntry.AW_48);   // bus 2 has a context table, bus 1 too after this:
        f.tables.setContext(UnitFixture.SID + 1, ContextEntry.translated(1, 0x20_0000, ContextEntry.AW_48));
        f.enable();
        assertEquals(FaultReason.CONTEXT_NOT_PRESENT, tr(0x1000, Access.READ).fault());
    }

    @Test
    void unsupportedAwIsInvalidContextFault0x3() {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_39)); // R630: 4-level only
        f.enable();
        assertEquals(FaultReason.CONTEXT_INVALID, tr(0x1000, Access.READ).fault());
    }

    @Test
    void reservedTranslationTypeIsInvalidContextFault0x3() {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48).withTranslationType(3));
        f.enable();
        assertEquals(FaultReason.CONTEXT_INVALID, tr(0x1000, Access.READ).fault());
    }

    @Test
    void passThroughWithoutEcapPtIsInvalidContext() {
        Ecap noPt = UnitFixture.R630_ECAP.with(Ecap.PT, 0);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(UnitFixture.R630_CAP, noPt).withHostAddressWidth(46))) {
            q.tables.setContext(UnitFixture.SID, ContextEntry.passThrough(1, ContextEntry.AW_48));
            q.enable();
            assertEquals(FaultReason.CONTEXT_INVALID, q.unit.translate(UnitFixture.SID, 0x1000, Access.READ).fault());
        }
    }

    @Test
    void passThroughContextTranslatesOneToOne() {
        f.tables.setContext(UnitFixture.SID, ContextEntry.passThrough(1, ContextEntry.AW_48));
        f.enable();
        assertEquals(0x12_3456L, f.unit.translateAddress(UnitFixture.SID, 0x12_3456L, true));
    }

    @Test
    void addressAboveContextAgawIsFault0x4() {
        try (UnitFixture q = UnitFixture.withCap(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP)) {
            q.context(0x20, 1, ContextEntry.AW_39);
            q.enable();
            assertEquals(FaultReason.ADDRESS_BEYOND_MGAW, q.unit.translate(0x20, 1L << 39, Access.READ).fault());
        }
    }

    @Test
    void nextTableOutsideMemoryIsFault0x7() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.mem.write64(pt, SlPte.table(0x100_0000_0000L, true, true)); // 1 TiB: no RAM there, below HAW
        f.enable();
        assertEquals(FaultReason.NEXT_TABLE_INVALID, tr(0x1000, Access.READ).fault());
    }

    @Test
    void rootTableOutsideMemoryIsFault0x8() {
        f.unit.write(Reg.RTADDR, 8, 0x100_0000_0000L);
        f.unit.write(Reg.GCMD, 4, Reg.GCMD_SRTP);
        f.unit.write(Reg.GCMD, 4, Reg.GCMD_TE);
        assertEquals(FaultReason.ROOT_TABLE_INVALID, tr(0x1000, Access.READ).fault());
    }

    @Test
    void contextTableOutsideMemoryIsFault0x9() {
        long root = f.tables.rootTable();
        f.mem.write64(root + 16 * (UnitFixture.SID >>> 8), RootEntry.of(0x100_0000_0000L).lo());
        f.enable();
        assertEquals(FaultReason.CONTEXT_TABLE_INVALID, tr(0x1000, Access.READ).fault());
    }

    @Test
    void reservedBitInRootEntryIsFault0xA() {
        long root = f.tables.rootTable();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, f.tables.allocPage(), ContextEntry.AW_48));
        long addr = root + 16 * (UnitFixture.SID >>> 8);
        f.mem.write64(addr + 8, 1L << 40);
        f.enable();
        assertEquals(FaultReason.ROOT_RESERVED, tr(0x1000, Access.READ).fault());
    }

    @Test
    void reservedBitInContextEntryIsFault0xB() {
        f.tables.setContext(UnitFixture.SID,
                ContextEntry.decode(ContextEntry.translated(1, f.tables.allocPage(), ContextEntry.AW_48).lo() | (1L << 5),
                        ContextEntry.translated(1, 0, ContextEntry.AW_48).hi()));
        f.enable();
        assertEquals(FaultReason.CONTEXT_RESERVED, tr(0x1000, Access.READ).fault());
    }

    @Test
    void translationRequestToUntranslatedOnlyContextIsFault0xD() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.enable();
        assertEquals(FaultReason.TRANSLATION_BLOCKED, f.unit.translationRequest(UnitFixture.SID, 0x1000, false).fault());
        assertEquals(0x0D, f.faultReason(0));
        assertEquals(1, (f.frcdHi(0) >>> Reg.FRCD_HI_AT_SHIFT) & 3, "FRCD.AT = 01b for a translation request");
    }

    @Test
    void translationRequestWithDeviceTlbContextReturnsPermissionsWithoutFault() {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48)
                .withTranslationType(ContextEntry.TT_DEVICE_TLB));
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, false);
        f.enable();
        Translation t = f.unit.translationRequest(UnitFixture.SID, 0x1000, true);
        assertTrue(t.ok());
        assertEquals(0x90_0000, t.hpa());
        assertTrue(t.read());
        assertFalse(t.write());
        Translation missing = f.unit.translationRequest(UnitFixture.SID, 0x7000, false);
        assertFalse(missing.read() || missing.write());
        assertFalse(f.faultPending(0), "page-level conditions of translation requests are not recorded");
    }

    @Test
    void zeroLengthReadOfWriteOnlyPageFollowsZlr() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, false, true);
        f.enable();
        assertTrue(tr(0x1000, Access.ZERO_LENGTH_READ).ok(), "CAP.ZLR = 1 allows it");
        Cap noZlr = UnitFixture.R630_CAP.with(Cap.ZLR, 0);
        try (UnitFixture q = new UnitFixture(RemappingUnit.Config.of(noZlr, UnitFixture.R630_ECAP).withHostAddressWidth(46))) {
            long p = q.context(UnitFixture.SID, 1, ContextEntry.AW_48);
            q.tables.map(p, 4, 0x1000, 0x90_0000, 12, false, true);
            q.enable();
            assertEquals(FaultReason.PTE_READ, q.unit.translate(UnitFixture.SID, 0x1000, Access.ZERO_LENGTH_READ).fault());
        }
    }

    @Test
    void dmaSplitsAtPageBoundariesAndCopiesThroughEachTranslation() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.tables.map(pt, 4, 0x2000, 0xA0_0000, 12, true, true);
        f.enable();
        byte[] data = new byte[0x100];
        for (int i = 0; i < data.length; i++) data[i] = (byte) i;
        assertTrue(f.unit.writeFully(UnitFixture.SID, 0x1F80, data));
        assertEquals((byte) 0, f.mem.read8(0x90_0F80));
        assertEquals((byte) 0x7F, f.mem.read8(0x90_0FFF));
        assertEquals((byte) 0x80, f.mem.read8(0xA0_0000));
        byte[] back = new byte[0x100];
        assertTrue(f.unit.readFully(UnitFixture.SID, 0x1F80, back));
        assertArrayEquals(data, back);
    }

    @Test
    void dmaStopsAtTheFirstBlockedPageAndReportsBytesDone() {
        long pt = f.context(UnitFixture.SID, 1, ContextEntry.AW_48);
        f.tables.map(pt, 4, 0x1000, 0x90_0000, 12, true, true);
        f.enable();
        byte[] data = new byte[0x2000];
        long done = f.unit.write(UnitFixture.SID, 0x1800, java.lang.foreign.MemorySegment.ofArray(data), 0, data.length);
        assertEquals(0x800, done);
        assertEquals(FaultReason.PTE_WRITE.code, f.faultReason(0));
        assertEquals(0x2000, f.frcdLo(0), "FI is the page of the first blocked byte");
    }

    @Test
    void msiWriteIsAnInterruptRequestNotDma() {
        f.enable();
        assertTrue(f.unit.writeInt(UnitFixture.SID, 0xFEE0_1000L, 0x4041));
        assertEquals(1, f.irq.count());
        assertEquals(1, f.irq.delivered().getFirst().destination());
        assertEquals(0x41, f.irq.delivered().getFirst().vector());
        assertFalse(f.faultPending(0), "interrupt requests are not subject to DMA remapping");
    }
}

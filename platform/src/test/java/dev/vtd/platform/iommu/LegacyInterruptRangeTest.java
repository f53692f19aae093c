package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.RemappingUnit.Access;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Legacy mode, 7.1.3 reason 0Eh: an untranslated request or translation request whose translation yields an
 * address in the interrupt range 0xFEE0_0000-0xFEEF_FFFF is blocked (it never reaches memory and never becomes an
 * interrupt), recorded as a fault qualified by FPD, also when the translation comes from the IOTLB; the check is on
 * the translated address itself, not on the whole (large) page.
 */
class LegacyInterruptRangeTest {
    static final long IOVA = 0x10_0000L;

    private static long context(UnitFixture f, boolean fpd) {
        long pt = f.tables.allocPage();
        f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48).withFpd(fpd));
        return pt;
    }

    @Test
    void aDmaWriteThatTranslatesIntoTheInterruptRangeIsBlockedWithReason0EhAndIsNoInterrupt() {
        try (UnitFixture f = new UnitFixture()) {
            f.tables.map(context(f, false), 4, IOVA, RemappingUnit.INTERRUPT_RANGE_BASE, 12, true, true);
            f.enable();
            byte[] msi = {0x41, 0, 0, 0};
            assertEquals(0, f.unit.write(UnitFixture.SID, IOVA, MemorySegment.ofArray(msi), 0, 4));
            assertTrue(f.irq.delivered().isEmpty(), "never becomes an interrupt");
            assertEquals(0x0E, f.faultReason(0));
            assertEquals(IOVA, f.frcdLo(0));
            assertEquals(0, f.frcdHi(0) & Reg.FRCD_HI_T, "a write");
            assertEquals("Unknown", FaultReason.linuxText(0x0E), "Linux's reason table ends at 0Dh");
        }
    }

    @Test
    void theIotlbHitIsCheckedToo() {
        try (UnitFixture f = new UnitFixture()) {
            f.tables.map(context(f, false), 4, IOVA, RemappingUnit.INTERRUPT_RANGE_BASE + 0x5000, 12, true, true);
            f.enable();
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translate(UnitFixture.SID, IOVA, Access.READ).fault());
            long walks = f.unit.stats().walks();
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translate(UnitFixture.SID, IOVA + 8, Access.READ).fault());
            assertEquals(walks, f.unit.stats().walks(), "served from the IOTLB");
            assertTrue(f.faultPending(1), "recorded again");
            assertEquals(0x0E, f.faultReason(1));
        }
    }

    @Test
    void fpdSuppressesTheRecordButTheRequestStaysBlocked() {
        try (UnitFixture f = new UnitFixture()) {
            f.tables.map(context(f, true), 4, IOVA, RemappingUnit.INTERRUPT_RANGE_BASE, 12, true, true);
            f.enable();
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translate(UnitFixture.SID, IOVA, Access.WRITE).fault());
            assertFalse(f.faultPending(0));
            assertEquals(0, f.fsts() & Reg.FSTS_PPF);
        }
    }

    @Test
    void theTranslatedAddressItselfIsCheckedNotTheWholeLargePage() {
        try (UnitFixture f = new UnitFixture()) {
            // A 2 MiB page at 0xFEE0_0000 covers 0xFEE0_0000-0xFEFF_FFFF: only its first MiB is the interrupt range.
            f.tables.map(context(f, false), 4, 0x4000_0000L, RemappingUnit.INTERRUPT_RANGE_BASE, 21, true, true);
            f.enable();
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translate(UnitFixture.SID, 0x4000_0000L, Access.READ).fault());
            RemappingUnit.Translation above = f.unit.translate(UnitFixture.SID, 0x4010_0000L, Access.READ);
            assertTrue(above.ok(), "0xFEF0_0000 is outside the interrupt range");
            assertEquals(0xFEF0_0000L, above.hpa());
            // and the first MiB stays blocked after the page was used (no most-recently-used shortcut)
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translate(UnitFixture.SID, 0x400F_F000L, Access.READ).fault());
        }
    }

    @Test
    void aTranslationRequestIntoTheInterruptRangeIsBlockedWith0EhRecordedAsATranslationRequest() {
        try (UnitFixture f = new UnitFixture()) {
            long pt = f.tables.allocPage();
            f.tables.setContext(UnitFixture.SID, ContextEntry.translated(1, pt, ContextEntry.AW_48)
                    .withTranslationType(ContextEntry.TT_DEVICE_TLB));
            f.tables.map(pt, 4, IOVA, RemappingUnit.INTERRUPT_RANGE_BASE, 12, true, true);
            f.enable();
            assertEquals(FaultReason.INTERRUPT_ADDRESS, f.unit.translationRequest(UnitFixture.SID, IOVA, false).fault());
            assertEquals(0x0E, f.faultReason(0));
            assertEquals(1L, (f.frcdHi(0) >>> Reg.FRCD_HI_AT_SHIFT) & 3, "AT = 01b: translation request");
        }
    }

    @Test
    void aDmaReadFromBelowStopsWhereItsOutputWouldEnterTheInterruptRange() {
        try (UnitFixture f = new UnitFixture()) {
            long pt = context(f, false);
            // IOVA 0x100000-0x101FFF -> PA 0x2000_0000 and then into the interrupt range
            f.tables.map(pt, 4, IOVA, 0x20_0000L, 12, true, true);
            f.tables.map(pt, 4, IOVA + 0x1000, RemappingUnit.INTERRUPT_RANGE_BASE, 12, true, true);
            f.enable();
            byte[] buf = new byte[0x2000];
            assertEquals(0x1000, f.unit.read(UnitFixture.SID, IOVA, MemorySegment.ofArray(buf), 0, buf.length));
            assertEquals(0x0E, f.faultReason(0));
        }
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.InterruptRecorder.Delivered;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IecInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.ir.MsiMessage;
import dev.vtd.platform.iommu.ir.PostedInterruptDescriptor;
import dev.vtd.platform.iommu.regs.Reg;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.vtd.platform.iommu.IommuFixture.SID;
import static org.junit.jupiter.api.Assertions.*;

/** Interrupt remapping (VT-d spec chapter 5, 9.10-9.12): one test per rule and fault reason. */
class InterruptRemappingTest {
    IommuFixture f = IommuFixture.qemu();

    @AfterEach
    void close() {
        f.close();
    }

    private static Irte toApic(int apicId, int vector) {
        return Irte.remapped(vector, Irte.xapicDestination(apicId), false, false, false, 0);
    }

    private void msi(int handle) {
        MsiMessage m = MsiMessage.remappable(handle, false, 0);
        f.msi(SID, m.address(), m.data());
    }

    private void assertFault(FaultReason reason, int index) {
        assertTrue(f.faultPending(0), "fault recorded");
        assertEquals(reason.code, f.faultReason(0));
        assertEquals((long) index << 48, f.frcdLo(0), "FI = index << 48");
        assertEquals(SID, f.frcdHi(0) & 0xFFFF);
        assertEquals(0, f.recorder.count(), "nothing delivered");
    }

    @Test
    void qemuS22IrtaSirtpIreHandshakeAndNotPresentIrteFault() {
        assertEquals(0x03000000, f.irt.enable(f.unit, false));
        assertEquals(0x120007, f.reg64(Reg.IRTA));
        msi(5);
        assertFault(FaultReason.IR_IRTE_NOT_PRESENT, 5);
        assertEquals("DMAR: [INTR-REMAP] Request device [00:04.0] fault index 0x5 [fault reason 0x22] "
                + "Present field in the IRTE entry is clear", f.unit.faults().history().getFirst().linuxLine());
    }

    @Test
    void withoutIreInterruptsPassUnchanged() {
        f.irt.set(5, toApic(2, 0x40));
        f.msi(SID, 0xFEE01000L, 0x31);
        assertEquals(1, f.apic(1).accepted().size());
        assertEquals(0x31, f.apic(1).accepted().getFirst().vector());
    }

    @Test
    void remappedMsiTakesVectorDestinationAndModesFromTheIrte() {
        f.irt.set(5, Irte.remapped(0x40, Irte.xapicDestination(2), false, false, true, 0));
        f.irt.enable(f.unit, false);
        msi(5);
        List<LocalApic.Accepted> got = f.apic(2).accepted();
        assertEquals(1, got.size());
        assertEquals(0x40, got.getFirst().vector());
        assertTrue(got.getFirst().levelTriggered());
        assertEquals(0, f.apic(0).accepted().size());
    }

    @Test
    void subhandleIsAddedToTheHandleWhenShvIsSet() {
        f.irt.set(7, toApic(3, 0x45));
        f.irt.enable(f.unit, false);
        MsiMessage m = MsiMessage.remappable(4, true, 3);
        f.msi(SID, m.address(), m.data());
        assertEquals(0x45, f.apic(3).accepted().getFirst().vector());
    }

    @Test
    void handleBit15ComesFromAddressBit2() {
        MsiMessage m = MsiMessage.remappable(0x8005, false, 0);
        assertEquals(0xFEE000B4L, m.address());
        assertEquals(0x8005, m.handle());
    }

    @Test
    void x2apicDestinationUsesAll32BitsWithEime() {
        try (IommuFixture g = IommuFixture.r630()) {
            LocalApic big = g.fabric.addLocalApic(LocalApic.x2apic(0x1_0002));
            g.irt.set(1, Irte.remapped(0x50, 0x1_0002, false, false, false, 0));
            g.irt.enable(g.unit, true);
            assertNotEquals(0, g.reg64(Reg.IRTA) & InterruptRemappingUnit.IRTA_EIME);
            MsiMessage m = MsiMessage.remappable(1, false, 0);
            g.msi(SID, m.address(), m.data());
            assertEquals(0x50, big.accepted().getFirst().vector());
            assertEquals(0x1_0002, g.recorder.delivered().getFirst().destination());
        }
    }

    @Test
    void eimeIsNotWritableWithoutEcapEim() {
        f.unit.write(Reg.IRTA, 8, IommuFixture.IRT_BASE | InterruptRemappingUnit.IRTA_EIME | 3);
        assertEquals(IommuFixture.IRT_BASE | 3, f.reg64(Reg.IRTA));
    }

    // ---- faults 0x20-0x26 ----------------------------------------------------------------------

    @Test
    void reservedDataBitsWithSubhandleValidAreFault0x20() {
        f.irt.set(5, toApic(1, 0x40));
        f.irt.enable(f.unit, false);
        f.msi(SID, MsiMessage.remappable(5, true, 0).address(), 0x1_0000);
        assertFault(FaultReason.IR_REQUEST_RESERVED, 5);
    }

    @Test
    void dataBitsAreIgnoredWithoutSubhandleValid() {
        f.irt.set(5, toApic(1, 0x40));
        f.irt.enable(f.unit, false);
        f.msi(SID, MsiMessage.remappable(5, false, 0).address(), 0xABCD_0031);
        assertEquals(0x40, f.apic(1).accepted().getFirst().vector());
    }

    @Test
    void indexBeyondTableSizeIsFault0x21() {
        f.irt.enable(f.unit, false);                          // S = 7: 256 entries
        msi(256);
        assertFault(FaultReason.IR_INDEX_TOO_LARGE, 256);
    }

    @Test
    void tableOutsideMemoryIsFault0x23() {
        f.unit.write(Reg.IRTA, 8, 0x3000_0000L | 7);
        GlobalCommand.oneShot(f.unit, Reg.GCMD_SIRTP);
        GlobalCommand.set(f.unit, Reg.GCMD_IRE, true);
        msi(3);
        assertFault(FaultReason.IR_TABLE_ACCESS, 3);
    }

    @Test
    void reservedBitsInTheIrteAreFault0x24() {
        Irte ok = toApic(1, 0x40);
        long[][] bad = {
                {ok.rawLo() | (1L << 12), 0},                                   // bits 14:12 of remapped format
                {ok.rawLo() | (1L << 24), 0},                                   // bits 31:24
                {ok.rawLo() | (1L << 32), 0},                                   // DST[7:0] with EIME = 0
                {ok.rawLo() | (1L << 50), 0},                                   // DST[31:16] with EIME = 0
                {ok.rawLo(), 1L << 20},                                         // high qword 127:84
                {ok.rawLo(), 3L << Irte.HI_SVT_SHIFT},                          // SVT = 11b
                {Irte.postedEntry(0x40, 0x6_0000, false).rawLo(), 0},           // IM = 1 without CAP.PI
        };
        for (long[] e : bad) {
            try (IommuFixture g = IommuFixture.qemu()) {
                g.irt.setRaw(9, e[0], e[1]);
                g.irt.enable(g.unit, false);
                MsiMessage m = MsiMessage.remappable(9, false, 0);
                g.msi(SID, m.address(), m.data());
                String what = String.format("IRTE 0x%x 0x%x", e[1], e[0]);
                assertTrue(g.faultPending(0), what);
                assertEquals(FaultReason.IR_IRTE_RESERVED.code, g.faultReason(0), what);
                assertEquals(0, g.recorder.count(), what);
            }
        }
    }

    @Test
    void compatibilityFormatIsBlockedWithFault0x25UnlessCfis() {
        f.irt.enable(f.unit, false);
        f.msi(SID, 0xFEE01000L, 0x31);
        assertFault(FaultReason.IR_COMPAT_BLOCKED, 0);
        assertEquals(Reg.GSTS_CFIS, GlobalCommand.set(f.unit, Reg.GCMD_CFI, true) & Reg.GSTS_CFIS);
        f.msi(SID, 0xFEE01000L, 0x31);
        assertEquals(0x31, f.apic(1).accepted().getFirst().vector());
    }

    @Test
    void compatibilityFormatIsAlwaysBlockedInExtendedInterruptMode() {
        try (IommuFixture g = IommuFixture.r630()) {
            g.irt.enable(g.unit, true);
            GlobalCommand.set(g.unit, Reg.GCMD_CFI, true);
            g.msi(SID, 0xFEE01000L, 0x31);
            assertEquals(FaultReason.IR_COMPAT_BLOCKED.code, g.faultReason(0));
            assertEquals(0, g.recorder.count());
        }
    }

    @Test
    void requesterIdMismatchIsFault0x26() {
        f.irt.set(5, toApic(1, 0x40).withSourceValidation(Irte.SVT_SID, 0, 0x0028));
        f.irt.enable(f.unit, false);
        msi(5);
        assertFault(FaultReason.IR_SID_MISMATCH, 5);
    }

    @Test
    void sourceQualifierMasksFunctionBits() {
        // SID 00:04.0 (0x20) against IRTE SID 0x27 (00:04.7): differs in bits 2:0.
        int[][] cases = {{0, 0}, {1, 0}, {2, 0}, {3, 1}};
        for (int[] c : cases) {
            assertEquals(c[1] == 1, InterruptRemappingUnit.sourceValid(toApic(1, 0x40).withSourceValidation(Irte.SVT_SID, c[0], 0x27), SID),
                    "SQ " + c[0]);
        }
        assertTrue(InterruptRemappingUnit.sourceValid(toApic(1, 0x40).withSourceValidation(Irte.SVT_SID, 1, 0x24), SID));  // bit 2 only
        assertFalse(InterruptRemappingUnit.sourceValid(toApic(1, 0x40).withSourceValidation(Irte.SVT_SID, 1, 0x22), SID)); // bit 1
    }

    @Test
    void busRangeValidationChecksTheRequesterBus() {
        Irte e = toApic(1, 0x40).withSourceValidation(Irte.SVT_BUS_RANGE, 0, 0x0305);   // buses 3..5
        assertTrue(InterruptRemappingUnit.sourceValid(e, 0x0300));
        assertTrue(InterruptRemappingUnit.sourceValid(e, 0x05FF));
        assertFalse(InterruptRemappingUnit.sourceValid(e, 0x0200));
        assertFalse(InterruptRemappingUnit.sourceValid(e, 0x0600));
    }

    @Test
    void fpdSuppressesRecordingForAPresentIrteButNotForANotPresentOne() {
        f.irt.set(5, toApic(1, 0x40).withSourceValidation(Irte.SVT_SID, 0, 0x0028).withFpd(true));
        f.irt.set(6, toApic(1, 0x40).withFpd(true).withPresent(false));
        f.irt.enable(f.unit, false);
        msi(5);
        assertFalse(f.faultPending(0));
        assertEquals(1, f.unit.faults().suppressedCount());
        msi(6);
        assertEquals(FaultReason.IR_IRTE_NOT_PRESENT.code, f.faultReason(0));
    }

    // ---- interrupt entry cache ---------------------------------------------------------------

    @Test
    void cachedIrteIsUsedUntilAnIecInvalidationMakesTheNewOneVisible() {
        f.irt.set(5, toApic(1, 0x40));
        f.irt.set(6, toApic(1, 0x41));
        f.irt.enable(f.unit, false);
        f.queue.enable();
        msi(5);
        msi(6);
        f.irt.set(5, toApic(2, 0x50));
        f.irt.set(6, toApic(2, 0x51));
        msi(5);
        assertEquals(List.of(0x40, 0x41, 0x40), f.apic(1).accepted().stream().map(LocalApic.Accepted::vector).toList());
        f.queue.submit(IecInvalidate.index(6, 0), InvalidationWait.status(IommuFixture.STATUS, 1));
        msi(5);
        msi(6);
        assertEquals(0x40, f.apic(1).accepted().getLast().vector());      // index 5 still cached
        assertEquals(0x51, f.apic(2).accepted().getLast().vector());
        f.queue.submit(IecInvalidate.global(), InvalidationWait.status(IommuFixture.STATUS, 2));
        msi(5);
        assertEquals(0x50, f.apic(2).accepted().getLast().vector());
    }

    @Test
    void indexSelectiveIecInvalidationCoversTheMaskedBlock() {
        for (int i = 0; i < 8; i++) f.irt.set(i, toApic(1, 0x40 + i));
        f.irt.enable(f.unit, false);
        f.queue.enable();
        for (int i = 0; i < 8; i++) msi(i);
        assertEquals(8, f.iommu.interruptRemapping().interruptEntryCache().size());
        f.queue.submit(IecInvalidate.index(5, 2));                       // indices 4..7
        assertEquals(4, f.iommu.interruptRemapping().interruptEntryCache().size());
        assertTrue(f.iommu.interruptRemapping().interruptEntryCache().snapshot().stream().allMatch(e -> e.index() < 4));
    }

    // ---- posted interrupts -------------------------------------------------------------------

    static final long PID = 0x7_0000;

    private IommuFixture posted(boolean urgent, boolean sn) {
        IommuFixture g = IommuFixture.r630();
        PostedInterruptDescriptor.of(0xF2, PostedInterruptDescriptor.xapicNdst(3), sn).write(g.mem, PID);
        g.irt.set(4, Irte.postedEntry(0x61, PID, urgent));
        g.irt.enable(g.unit, false);
        return g;
    }

    @Test
    void postedInterruptSetsPirAndOnAndNotifiesNvToNdst() {
        try (IommuFixture g = posted(false, false)) {
            MsiMessage m = MsiMessage.remappable(4, false, 0);
            g.msi(SID, m.address(), m.data());
            PostedInterruptDescriptor d = PostedInterruptDescriptor.read(g.mem, PID);
            assertTrue(d.requested(0x61));
            assertTrue(d.outstanding());
            List<LocalApic.Accepted> n = g.apic(3).notifications();
            assertEquals(1, n.size());
            assertEquals(0xF2, n.getFirst().vector());
            assertEquals(0, g.apic(3).accepted().stream().filter(a -> a.vector() == 0x61).count());
        }
    }

    @Test
    void noSecondNotificationWhileOnIsSet() {
        try (IommuFixture g = posted(false, false)) {
            MsiMessage m = MsiMessage.remappable(4, false, 0);
            g.msi(SID, m.address(), m.data());
            g.msi(SID, m.address(), m.data());
            assertEquals(1, g.apic(3).notifications().size());
        }
    }

    @Test
    void suppressNotificationHoldsBackNonUrgentButNotUrgentInterrupts() {
        try (IommuFixture g = posted(false, true)) {
            MsiMessage m = MsiMessage.remappable(4, false, 0);
            g.msi(SID, m.address(), m.data());
            PostedInterruptDescriptor d = PostedInterruptDescriptor.read(g.mem, PID);
            assertTrue(d.requested(0x61));
            assertFalse(d.outstanding());
            assertEquals(0, g.apic(3).notifications().size());
        }
        try (IommuFixture g = posted(true, true)) {
            MsiMessage m = MsiMessage.remappable(4, false, 0);
            g.msi(SID, m.address(), m.data());
            assertTrue(PostedInterruptDescriptor.read(g.mem, PID).outstanding());
            assertEquals(1, g.apic(3).notifications().size());
        }
    }

    @Test
    void concurrentPostsSetEveryVectorAndNotifyOnce() throws Exception {
        try (IommuFixture g = IommuFixture.r630()) {
            PostedInterruptDescriptor.of(0xF2, PostedInterruptDescriptor.xapicNdst(3), false).write(g.mem, PID);
            for (int v = 0; v < 256; v++) g.irt.set(v, Irte.postedEntry(v, PID, false));
            g.irt.enable(g.unit, false);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int base = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    for (int v = base; v < 256; v += 4) {
                        MsiMessage m = MsiMessage.remappable(v, false, 0);
                        g.msi(SID, m.address(), m.data());
                    }
                }));
            }
            for (Thread t : ts) t.join();
            PostedInterruptDescriptor d = PostedInterruptDescriptor.read(g.mem, PID);
            for (int v = 0; v < 256; v++) assertTrue(d.requested(v), "PIR bit " + v);
            assertEquals(1, g.apic(3).notifications().size());
        }
    }

    @Test
    void postedDescriptorAddressAboveHostAddressWidthIsReserved() {
        try (IommuFixture g = IommuFixture.r630()) {
            g.irt.set(4, Irte.postedEntry(0x61, 1L << 50, false));
            g.irt.enable(g.unit, false);
            MsiMessage m = MsiMessage.remappable(4, false, 0);
            g.msi(SID, m.address(), m.data());
            assertEquals(FaultReason.IR_IRTE_RESERVED.code, g.faultReason(0));
        }
    }

    @Test
    void recorderSeesRemappedMessagesDecoded() {
        f.irt.set(5, toApic(2, 0x40));
        f.irt.enable(f.unit, false);
        msi(5);
        Delivered d = f.recorder.delivered().getFirst();
        assertEquals(2, d.destination());
        assertEquals(0x40, d.vector());
    }
}

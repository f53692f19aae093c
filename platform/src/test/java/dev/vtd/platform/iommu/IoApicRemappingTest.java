package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.IoApic;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.ir.Irte;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** IOAPIC interrupts through the remapping unit that owns the IOAPIC (VT-d spec 5.1.5.1). */
class IoApicRemappingTest {
    static final int IOAPIC_SID = 0xF0F8;     // as a DMAR IOAPIC device scope names it
    IommuFixture f = IommuFixture.qemu();
    IoApic io = f.fabric.addIoApic(new IoApic(0, IOAPIC_SID, f.unit::interruptRequest), 0);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void remappableRedirectionEntryIsRemappedThroughItsIrteWithSourceValidation() {
        f.irt.set(0x10, Irte.remapped(0x61, Irte.xapicDestination(2), false, false, true, 0)
                .withSourceValidation(Irte.SVT_SID, 0, IOAPIC_SID));
        f.irt.enable(f.unit, false);
        io.setRedirection(9, IoApic.remappableEntry(0x10, 0x61, true));
        f.fabric.setLevel(9, true);
        assertEquals(0x61, f.apic(2).accepted().getFirst().vector());
        assertTrue(f.apic(2).accepted().getFirst().levelTriggered());
        f.fabric.eoi(2, 0x61);
        assertEquals(2, f.apic(2).accepted().size());
    }

    @Test
    void ioapicRequestFromTheWrongSourceIdIsBlocked() {
        f.irt.set(0x10, Irte.remapped(0x61, Irte.xapicDestination(2), false, false, false, 0)
                .withSourceValidation(Irte.SVT_SID, 0, 0xF0F0));
        f.irt.enable(f.unit, false);
        io.setRedirection(9, IoApic.remappableEntry(0x10, 0x61, false));
        f.fabric.setLevel(9, true);
        assertEquals(FaultReason.IR_SID_MISMATCH.code, f.faultReason(0));
        assertEquals(IOAPIC_SID, f.frcdHi(0) & 0xFFFF);
    }

    @Test
    void compatibilityRedirectionEntryIsBlockedUnderRemappingWithoutCfi() {
        f.irt.enable(f.unit, false);
        io.setRedirection(1, IoApic.compatibilityEntry(0x31, 0, false, 0, false));
        f.fabric.setLevel(1, true);
        assertEquals(FaultReason.IR_COMPAT_BLOCKED.code, f.faultReason(0));
        assertEquals(0, f.apic(0).accepted().size());
    }
}

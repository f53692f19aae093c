package dev.vtd.kernel.host;

import dev.vtd.firmware.machine.Machines;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.pci.PciFunction;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Interrupt remapping of IOAPIC pins (VT-d 5.1.5.1, Linux intel_setup_ioapic_entry): at boot every
 * pin a PCI INTx line reaches gets an IRTE validating the IOAPIC's source ID, and a remappable RTE.
 */
class IoapicRemappingTest {
    static Host boot(String cmdline) {
        var d = Machines.load("desktop");
        return Host.boot(bios -> d.builder().vtdEnabledInBios(bios.vtd()).build(), Host.BiosSettings.DEFAULTS, cmdline);
    }

    @Test
    void anInxLineReachesCpu0ThroughTheIrteOfItsIoapicPin() {
        Host h = boot(Host.DEFAULT_CMDLINE);
        Kernel k = h.kernel();
        PciFunction legacy = k.machine().function("05:01.0");
        int gsi = legacy.segment().intxGsi(legacy);
        assertTrue(gsi >= 0, "the INTx-only device's pin is routed");
        Kernel.IoapicPin pin = k.ioapicPins().get(gsi);
        assertNotNull(pin, "its IOAPIC pin was given an IRTE");
        var irte = k.iommu().irqRemapping().entry(k.iommu().units().stream()
                .filter(u -> u.name().equals(pin.unit())).findFirst().orElseThrow(), pin.irteIndex());
        assertTrue(irte.present());
        assertTrue(irte.levelTriggered(), "INTx is level-triggered");
        LocalApic cpu0 = k.machine().interrupts().localApic(0);
        int before = cpu0.accepted().size();
        legacy.configWrite(0x04, 2, legacy.configRead(0x04, 2) & ~(1 << 10)); // INTx not disabled
        legacy.setIntx(true);
        assertTrue(cpu0.accepted().size() > before, "the pin's interrupt was remapped to CPU 0");
        assertEquals(pin.vector(), cpu0.accepted().getLast().vector());
        assertTrue(cpu0.accepted().getLast().levelTriggered());
    }

    @Test
    void withIntremapOffNoPinIsRemapped() {
        Host h = boot(Host.DEFAULT_CMDLINE + " intremap=off");
        assertTrue(h.kernel().ioapicPins().isEmpty());
    }
}

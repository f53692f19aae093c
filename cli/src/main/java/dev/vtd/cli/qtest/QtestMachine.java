package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;

/** Builds the q35 machine a QEMU command line describes. */
public final class QtestMachine {
    private QtestMachine() {}

    /**
     * QEMU's q35 layout ({@link Presets#q35}): RAM from 0, the remapping unit at 0xfed90000 advertising
     * what QEMU 7.2 advertises for the intel-iommu properties (host address width = aw-bits), the edu
     * devices at their slots, their INTx pins routed to IOAPIC pins as QEMU's ICH9 routes them
     * ({@link Presets#q35IntxRouter}). Without {@code -device intel-iommu} the machine has no unit and no DMAR
     * table, and devices reach memory directly.
     */
    public static Machine build(QemuCommandLine cl) {
        IntelIommuProperties p = cl.iommu() != null ? cl.iommu() : IntelIommuProperties.DEFAULTS;
        Machine m = Presets.q35(cl.ramBytes(), p.cap(), p.ecap(), p.awBits(), p.intremap(), cl.edus())
                .vtdEnabledInBios(cl.iommu() != null)
                .build();
        m.pci().segment(0).setIntxRouter(Presets.q35IntxRouter());
        return m;
    }
}

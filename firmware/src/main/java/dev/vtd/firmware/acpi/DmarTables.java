package dev.vtd.firmware.acpi;

import java.util.List;

import static dev.vtd.firmware.acpi.DeviceScope.endpoint;
import static dev.vtd.firmware.acpi.DeviceScope.hpet;
import static dev.vtd.firmware.acpi.DeviceScope.ioapic;
import static dev.vtd.firmware.acpi.DeviceScope.subHierarchy;

/** DMAR tables of known machines, built from the model. */
public final class DmarTables {
    private DmarTables() {}

    /** Physical address at which the Dell PowerEdge R630 firmware places its DMAR table. */
    public static final long DELL_R630_ADDRESS = 0x7BAFE000L;

    /**
     * A Dell PowerEdge R630 (two-socket Haswell/Broadwell-EP): banner
     * {@code ACPI: DMAR 0x000000007BAFE000 000108 (v01 DELL   PE_SC3   00000001 DELL 00000001)}, host address
     * width 46, INTR_REMAP | X2APIC_OPT_OUT. Socket 1's unit at 0xfbffc000 covers IOAPIC 10 (80:05.4) and the
     * root ports on bus 0x80; socket 0's unit at 0xc7ffc000 is INCLUDE_PCI_ALL with IOAPIC 8 (f0:1f.0),
     * IOAPIC 9 (00:05.4) and HPET 0 (f0:0f.0). One RMRR (USB controllers 00:1d.0 and 00:1a.0), an ATSR per socket
     * and an RHSA per unit. The units, flags, RMRR range and IOAPIC/HPET ids are the machine's; the exact root
     * port lists are a reconstruction sized to the real table length (0x108 bytes).
     */
    public static DmarTable dellR630() {
        return new DmarTable(1, "DELL", "PE_SC3", 1, "DELL", 1, 46 - 1,
                Dmar.FLAG_INTR_REMAP | Dmar.FLAG_X2APIC_OPT_OUT,
                List.of(
                        new DmarStructure.Drhd(0, 0, 0, 0xFBFFC000L, List.of(
                                ioapic(10, 0x80, 5, 4),
                                subHierarchy(0x80, 2, 0),
                                subHierarchy(0x80, 3, 0))),
                        new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xC7FFC000L, List.of(
                                ioapic(8, 0xF0, 0x1F, 0),
                                ioapic(9, 0x00, 5, 4),
                                hpet(0, 0xF0, 0x0F, 0))),
                        new DmarStructure.Rmrr(0, 0x7B71F000L, 0x7B73EFFFL, List.of(
                                endpoint(0, 0x1D, 0),
                                endpoint(0, 0x1A, 0))),
                        new DmarStructure.Atsr(0, 0, List.of(
                                subHierarchy(0, 1, 0),
                                subHierarchy(0, 2, 0),
                                subHierarchy(0, 3, 0))),
                        new DmarStructure.Atsr(0, 0, List.of(
                                subHierarchy(0x80, 2, 0),
                                subHierarchy(0x80, 3, 0))),
                        new DmarStructure.Rhsa(0xC7FFC000L, 0),
                        new DmarStructure.Rhsa(0xFBFFC000L, 1)),
                List.of());
    }
}

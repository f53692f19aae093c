package dev.vtd.firmware.acpi.ivrs;

import java.util.ArrayList;
import java.util.List;

/**
 * IVRS tables built from a Java description, as an AMD platform's firmware lays them out: one IOMMU at
 * 00:00.2 (capability at 40h) described three times (IVHD 10h, 11h, 40h, so each OS picks the newest type it
 * reads), the southbridge IOAPIC at 00:14.0 and the northbridge IOAPIC at 00:00.1, the HPET, an ACPI HID
 * device, and IVMD blocks.
 */
public final class IvrsTables {
    private IvrsTables() {}

    /** Device ID of bus:dev.fn. */
    public static int devid(int bus, int dev, int fn) {
        if (bus < 0 || bus > 255 || dev < 0 || dev > 31 || fn < 0 || fn > 7) {
            throw new IllegalArgumentException("no PCI function " + bus + ":" + dev + "." + fn);
        }
        return bus << 8 | dev << 3 | fn;
    }

    /** Linux's IOAPIC_SB_DEVID: the southbridge IOAPIC is reported at 00:14.0. */
    public static final int SOUTHBRIDGE_IOAPIC_DEVID = 0xA0;

    /** Device entries of a Zen client IOMMU: everything 00:00.3-FF:1F.6, the FCH LPC alias, IOAPICs, HPET. */
    public static List<IvhdDeviceEntry> clientEntries(boolean withAcpiHid) {
        List<IvhdDeviceEntry> e = new ArrayList<>(List.of(
                IvhdDeviceEntry.rangeStart(devid(0, 0, 3), 0),
                IvhdDeviceEntry.rangeEnd(0xFFFE),
                IvhdDeviceEntry.alias(true, 0xFF00, 0, devid(0, 0x14, 5)),
                IvhdDeviceEntry.rangeEnd(0xFFFF),
                IvhdDeviceEntry.hpet(0, SOUTHBRIDGE_IOAPIC_DEVID),
                IvhdDeviceEntry.ioapic(0x21, SOUTHBRIDGE_IOAPIC_DEVID, 0xD7),
                IvhdDeviceEntry.ioapic(0x22, devid(0, 0, 1), 0)));
        if (withAcpiHid) {
            e.add(new IvhdDeviceEntry.AcpiHid(devid(0, 0x14, 5), 0x40, "AMDI0020", "", 2, "\\_SB.FUR0"));
            e.add(new IvhdDeviceEntry.AcpiHid(devid(0, 0x14, 6), 0x40, "AMDI0020", "", 1, "\1\0\0\0\0\0\0\0"));
        }
        return e;
    }

    /** IVinfo 0x00203041: EFRSup, GVASize 2 (48 bits), PASize 48, VASize 64. */
    public static final long ZEN_IVINFO = IvrsTable.ivInfo(true, false, 2, 48, 64, false);
    public static final long ZEN_EFR = 0x246577EFA2254AFAL;

    /** A Zen 4 desktop: IVHD 10h, 11h and 40h for the IOMMU at 00:00.2, base FD500000h, and one unity IVMD. */
    public static IvrsTable zenDesktop() {
        int iommu = devid(0, 0, 2);
        long base = 0xFD500000L;
        return IvrsTable.of("VTD", "AMDZEN4", ZEN_IVINFO, List.of(
                new IvrsSubtable.Ivhd(Ivrs.IVHD_10, 0xB0, iommu, 0x40, base, 0, 0, 0x80048F6EL, 0, 0, clientEntries(false)),
                new IvrsSubtable.Ivhd(Ivrs.IVHD_11, 0x30, iommu, 0x40, base, 0, 0, 0x00048000L, ZEN_EFR, 0, clientEntries(false)),
                new IvrsSubtable.Ivhd(Ivrs.IVHD_40, 0x30, iommu, 0x40, base, 0, 0, 0x00048000L, ZEN_EFR, 0, clientEntries(true)),
                new IvrsSubtable.Ivmd(Ivrs.IVMD_SELECT, IvrsSubtable.Ivmd.FLAG_UNITY | IvrsSubtable.Ivmd.FLAG_IR
                        | IvrsSubtable.Ivmd.FLAG_IW, devid(3, 0, 0), 0, 0x7132F000L, 0x26000L)));
    }
}

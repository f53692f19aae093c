package dev.vtd.firmware.acpi.ivrs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What Linux (drivers/iommu/amd/init.c, 6.12) reads from an IVRS table and the lines it logs for it: ACPICA's
 * table banner, the memory reservation line, the IVHD type it uses (the highest supported type described for
 * the first IVHD's IOMMU), the special-device map of that type's IVHDs, and check_ioapic_information's
 * firmware-bug lines, which disable interrupt remapping.
 */
public final class IvrsLinux {
    private IvrsLinux() {}

    /** "ACPI: IVRS 0x00000000894AB000 0001F0 (v02 AMD    AmdTable 00000001 AMD  00000000)". */
    public static String banner(IvrsTable t, long address) {
        return String.format("ACPI: %-4.4s 0x%016X %06X (v%02d %-6.6s %-8.8s %08X %-4.4s %08X)", Ivrs.SIGNATURE, address,
                t.length(), t.revision(), IvrsTable.upToNul(t.oemId()), IvrsTable.upToNul(t.oemTableId()), t.oemRevision(),
                IvrsTable.upToNul(t.creatorId()), t.creatorRevision());
    }

    /** "ACPI: Reserving IVRS table memory at [mem 0x7affb000-0x7affb1a3]" (kernels that reserve ACPI tables). */
    public static String reserving(IvrsTable t, long address) {
        return String.format("ACPI: Reserving %s table memory at [mem 0x%x-0x%x]", Ivrs.SIGNATURE, address,
                address + t.length() - 1);
    }

    /**
     * get_highest_supported_ivhd_type: from the first subtable, walk while the type is at most 40h; the last type
     * seen with the first subtable's device ID wins. -1 for a table without subtables.
     */
    public static int targetIvhdType(IvrsTable t) {
        if (t.subtables().isEmpty()) return -1;
        int devid = deviceIdOf(t.subtables().getFirst());
        int last = t.subtables().getFirst().type();
        for (IvrsSubtable s : t.subtables()) {
            if (s.type() > Ivrs.IVHD_40) break;
            if (deviceIdOf(s) == devid) last = s.type();
        }
        return last;
    }

    private static int deviceIdOf(IvrsSubtable s) {
        return switch (s) {
            case IvrsSubtable.Ivhd h -> h.deviceId();
            case IvrsSubtable.Ivmd m -> m.deviceId();
            case IvrsSubtable.Unknown u -> u.length() >= 6 ? (u.raw()[4] & 0xFF) | (u.raw()[5] & 0xFF) << 8 : -1;
        };
    }

    /** IOAPIC ID -> device ID from the special entries (48h, variety 1) of the IVHDs Linux uses; first one wins. */
    public static Map<Integer, Integer> ioapicMap(IvrsTable t) {
        return specialMap(t, Ivrs.VARIETY_IOAPIC);
    }

    public static Map<Integer, Integer> hpetMap(IvrsTable t) {
        return specialMap(t, Ivrs.VARIETY_HPET);
    }

    private static Map<Integer, Integer> specialMap(IvrsTable t, int variety) {
        int target = targetIvhdType(t);
        Map<Integer, Integer> m = new LinkedHashMap<>();
        for (IvrsSubtable.Ivhd h : t.ivhds()) {
            if (h.type() != target) continue;
            for (IvhdDeviceEntry e : h.entries()) {
                if (e instanceof IvhdDeviceEntry.Fixed8 f && f.type() == Ivrs.DEV_SPECIAL && f.variety() == variety) {
                    m.putIfAbsent(f.handle(), f.sourceDeviceId());
                }
            }
        }
        return m;
    }

    /**
     * check_ioapic_information for the IOAPIC IDs of the MADT: an IOAPIC missing from the IVRS, or no IOAPIC at
     * 00:14.0 (the southbridge, where the system timer is wired), is a firmware bug, and interrupt remapping is
     * disabled. Returns the lines (empty when remapping may stay on).
     */
    public static List<String> checkIoapicInformation(IvrsTable t, List<Integer> madtIoapicIds) {
        Map<Integer, Integer> map = ioapicMap(t);
        List<String> lines = new ArrayList<>();
        boolean ok = false, sb = false;
        for (int id : madtIoapicIds) {
            Integer devid = map.get(id);
            if (devid == null) {
                lines.add("AMD-Vi: [Firmware Bug]: : IOAPIC[" + id + "] not in IVRS table");
                ok = false;
            } else if (devid == IvrsTables.SOUTHBRIDGE_IOAPIC_DEVID) {
                sb = true;
                ok = true;
            }
        }
        if (!sb) lines.add("AMD-Vi: [Firmware Bug]: : No southbridge IOAPIC found");
        if (!ok) lines.add("AMD-Vi: Disabling interrupt remapping");
        return lines;
    }

    /** The lines above in boot order: banner, optionally the reservation, then the IOAPIC check. */
    public static List<String> kernelLog(IvrsTable t, long address, boolean reserve, List<Integer> madtIoapicIds) {
        List<String> l = new ArrayList<>();
        l.add(banner(t, address));
        if (reserve) l.add(reserving(t, address));
        l.addAll(checkIoapicInformation(t, madtIoapicIds));
        return l;
    }
}

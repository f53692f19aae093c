package dev.vtd.cli;

import java.io.PrintWriter;
import java.util.List;

/**
 * {@code vtd decode amd-dte Q0 Q1 Q2 Q3}: an AMD IOMMU device table entry (256 bits, four qwords, qword 0
 * first), field by field with the specification's names and bit positions (bits counted over all 256).
 */
final class AmdDteDecoding {
    private AmdDteDecoding() {}

    private static long bits(long q, int hi, int lo) {
        int n = hi - lo + 1;
        return n == 64 ? q : (q >>> lo) & ((1L << n) - 1);
    }

    private static void row(PrintWriter out, String name, String bits, String title, String value) {
        out.printf("  %-14s %-8s %-40s %s%n", name, bits, title, value);
    }

    private static String flag(long q, int bit) {
        return Long.toString(bits(q, bit, bit));
    }

    static String modeName(int mode) {
        return switch (mode) {
            case 0 -> "translation disabled (untranslated access)";
            case 7 -> "reserved";
            default -> mode + "-level page table (" + Math.min(64, 12 + 9 * mode) + "-bit)";
        };
    }

    static String ctl(String kind, int v) {
        return switch (kind) {
            case "IoCtl" -> new String[] {"target abort", "forward untranslated", "translate", "reserved"}[v];
            case "SysMgt" -> new String[] {"target abort", "forward untranslated", "forward INTx/msgs, abort others", "translated"}[v];
            case "IntCtl" -> new String[] {"target abort", "forward unmapped", "remap", "reserved"}[v];
            default -> new String[] {"1-level GCR3 table", "2-level GCR3 table", "3-level GCR3 table", "reserved"}[v];
        };
    }

    static void dte(PrintWriter out, List<String> values) {
        if (values.size() != 4) {
            throw new UserInputException("decode amd-dte: needs 4 qwords, got " + values.size()
                    + " (usage: vtd decode amd-dte 0x<q0> 0x<q1> 0x<q2> 0x<q3>)");
        }
        long[] q = new long[4];
        for (int i = 0; i < 4; i++) q[i] = Hex.parseLong(values.get(i), "decode amd-dte qword " + i);
        out.printf("AMD IOMMU device table entry 0x%016x_%016x_%016x_%016x%n", q[3], q[2], q[1], q[0]);
        long q0 = q[0], q1 = q[1], q2 = q[2];
        row(out, "V", "0", "Valid", flag(q0, 0));
        row(out, "TV", "1", "Translation information Valid", flag(q0, 1));
        row(out, "HAD", "8:7", "Host Access Dirty", Long.toString(bits(q0, 8, 7)));
        int mode = (int) bits(q0, 11, 9);
        row(out, "Mode", "11:9", "Paging mode", mode + " (" + modeName(mode) + ")");
        row(out, "HostPTRootPtr", "51:12", "Host Page Table Root Pointer", String.format("0x%x", bits(q0, 51, 12) << 12));
        row(out, "PPR", "52", "Peripheral Page Request enable", flag(q0, 52));
        row(out, "GPRP", "53", "Guest PPR Response with PASID", flag(q0, 53));
        row(out, "GIoV", "54", "Guest I/O protection Valid", flag(q0, 54));
        row(out, "GV", "55", "Guest translation Valid", flag(q0, 55));
        int glx = (int) bits(q0, 57, 56);
        row(out, "GLX", "57:56", "Guest Levels translated", glx + " (" + ctl("GLX", glx) + ")");
        long gcr3 = bits(q0, 60, 58) << 12 | bits(q1, 31, 16) << 15 | bits(q1, 63, 43) << 31;
        row(out, "GCR3 TRP", "60:58,95:80,127:107", "Guest CR3 Table Root Pointer", String.format("0x%x", gcr3));
        row(out, "IR", "61", "I/O Read permission", flag(q0, 61));
        row(out, "IW", "62", "I/O Write permission", flag(q0, 62));
        row(out, "DomainID", "79:64", "Domain ID", String.format("0x%x (%d)", bits(q1, 15, 0), bits(q1, 15, 0)));
        row(out, "I", "96", "IOTLB enable", flag(q1, 32));
        row(out, "SE", "97", "Suppress Events (page faults)", flag(q1, 33));
        row(out, "SA", "98", "Suppress All events", flag(q1, 34));
        int ioctl = (int) bits(q1, 36, 35);
        row(out, "IoCtl", "100:99", "Port I/O control", ioctl + " (" + ctl("IoCtl", ioctl) + ")");
        row(out, "Cache", "101", "IOTLB Cache hint (no cache)", flag(q1, 37));
        row(out, "SD", "102", "Snoop Disable", flag(q1, 38));
        row(out, "EX", "103", "Allow Exclusion", flag(q1, 39));
        int sys = (int) bits(q1, 41, 40);
        row(out, "SysMgt", "105:104", "System management message", sys + " (" + ctl("SysMgt", sys) + ")");
        row(out, "IV", "128", "Interrupt map Valid", flag(q2, 0));
        int len = (int) bits(q2, 4, 1);
        row(out, "IntTabLen", "132:129", "Interrupt Table Length",
                len > 11 ? len + " (reserved)" : len + " (" + (1 << len) + " entries)");
        row(out, "IG", "133", "Ignore unmapped interrupts", flag(q2, 5));
        row(out, "IntTableRootPtr", "179:134", "Interrupt Table Root Pointer", String.format("0x%x", bits(q2, 51, 6) << 6));
        row(out, "InitPass", "184", "INIT pass-through", flag(q2, 56));
        row(out, "EIntPass", "185", "ExtInt pass-through", flag(q2, 57));
        row(out, "NMIPass", "186", "NMI pass-through", flag(q2, 58));
        int intctl = (int) bits(q2, 61, 60);
        row(out, "IntCtl", "189:188", "Interrupt control", intctl + " (" + ctl("IntCtl", intctl) + ")");
        row(out, "Lint0Pass", "190", "LINT0 pass-through", flag(q2, 62));
        row(out, "Lint1Pass", "191", "LINT1 pass-through", flag(q2, 63));
        long r0 = q0 & (0x7CL | 1L << 63), r1 = q1 & (1L << 42), r2 = q2 & (0xFL << 52 | 1L << 59);
        if (r0 != 0 || r1 != 0 || r2 != 0) {
            out.printf("  reserved bits set: qword0 0x%x qword1 0x%x qword2 0x%x%n", r0, r1, r2);
        }
        if (q[3] != 0) out.printf("  qword 3 (bits 255:192) 0x%x: reserved or later-revision fields%n", q[3]);
    }
}

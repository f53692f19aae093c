package dev.vtd.cli;

import dev.vtd.platform.iommu.tables.FlPte;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SmContextEntry;

import java.io.PrintWriter;
import java.util.List;

/**
 * {@code vtd decode sm-context Q0 Q1 Q2 Q3}, {@code vtd decode pasid-entry Q0 .. Q7} and
 * {@code vtd decode fl-pte VALUE [LEVEL]}: scalable-mode context entries (VT-d spec 9.4), PASID
 * table entries (9.6) and first-stage paging entries (9.7), field by field.
 */
final class ScalableDecoding {
    private ScalableDecoding() {}

    private static long[] qwords(List<String> values, int n, String what, String usage) {
        if (values.size() != n) {
            throw new UserInputException("decode " + what + ": needs " + n + " qwords, got " + values.size()
                    + " (usage: " + usage + ")");
        }
        long[] q = new long[n];
        for (int i = 0; i < n; i++) q[i] = Hex.parseLong(values.get(i), "decode " + what + " qword " + i);
        return q;
    }

    static void smContext(PrintWriter out, List<String> values) {
        long[] q = qwords(values, 4, "sm-context", "vtd decode sm-context 0x<q0> 0x<q1> 0x<q2> 0x<q3>");
        SmContextEntry e = SmContextEntry.decode(q);
        out.printf("scalable-mode context entry 0x%016x_%016x_%016x_%016x%n", q[3], q[2], q[1], q[0]);
        row(out, "P", "0", "Present", yes(e.present()));
        row(out, "FPD", "1", "Fault Processing Disable", yes(e.faultProcessingDisable()));
        row(out, "DTE", "2", "Device-TLB Enable", yes(e.deviceTlbEnable()));
        row(out, "PASIDE", "3", "PASID Enable (requests with PASID)", yes(e.pasidEnable()));
        row(out, "PRE", "4", "Page Request Enable", yes(e.pageRequestEnable()));
        row(out, "PDTS", "11:9", "PASID Directory Table Size",
                String.format("%d (%d entries, PASIDs 0..0x%x)", e.pasidDirSize(), e.pasidDirEntries(), e.maxPasid()));
        row(out, "PASIDDIRPTR", "63:12", "PASID Directory Pointer", String.format("0x%x", e.pasidDirPointer()));
        row(out, "RID_PASID", "83:64", "PASID for requests without PASID", String.format("0x%x", e.ridPasid()));
        row(out, "RID_PRIV", "84", "Privilege of requests without PASID", e.ridPriv() ? "1 (supervisor)" : "0 (user)");
        if (e.reserved0() != 0 || e.reserved1() != 0 || e.q2() != 0 || e.q3() != 0) {
            out.println("  reserved bits set: fault 0x42 when used");
        }
    }

    static void pasidEntry(PrintWriter out, List<String> values) {
        long[] q = qwords(values, 8, "pasid-entry", "vtd decode pasid-entry 0x<q0> ... 0x<q7>");
        PasidEntry e = PasidEntry.decode(q);
        out.printf("PASID table entry 0x%016x_%016x_%016x_%016x_%016x_%016x_%016x_%016x%n",
                q[7], q[6], q[5], q[4], q[3], q[2], q[1], q[0]);
        row(out, "P", "0", "Present", yes(e.present()));
        row(out, "FPD", "1", "Fault Processing Disable", yes(e.faultProcessingDisable()));
        int l = e.secondStageLevels();
        row(out, "AW", "4:2", "Second-stage Address Width",
                l == 0 ? e.addressWidth() + " (reserved)" : String.format("%d (%d-bit, %d-level)", e.addressWidth(), 12 + 9 * l, l));
        row(out, "SLEE", "5", "Second-stage Execute Enable", yes(e.slee()));
        row(out, "PGTT", "8:6", "PASID Granular Translation Type",
                String.format("%d (%s)", e.pgtt(), PasidEntry.pgttName(e.pgtt())));
        row(out, "SLADE", "9", "Second-stage Accessed/Dirty Enable", yes(e.slade()));
        row(out, "SLPTPTR", "63:12", "Second-stage Page Table Pointer", String.format("0x%x", e.slptptr()));
        row(out, "DID", "79:64", "Domain ID", String.valueOf(e.domainId()));
        row(out, "PWSNP", "87", "Page-Walk Snoop", yes(e.pwsnp()));
        row(out, "PGSNP", "88", "Page Snoop", yes(e.pgsnp()));
        row(out, "CD..PAT", "127:89", "Memory type fields", String.format("0x%x", e.memoryType() >>> 25));
        row(out, "SRE", "128", "Supervisor Requests Enable", yes(e.sre()));
        row(out, "ERE", "129", "Execute Requests Enable", yes(e.ere()));
        int fl = e.firstStageLevels();
        row(out, "FLPM", "131:130", "First-stage Paging Mode", fl == 0 ? e.flpm() + " (reserved)" : e.flpm() + " (" + fl + "-level)");
        row(out, "WPE", "132", "Write Protect Enable", yes(e.wpe()));
        row(out, "NXE", "133", "No-Execute Enable (XD honoured)", yes(e.nxe()));
        row(out, "EAFE", "135", "Extended Accessed Flag Enable", yes(e.eafe()));
        row(out, "FLPTPTR", "191:140", "First-stage Page Table Pointer", String.format("0x%x", e.flptptr()));
        if (e.reserved0() != 0 || e.reserved1() != 0 || e.reserved2() != 0 || (e.q3() | e.q4() | e.q5() | e.q6() | e.q7()) != 0) {
            out.println("  reserved bits set: fault 0x5A when used");
        }
    }

    static void flPte(PrintWriter out, List<String> values) {
        if (values.isEmpty() || values.size() > 2) {
            throw new UserInputException("decode fl-pte: needs a value and optionally its level 1-5 (usage: vtd decode fl-pte 0x<value> [LEVEL])");
        }
        long v = Hex.parseLong(values.get(0), "decode fl-pte");
        int level = 1;
        if (values.size() == 2) {
            try {
                level = Integer.parseInt(values.get(1));
            } catch (NumberFormatException e) {
                level = 0;
            }
            if (level < 1 || level > 5) {
                throw new UserInputException("decode fl-pte: level '" + values.get(1) + "' is not 1-5 (1 = PTE ... 5 = PML5E)");
            }
        }
        String[] names = {"", "FL-PTE", "FL-PDE", "FL-PDPE", "FL-PML4E", "FL-PML5E"};
        out.printf("%s %s%n", names[level], FlPte.describe(v, level));
        boolean large = FlPte.mayBeLarge(level) && (v & FlPte.PS) != 0;
        boolean leaf = level == 1 || large;
        row(out, "P", "0", "Present", yes((v & FlPte.P) != 0));
        row(out, "R/W", "1", "Read/Write", (v & FlPte.RW) != 0 ? "1 (writes allowed)" : "0 (read-only)");
        row(out, "U/S", "2", "User/Supervisor", (v & FlPte.US) != 0 ? "1 (user)" : "0 (supervisor only)");
        row(out, "PWT", "3", "Page-level Write-Through", yes((v & FlPte.PWT) != 0));
        row(out, "PCD", "4", "Page-level Cache Disable", yes((v & FlPte.PCD) != 0));
        row(out, "A", "5", "Accessed", yes((v & FlPte.A) != 0));
        if (leaf) row(out, "D", "6", "Dirty", yes((v & FlPte.D) != 0));
        if (level >= 2) {
            row(out, "PS", "7", "Page Size", level >= 4 ? ((v & FlPte.PS) != 0 ? "1 (reserved at this level)" : "0")
                    : large ? (level == 3 ? "1 (1 GiB page)" : "1 (2 MiB page)") : "0 (points to a table)");
        }
        if (leaf) row(out, "G", "8", "Global", yes((v & FlPte.G) != 0));
        long addr = v & FlPte.ADDR_MASK & (large ? ~FlPte.PAT_LARGE : -1L);
        row(out, "ADDR", "51:12", leaf ? "Page address" : "Next table address", String.format("0x%x", addr));
        row(out, "XD", "63", "Execute Disable", yes((v & FlPte.XD) != 0));
    }

    private static String yes(boolean b) {
        return b ? "1" : "0";
    }

    private static void row(PrintWriter out, String name, String bits, String title, String value) {
        out.printf("  %-11s %-7s %-40s %s%n", name, bits, title, value);
    }
}

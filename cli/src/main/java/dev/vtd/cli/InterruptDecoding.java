package dev.vtd.cli;

import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.ir.MsiMessage;

import java.io.PrintWriter;
import java.util.List;

/**
 * {@code vtd decode irte LO HI} and {@code vtd decode msi --address A --data D}: an interrupt
 * remapping table entry (VT-d spec 9.10/9.11) or an interrupt request (5.1.2) explained field by
 * field.
 */
final class InterruptDecoding {
    private InterruptDecoding() {}

    static void irte(PrintWriter out, List<String> values) {
        if (values.size() != 2) {
            throw new UserInputException("decode irte: needs two values, the low and high qwords (usage: vtd decode irte 0x<lo> 0x<hi>)");
        }
        long lo = Hex.parseLong(values.get(0), "decode irte low qword");
        long hi = Hex.parseLong(values.get(1), "decode irte high qword");
        Irte e = Irte.decode(lo, hi);
        out.printf("IRTE 0x%016x_%016x (%s format)%n", hi, lo, e.posted() ? "posted" : "remapped");
        print(out, e.fields());
        boolean xapicRes = e.hasReservedBits(false, true, 64);
        boolean x2apicRes = e.hasReservedBits(true, true, 64);
        if (xapicRes && x2apicRes) {
            out.println("  reserved bits set: fault 0x24 when used");
        } else if (xapicRes) {
            out.println("  reserved bits set with EIME=0 (DST bits outside 15:8): fault 0x24 in xAPIC mode");
        }
        if (e.posted()) out.println("  (posted format requires CAP.PI; otherwise IM=1 is reserved: fault 0x24)");
    }

    static void msi(PrintWriter out, String address, String data) {
        if (address == null || data == null) {
            throw new UserInputException("decode msi: needs --address and --data (usage: vtd decode msi --address 0xfee00000 --data 0x31)");
        }
        long a = Hex.parseLong(address, "decode msi --address");
        long d = Hex.parseLong(data, "decode msi --data");
        if ((d >>> 32) != 0) throw new UserInputException("decode msi --data: '" + data + "' does not fit 32 bits");
        MsiMessage m = new MsiMessage(a, (int) d);
        out.printf("MSI address 0x%x data 0x%08x (%s format)%n", a, d, m.remappable() ? "remappable" : "compatibility");
        print(out, m.fields());
    }

    private static void print(PrintWriter out, List<Irte.Field> fields) {
        for (Irte.Field f : fields) out.printf("  %-17s %-13s %s%n", f.name(), f.bits(), f.value());
    }
}

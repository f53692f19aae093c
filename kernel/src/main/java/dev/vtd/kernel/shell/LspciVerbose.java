package dev.vtd.kernel.shell;

import dev.vtd.kernel.drivers.PciDevice;

import java.io.PrintWriter;

/**
 * lspci -v's body for a device, computed from what lspci reads on Linux: the configuration space (the sysfs
 * config attribute) and the resource attribute (addresses and sizes), walking the capability lists as pciutils
 * does (standard list from 34h, extended list from 100h), with pciutils' wording for each line.
 */
final class LspciVerbose {
    private LspciVerbose() {}

    static void print(PrintWriter out, PciDevice d) {
        String cfg = SysFs.config(d.function());
        int htype = b(cfg, 0x0E) & 0x7F;
        int cmd = w(cfg, 0x04), status = w(cfg, 0x06);
        StringBuilder flags = new StringBuilder("\tFlags: ");
        if ((cmd & 0x4) != 0) flags.append("bus master, ");
        if ((cmd & 0x20) != 0) flags.append("VGA palette snoop, ");
        if ((cmd & 0x80) != 0) flags.append("stepping, ");
        if ((cmd & 0x200) != 0) flags.append("fast Back2Back, ");
        if ((status & 0x20) != 0) flags.append("66MHz, ");
        if ((status & 0x40) != 0) flags.append("user-definable features, ");
        flags.append(switch ((status >> 9) & 3) {
            case 0 -> "fast";
            case 1 -> "medium";
            case 2 -> "slow";
            default -> "??";
        }).append(" devsel");
        if ((cmd & 0x4) != 0) flags.append(", latency ").append(b(cfg, 0x0D));
        int irq = SysFs.irq(d.function());
        if (irq != 0) flags.append(", IRQ ").append(irq);
        if (d.group() >= 0) flags.append(", IOMMU group ").append(d.group());
        out.println(flags);
        String[] res = SysFs.resource(d.function()).split("\n");
        if (htype == 0) {
            bases(out, cfg, res, 6, cmd);
        } else if (htype == 1) {
            bases(out, cfg, res, 2, cmd);
            out.printf("\tBus: primary=%02x, secondary=%02x, subordinate=%02x, sec-latency=%d%n", b(cfg, 0x18),
                    b(cfg, 0x19), b(cfg, 0x1A), b(cfg, 0x1B));
            // What the kernel claimed (the resource attribute's window lines) decides [disabled] and the size; an
            // I/O or prefetchable window the kernel did not claim is not shown.
            long[] ioW = parse(res, 13), memW = parse(res, 14), prefW = parse(res, 15);
            int ioBase = b(cfg, 0x1C), ioLimit = b(cfg, 0x1D);
            if (ioW[2] != 0) {
                boolean io32 = (ioBase & 0xF) == 1;
                long base = (long) (ioBase & 0xF0) << 8, limit = ((long) (ioLimit & 0xF0) << 8) + 0xFFF;
                if (io32) {
                    base |= (long) w(cfg, 0x30) << 16;
                    limit |= (long) w(cfg, 0x32) << 16;
                }
                range(out, "\tI/O behind bridge", base, limit, io32 ? 32 : 16, false);
            }
            long memBase = (long) (w(cfg, 0x20) & 0xFFF0) << 16, memLimit = ((long) (w(cfg, 0x22) & 0xFFF0) << 16) + 0xFFFFF;
            range(out, "\tMemory behind bridge", memBase, memLimit, 32, memW[2] == 0);
            if (prefW[2] != 0) {
                int pb = w(cfg, 0x24), pl = w(cfg, 0x26);
                boolean is64 = (pb & 0xF) == 1;
                long base = (long) (pb & 0xFFF0) << 16, limit = ((long) (pl & 0xFFF0) << 16) + 0xFFFFF;
                if (is64) {
                    base |= ((long) dw(cfg, 0x28) & 0xFFFF_FFFFL) << 32;
                    limit |= ((long) dw(cfg, 0x2C) & 0xFFFF_FFFFL) << 32;
                }
                range(out, "\tPrefetchable memory behind bridge", base, limit, is64 ? 64 : 32, false);
            }
        }
        if ((status & 0x10) != 0 && htype <= 1) caps(out, cfg);
    }

    private static void range(PrintWriter out, String prefix, long base, long limit, int bits, boolean disabled) {
        StringBuilder sb = new StringBuilder(prefix).append(':');
        int digits = (bits + 3) / 4;
        if (Long.compareUnsigned(base, limit) <= 0) {
            sb.append(String.format(" %0" + digits + "x-%0" + digits + "x", base, limit));
        }
        if (!disabled && Long.compareUnsigned(base, limit) <= 0) sb.append(size(limit - base + 1));
        else sb.append(" [disabled]");
        if (bits != 0) sb.append(" [").append(bits).append("-bit]");
        out.println(sb);
    }

    /** pciutils' show_bases: the config BAR gives the type, the resource attribute the address and size. */
    private static void bases(PrintWriter out, String cfg, String[] res, int count, int cmd) {
        for (int i = 0; i < count; i++) {
            long[] r = parse(res, i);
            long pos = r[0] | (r[2] & 0xF), len = r[1] > r[0] ? r[1] - r[0] + 1 : 0;
            long flg = dw(cfg, 0x10 + 4 * i) & 0xFFFF_FFFFL;
            if (flg == 0xFFFF_FFFFL) flg = 0;
            // Nothing the kernel claimed and nothing the device decodes: no line (an unassigned BAR the kernel
            // left without a resource is not shown from sysfs either).
            if (pos == 0 && len == 0 && (flg == 0 || r[2] == 0)) {
                if ((flg & 0x7) == 0x4) i++;
                continue;
            }
            boolean virtual = false, broken = false;
            long hwLower, hwUpper = 0;
            if ((flg & 1) != 0) {
                hwLower = flg & ~0x3L;
            } else {
                hwLower = flg & ~0xFL;
                if ((flg & 0x6) == 0x4) {
                    if (i >= count - 1) broken = true;
                    else hwUpper = dw(cfg, 0x10 + 4 * ++i) & 0xFFFF_FFFFL;
                }
            }
            StringBuilder sb = new StringBuilder("\t");
            if (pos != 0 && (flg & ((flg & 1) != 0 ? ~0x3L : ~0xFL)) == 0) {
                flg = pos;
                virtual = true;
            }
            if ((flg & 1) != 0) {
                long a = pos & ~0x3L;
                sb.append("I/O ports at ");
                if (a != 0 || (cmd & 1) != 0) sb.append(String.format("%04x", a));
                else sb.append(hwLower != 0 ? "<ignored>" : "<unassigned>");
                if (virtual) sb.append(" [virtual]");
                else if ((cmd & 1) == 0) sb.append(" [disabled]");
            } else {
                int t = (int) (flg & 0x6);
                long a = pos & ~0xFL;
                sb.append("Memory at ");
                if (broken) sb.append("<broken-64-bit-slot>");
                else if (a != 0) sb.append(String.format("%08x", a));
                else sb.append(hwLower != 0 || hwUpper != 0 ? "<ignored>" : "<unassigned>");
                sb.append(String.format(" (%s, %sprefetchable)", t == 0 ? "32-bit" : t == 4 ? "64-bit" : t == 2 ? "low-1M" : "type 3",
                        (flg & 0x8) != 0 ? "" : "non-"));
                if (virtual) sb.append(" [virtual]");
                else if ((cmd & 2) == 0) sb.append(" [disabled]");
            }
            sb.append(size(len));
            out.println(sb);
        }
    }

    private static long[] parse(String[] res, int i) {
        if (i >= res.length) return new long[3];
        String[] f = res[i].trim().split(" ");
        if (f.length != 3) return new long[3];
        return new long[] {Long.parseUnsignedLong(f[0].substring(2), 16), Long.parseUnsignedLong(f[1].substring(2), 16),
                Long.parseUnsignedLong(f[2].substring(2), 16)};
    }

    static String size(long x) {
        if (x == 0) return "";
        String[] suffix = {"", "K", "M", "G", "T"};
        int i = 0;
        for (; i < suffix.length - 1; i++) {
            if (x % 1024 != 0) break;
            x /= 1024;
        }
        return " [size=" + x + suffix[i] + "]";
    }

    private static void caps(PrintWriter out, String cfg) {
        int where = b(cfg, 0x34) & ~3;
        int seen = 0;
        while (where >= 0x40 && where < 0x100 && seen++ < 48) {
            int id = b(cfg, where), next = b(cfg, where + 1) & ~3;
            int cap = w(cfg, where + 2);
            StringBuilder sb = new StringBuilder(String.format("\tCapabilities: [%02x] ", where));
            switch (id) {
                case 0x01 -> sb.append("Power Management version ").append(cap & 7);
                case 0x05 -> sb.append(String.format("MSI: Enable%c Count=%d/%d Maskable%c 64bit%c", flag(cap, 1),
                        1 << ((cap >> 4) & 7), 1 << ((cap >> 1) & 7), flag(cap, 0x100), flag(cap, 0x80)));
                case 0x10 -> sb.append(express(cap));
                case 0x11 -> sb.append(String.format("MSI-X: Enable%c Count=%d Masked%c", flag(cap, 0x8000),
                        (cap & 0x7FF) + 1, flag(cap, 0x4000)));
                case 0x09 -> sb.append(String.format("Vendor Specific Information: Len=%02x <?>", b(cfg, where + 2)));
                default -> sb.append(String.format("Capability ID %#02x [%04x]", id, cap));
            }
            out.println(sb);
            where = next;
        }
        if (cfg.length() < 4096) return;
        where = 0x100;
        seen = 0;
        while (where >= 0x100 && where < 0x1000 && seen++ < 512) {
            int header = dw(cfg, where);
            if (header == 0 || header == -1) break;
            int id = header & 0xFFFF;
            String name = switch (id) {
                case 0x0001 -> "Advanced Error Reporting";
                case 0x0003 -> String.format("Device Serial Number %02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x",
                        b(cfg, where + 11), b(cfg, where + 10), b(cfg, where + 9), b(cfg, where + 8),
                        b(cfg, where + 7), b(cfg, where + 6), b(cfg, where + 5), b(cfg, where + 4));
                case 0x000d -> "Access Control Services";
                case 0x000e -> "Alternative Routing-ID Interpretation (ARI)";
                case 0x000f -> "Address Translation Service (ATS)";
                case 0x0010 -> "Single Root I/O Virtualization (SR-IOV)";
                case 0x0013 -> "Page Request Interface (PRI)";
                case 0x001b -> "Process Address Space ID (PASID)";
                default -> String.format("Extended Capability ID %#x", id);
            };
            out.printf("\tCapabilities: [%03x] %s%n", where, name);
            where = (header >>> 20) & ~3;
        }
    }

    private static String express(int cap) {
        int type = (cap >> 4) & 0xF;
        String t = switch (type) {
            case 0x0 -> "Endpoint";
            case 0x1 -> "Legacy Endpoint";
            case 0x4 -> "Root Port (Slot" + flag(cap, 0x100) + ")";
            case 0x5 -> "Upstream Port";
            case 0x6 -> "Downstream Port (Slot" + flag(cap, 0x100) + ")";
            case 0x7 -> "PCI-Express to PCI/PCI-X Bridge";
            case 0x8 -> "PCI/PCI-X to PCI-Express Bridge";
            case 0x9 -> "Root Complex Integrated Endpoint";
            case 0xA -> "Root Complex Event Collector";
            default -> "Unknown type " + type;
        };
        return String.format("Express %s, MSI %02x", t, (cap & 0x3E00) >> 9);
    }

    private static char flag(int v, int bit) {
        return (v & bit) != 0 ? '+' : '-';
    }

    private static int b(String cfg, int off) {
        return off < cfg.length() ? cfg.charAt(off) & 0xFF : 0xFF;
    }

    private static int w(String cfg, int off) {
        return b(cfg, off) | b(cfg, off + 1) << 8;
    }

    private static int dw(String cfg, int off) {
        return w(cfg, off) | w(cfg, off + 2) << 16;
    }
}

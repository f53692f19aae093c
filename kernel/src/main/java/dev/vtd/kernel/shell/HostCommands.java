package dev.vtd.kernel.shell;

import dev.vtd.kernel.drivers.DriverException;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.host.Grub;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.host.Readiness;
import dev.vtd.platform.pci.PciRegs;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The host administration commands: lspci, lsmod, modprobe, rmmod, uname, reboot, setup (the BIOS setup
 * screen), grub2-mkconfig, sed -i (to edit /etc/default/grub), virt-host-validate.
 */
public final class HostCommands {
    private HostCommands() {}

    static void install(Shell s) {
        s.register("lspci", HostCommands::lspci);
        s.register("lsmod", (argv, in, io) -> {
            io.out().print(io.host().kernel().modules().lsmod());
            return 0;
        });
        s.register("modprobe", HostCommands::modprobe);
        s.register("rmmod", HostCommands::rmmod);
        s.register("uname", (argv, in, io) -> {
            io.out().println(argv.contains("-r") ? Host.KERNEL_RELEASE : argv.contains("-a")
                    ? "Linux localhost.localdomain " + Host.KERNEL_RELEASE + " #1 SMP Wed Oct 19 11:24:13 EDT 2016 x86_64 x86_64 x86_64 GNU/Linux"
                    : "Linux");
            return 0;
        });
        s.register("reboot", (argv, in, io) -> {
            io.host().reboot();
            return 0;
        });
        s.register("setup", HostCommands::setup);
        s.register("host-export", HostCommands::hostExport);
        s.register("grub2-mkconfig", HostCommands::grubMkconfig);
        s.register("sed", HostCommands::sed);
        s.register("virt-host-validate", (argv, in, io) -> {
            List<Readiness.Check> checks = Readiness.check(io.host());
            for (Readiness.Check c : checks) io.out().println(c.format());
            return Readiness.allPass(checks) ? 0 : 1;
        });
    }

    // ---- lspci ----------------------------------------------------------------------------------------

    static int lspci(List<String> argv, String in, ShellIo io) {
        boolean numeric = false, both = false, domains = false, kernel = false, tree = false;
        int verbose = 0, hex = 0;
        String select = null, ids = null;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            if (!a.startsWith("-") || a.length() < 2) {
                io.err().println("lspci: Unknown argument " + a);
                return 2;
            }
            for (int j = 1; j < a.length(); j++) {
                char c = a.charAt(j);
                switch (c) {
                    case 'n' -> {
                        if (numeric) both = true;
                        numeric = true;
                    }
                    case 'D' -> domains = true;
                    case 'k' -> kernel = true;
                    case 'v' -> verbose++;
                    case 'x' -> hex++;
                    case 't' -> tree = true;
                    case 's', 'd' -> {
                        String rest = a.substring(j + 1);
                        if (rest.isEmpty()) {
                            if (++i >= argv.size()) {
                                io.err().println("lspci: option requires an argument -- '" + c + "'");
                                return 2;
                            }
                            rest = argv.get(i);
                        }
                        if (c == 's') select = rest;
                        else ids = rest;
                        j = a.length();
                    }
                    default -> {
                        io.err().println("lspci: invalid option -- '" + c + "'");
                        return 2;
                    }
                }
            }
        }
        if (both) numeric = false;
        int[] sel = select == null ? null : parseSlot(select);
        if (select != null && sel == null) {
            io.err().println("lspci: -s: Invalid slot number");
            return 2;
        }
        int[] idf = ids == null ? null : parseIds(ids);
        if (ids != null && idf.length == 1) {
            io.err().println("lspci: -d: " + switch (idf[0]) {
                case 0 -> "Invalid vendor ID";
                case 1 -> "Invalid device ID";
                case 2 -> "Invalid class code";
                default -> "Invalid programming interface code";
            });
            return 2;
        }
        PrintWriter out = io.out();
        Kernel k = io.host().kernel();
        List<PciDevice> devs = new ArrayList<>(k.pci().devices());
        devs.sort((x, y) -> x.name().compareTo(y.name()));
        // lspci shows domains as soon as one device lives outside domain 0.
        for (PciDevice d : devs) if (d.iommuDev().segment() != 0) domains = true;
        if (tree) {
            List<PciDevice> shown = new ArrayList<>();
            for (PciDevice d : devs) if ((sel == null || slotMatches(sel, d)) && (idf == null || idsMatch(idf, d))) shown.add(d);
            LspciTree.print(out, shown, verbose > 0, numeric && !both, both);
            return 0;
        }
        for (PciDevice d : devs) {
            if (sel != null && !slotMatches(sel, d)) continue;
            if (idf != null && !idsMatch(idf, d)) continue;
            String head = headline(d, domains, numeric, both);
            int progIf = d.function().configRead(PciRegs.CLASS_PROG, 1);
            out.println(verbose > 0 && progIf != 0 ? head + String.format(" (prog-if %02x)", progIf) : head);
            if (verbose > 0) {
                if (d.function().ids().subsystemVendorId() != 0 && d.function().ids().subsystemVendorId() != 0xFFFF
                        && (d.function().configRead(PciRegs.HEADER_TYPE, 1) & 0x7F) == 0) {
                    out.println("\t" + subsystem(d));
                }
                LspciVerbose.print(out, d);
            }
            if (kernel || verbose > 0) {
                if (verbose == 0 && d.function().ids().subsystemVendorId() != 0) out.println("\t" + subsystem(d));
                if (d.driver() != null) out.println("\tKernel driver in use: " + d.driver().name());
                String mod = moduleFor(d);
                if (mod != null) out.println("\tKernel modules: " + mod);
            }
            if (hex > 0) hexDump(out, d, hex);
            if (verbose > 0 || hex > 0) out.println();
        }
        return 0;
    }

    /** lspci -x (64 bytes: the standard header), -xxx (256), -xxxx (4096 where the function has them). */
    private static void hexDump(PrintWriter out, PciDevice d, int level) {
        String cfg = SysFs.config(d.function());
        int n = level >= 4 && cfg.length() >= 4096 ? 4096 : level >= 3 ? Math.min(256, cfg.length()) : 64;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if ((i & 15) == 0) sb.append(String.format("%02x:", i));
            sb.append(String.format(" %02x", (int) cfg.charAt(i) & 0xFF));
            if ((i & 15) == 15) sb.append('\n');
        }
        out.print(sb);
    }

    /**
     * -d [vendor]:[device][:class[:prog-if]], hex, empty or * a wildcard: {vendor, device, class, progif} with -1
     * for a wildcard, or a one-element array naming the bad field (0 vendor, 1 device, 2 class, 3 prog-if).
     */
    static int[] parseIds(String s) {
        String[] f = s.split(":", -1);
        if (f.length < 2 || f.length > 4) return new int[] {0};
        int[] r = {-1, -1, -1, -1};
        int[] max = {0xFFFF, 0xFFFF, 0xFFFF, 0xFF};
        for (int i = 0; i < f.length; i++) {
            if (f[i].isEmpty() || f[i].equals("*")) continue;
            try {
                if (f[i].length() > (i == 3 ? 2 : 4)) return new int[] {i};
                int v = Integer.parseInt(f[i], 16);
                if (v < 0 || v > max[i]) return new int[] {i};
                r[i] = v;
            } catch (NumberFormatException e) {
                return new int[] {i};
            }
        }
        return r;
    }

    private static boolean idsMatch(int[] f, PciDevice d) {
        var ids = d.function().ids();
        return (f[0] < 0 || f[0] == ids.vendorId()) && (f[1] < 0 || f[1] == ids.deviceId())
                && (f[2] < 0 || f[2] == ids.classCode() >>> 8) && (f[3] < 0 || f[3] == (ids.classCode() & 0xFF));
    }

    /** lspci's first line for a device (-D domains, -n numeric, -nn both). */
    public static String headline(PciDevice d, boolean domains, boolean numeric, boolean both) {
        var ids = d.function().ids();
        String addr = domains ? d.name() : d.bdf();
        String rev = ids.revision() != 0 ? String.format(" (rev %02x)", ids.revision()) : "";
        if (numeric) {
            return String.format("%s %04x: %04x:%04x%s", addr, ids.classCode() >>> 8, ids.vendorId(), ids.deviceId(), rev);
        }
        String cls = PciNames.className(ids.classCode());
        String name = PciNames.deviceName(ids.vendorId(), ids.deviceId());
        if (both) {
            boolean unknownVendor = PciNames.vendor(ids.vendorId()) == null;
            String dev = unknownVendor ? "Device" : name.matches(".* Device [0-9a-f]{4}") ? name.substring(0, name.length() - 5) : name;
            String clsNn = PciNames.CLASSES.containsKey(ids.classCode() >>> 8) ? String.format("%s [%04x]", cls,
                    ids.classCode() >>> 8) : cls.startsWith("Class ") ? String.format("%s [%04x]", cls, ids.classCode() >>> 8) : cls;
            return String.format("%s %s: %s [%04x:%04x]%s", addr, clsNn, dev, ids.vendorId(), ids.deviceId(), rev);
        }
        return String.format("%s %s: %s%s", addr, cls, name, rev);
    }

    private static String subsystem(PciDevice d) {
        var ids = d.function().ids();
        String v = PciNames.vendor(ids.subsystemVendorId());
        return "Subsystem: " + (v == null ? String.format("Device %04x:%04x", ids.subsystemVendorId(), ids.subsystemId())
                : String.format("%s Device %04x", v, ids.subsystemId()));
    }

    private static String moduleFor(PciDevice d) {
        if (d.vendor() == 0x8086 && d.device() == 0x1521) return "igb";
        if (d.vendor() == 0x8086 && d.device() == 0x1520) return "igbvf";
        if (d.vendor() == 0x8086 && d.device() == 0x10b9) return "e1000e";
        return null;
    }

    /** [[domain:]bus:]slot[.func], hex, as lspci -s parses it; {-1} fields are wildcards. Null when malformed. */
    static int[] parseSlot(String s) {
        int[] r = {-1, -1, -1, -1};
        String[] colon = s.split(":", -1);
        try {
            String slotFn = colon[colon.length - 1];
            if (colon.length > 3) return null;
            if (colon.length == 3) r[0] = parse(colon[0], 0xFFFF);
            if (colon.length >= 2) r[1] = parse(colon[colon.length - 2], 0xFF);
            String[] dot = slotFn.split("\\.", -1);
            if (dot.length > 2) return null;
            r[2] = parse(dot[0], 0x1F);
            if (dot.length == 2) r[3] = parse(dot[1], 7);
        } catch (NumberFormatException e) {
            return null;
        }
        return r;
    }

    private static int parse(String s, int max) {
        if (s.isEmpty() || s.equals("*")) return -1;
        int v = Integer.parseInt(s, 16);
        if (v < 0 || v > max) throw new NumberFormatException(s);
        return v;
    }

    private static boolean slotMatches(int[] sel, PciDevice d) {
        var dev = d.iommuDev();
        return (sel[0] < 0 || sel[0] == dev.segment()) && (sel[1] < 0 || sel[1] == dev.bus())
                && (sel[2] < 0 || sel[2] == dev.device()) && (sel[3] < 0 || sel[3] == dev.function());
    }

    /** host-export DIR: the host's /sys, /proc and dmesg written as real files and links under DIR. */
    static int hostExport(List<String> argv, String in, ShellIo io) {
        if (argv.size() != 2) {
            io.err().println("host-export: usage: host-export DIR");
            return 2;
        }
        try {
            var c = HostExport.export(io.shell(), java.nio.file.Path.of(argv.get(1)));
            io.out().printf("exported to %s: %d files, %d directories, %d links%n", argv.get(1), c.files(), c.dirs(), c.links());
            return 0;
        } catch (java.io.IOException | RuntimeException e) {
            io.err().println("host-export: " + argv.get(1) + ": " + e.getMessage());
            return 1;
        }
    }

    // ---- modules --------------------------------------------------------------------------------------

    static int modprobe(List<String> argv, String in, ShellIo io) {
        List<String> args = new ArrayList<>();
        boolean remove = false;
        for (String a : argv.subList(1, argv.size())) {
            if (a.equals("-r")) remove = true;
            else if (a.equals("-v") || a.equals("-q")) continue;
            else args.add(a);
        }
        if (args.isEmpty()) {
            io.err().println("modprobe: ERROR: missing parameters. See -h.");
            return 1;
        }
        try {
            if (remove) {
                for (String m : args) io.host().kernel().modules().unload(m);
            } else {
                io.host().kernel().modules().load(args.getFirst(), args.subList(1, args.size()));
            }
            return 0;
        } catch (DriverException e) {
            io.err().println(switch (e.errno()) {
                case ENOENT -> "modprobe: FATAL: " + e.getMessage();
                case EBUSY -> "modprobe: FATAL: " + e.getMessage().replace(" is in use by:", " is in use.").replaceAll("\\.[^.]*$", ".");
                default -> "modprobe: ERROR: could not insert '" + args.getFirst().replace('-', '_') + "': " + e.errno().text;
            });
            return 1;
        }
    }

    static int rmmod(List<String> argv, String in, ShellIo io) {
        if (argv.size() < 2) {
            io.err().println("rmmod: ERROR: missing module name.");
            return 1;
        }
        int status = 0;
        for (String m : argv.subList(1, argv.size())) {
            try {
                io.host().kernel().modules().unload(m);
            } catch (DriverException e) {
                io.err().println("rmmod: ERROR: " + e.getMessage());
                status = 1;
            }
        }
        return status;
    }

    // ---- BIOS setup and boot loader -------------------------------------------------------------------

    static int setup(List<String> argv, String in, ShellIo io) {
        Host h = io.host();
        if (argv.size() == 1) {
            io.out().println("Intel VT for Directed I/O (VT-d): " + (h.savedBios().vtd() ? "Enabled" : "Disabled")
                    + (h.savedBios().equals(h.bios()) ? "" : " (takes effect at the next reboot)"));
            return 0;
        }
        if (argv.size() == 3 && argv.get(1).equals("vtd") && (argv.get(2).equals("on") || argv.get(2).equals("off"))) {
            h.saveBios(new Host.BiosSettings(argv.get(2).equals("on")));
            io.out().println("Intel VT for Directed I/O (VT-d): " + (h.savedBios().vtd() ? "Enabled" : "Disabled")
                    + " (saved; reboot to apply)");
            return 0;
        }
        io.err().println("setup: usage: setup [vtd on|off]");
        return 2;
    }

    static int grubMkconfig(List<String> argv, String in, ShellIo io) {
        String output = null;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("-o") && i + 1 < argv.size()) output = argv.get(++i);
            else if (a.startsWith("--output=")) output = a.substring(9);
            else {
                io.err().println("grub2-mkconfig: unrecognized option `" + a + "'");
                return 1;
            }
        }
        if (output == null) {
            io.err().println("grub2-mkconfig: writing to standard output is not supported here; use -o " + Grub.CONFIG_FILE);
            return 1;
        }
        if (!output.startsWith("/boot/")) {
            io.err().println("/usr/sbin/grub2-mkconfig: line 250: " + output + ": No such file or directory");
            return 1;
        }
        io.err().print(io.host().grubMkconfig(output));
        return 0;
    }

    /** sed -i 's/REGEX/REPLACEMENT/[g]' FILE (and without -i, to standard output). */
    static int sed(List<String> argv, String in, ShellIo io) {
        boolean inPlace = false;
        String script = null;
        List<String> files = new ArrayList<>();
        for (String a : argv.subList(1, argv.size())) {
            if (a.equals("-i")) inPlace = true;
            else if (a.equals("-e")) continue;
            else if (script == null) script = a;
            else files.add(a);
        }
        if (script == null) {
            io.err().println("Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...");
            return 1;
        }
        Matcher m = Pattern.compile("^s(.)(.*?)\\1(.*?)\\1(g?)$").matcher(script);
        if (!m.matches()) {
            io.err().println("sed: -e expression #1, char " + script.length() + ": unknown command: `" + script.charAt(0) + "'");
            return 1;
        }
        Pattern re;
        try {
            re = Pattern.compile(Builtins.breToJava(m.group(2)));
        } catch (PatternSyntaxException e) {
            io.err().println("sed: -e expression #1, char " + script.length() + ": Invalid preceding regular expression");
            return 1;
        }
        String replacement = m.group(3).replace("\\", "\\\\").replace("$", "\\$").replace("&", "$0");
        boolean global = !m.group(4).isEmpty();
        List<String> sources = files.isEmpty() ? List.of("-") : files;
        for (String f : sources) {
            String text;
            try {
                text = f.equals("-") ? in : io.shell().fs().read(f);
            } catch (Vfs.VfsException e) {
                io.err().println("sed: can't read " + f + ": " + e.getMessage());
                return 2;
            }
            StringBuilder sb = new StringBuilder();
            for (String line : Builtins.lines(text)) {
                Matcher lm = re.matcher(line);
                sb.append(global ? lm.replaceAll(replacement) : lm.replaceFirst(replacement)).append('\n');
            }
            if (inPlace && !f.equals("-")) {
                try {
                    io.shell().fs().write(f, sb.toString(), false);
                } catch (Vfs.VfsException e) {
                    io.err().println("sed: couldn't open temporary file " + f + ": " + e.getMessage());
                    return 4;
                }
            } else {
                io.out().print(sb);
            }
        }
        return 0;
    }
}

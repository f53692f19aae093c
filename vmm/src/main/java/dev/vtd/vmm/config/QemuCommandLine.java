package dev.vtd.vmm.config;

import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code qemu-system-x86_64} command line as users write it for device assignment:
 * {@code -enable-kvm -smp 4 -m 8G rhel7.3.img -device vfio-pci,host=01:00.3,addr=06.0,id=nic0} (also
 * {@code multifunction=}, {@code rombar=}, the legacy {@code -device pci-assign,host=01:00.0}, {@code -name},
 * {@code -monitor stdio}). Errors are QEMU's: {@code qemu-system-x86_64: -device ...: Property 'vfio-pci.foo' not found}.
 */
public record QemuCommandLine(String name, int smp, long memoryBytes, String disk, List<DeviceRequest> devices,
                              List<String> deviceOptions, boolean monitorStdio, List<String> warnings) {
    public static final String PROGRAM = "qemu-system-x86_64";
    private static final Set<String> VFIO_PROPS = Set.of("host", "id", "addr", "multifunction", "rombar", "bus",
            "romfile", "x-no-mmap");
    private static final Set<String> NO_ARG = Set.of("-enable-kvm", "-nographic", "-no-reboot", "-S");
    private static final Set<String> IGNORED_WITH_ARG = Set.of("-cpu", "-machine", "-M", "-drive", "-net", "-netdev",
            "-vga", "-display", "-boot", "-serial", "-usb", "-rtc");

    public static QemuCommandLine parse(List<String> args) {
        String name = "vm", disk = null;
        int smp = 1;
        long mem = 128L << 20;
        boolean monitor = false;
        List<DeviceRequest> devs = new ArrayList<>();
        List<String> opts = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        int i = 0;
        if (!args.isEmpty() && (args.getFirst().equals(PROGRAM) || args.getFirst().endsWith("/" + PROGRAM))) i = 1;
        for (; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("-")) {
                disk = a;
                continue;
            }
            String opt = a.startsWith("--") ? a.substring(1) : a;
            if (NO_ARG.contains(opt)) continue;
            if (!IGNORED_WITH_ARG.contains(opt) && !Set.of("-smp", "-m", "-name", "-monitor", "-device", "-hda").contains(opt)) {
                throw new VmmException(PROGRAM + ": " + a + ": invalid option");
            }
            if (i + 1 >= args.size()) throw new VmmException(PROGRAM + ": " + a + ": requires an argument");
            String v = args.get(++i);
            switch (opt) {
                case "-smp" -> smp = parseSmp(v);
                case "-m" -> mem = parseSize(v);
                case "-name" -> name = v.split(",")[0].replaceFirst("^guest=", "");
                case "-monitor" -> {
                    if (!v.equals("stdio")) throw new VmmException(PROGRAM + ": -monitor " + v + ": only 'stdio' is supported here");
                    monitor = true;
                }
                case "-device" -> {
                    devs.add(parseDevice(v, "-device " + v, warnings));
                    opts.add("-device " + v);
                }
                case "-hda" -> disk = v;
                default -> { }
            }
        }
        return new QemuCommandLine(name, smp, mem, disk, List.copyOf(devs), List.copyOf(opts), monitor,
                List.copyOf(warnings));
    }

    static int parseSmp(String v) {
        String first = v.split(",")[0].replaceFirst("^cpus=", "");
        try {
            int n = Integer.parseInt(first);
            if (n >= 1 && n <= 255) return n;
        } catch (NumberFormatException ignored) { }
        throw new VmmException(PROGRAM + ": -smp " + v + ": Invalid SMP CPUs " + first);
    }

    /** -m: a number with an optional suffix (default MiB). */
    static long parseSize(String v) {
        String s = v.replaceFirst("^size=", "").split(",")[0].trim();
        long unit = 1L << 20;
        if (!s.isEmpty()) {
            char c = Character.toUpperCase(s.charAt(s.length() - 1));
            int shift = switch (c) { case 'K' -> 10; case 'M' -> 20; case 'G' -> 30; case 'T' -> 40; default -> -1; };
            if (shift >= 0) {
                unit = 1L << shift;
                s = s.substring(0, s.length() - 1);
            }
        }
        try {
            long n = Long.parseLong(s);
            if (n > 0 && n <= (1L << 46) / unit) return n * unit;
        } catch (NumberFormatException ignored) { }
        throw new VmmException(PROGRAM + ": -m " + v + ": Parameter 'size' expects a non-negative number below 2^64");
    }

    /** A -device (or device_add) option string: driver, then key=value properties. */
    public static DeviceRequest parseDevice(String spec, String where, List<String> warnings) {
        String[] parts = spec.split(",");
        String driver = parts[0].trim();
        if (driver.startsWith("driver=")) driver = driver.substring(7);
        if (!driver.equals("vfio-pci") && !driver.equals("pci-assign")) {
            throw new VmmException(PROGRAM + ": " + where + ": '" + driver + "' is not a valid device model name");
        }
        Map<String, String> props = new LinkedHashMap<>();
        for (int k = 1; k < parts.length; k++) {
            String p = parts[k];
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq), val = eq < 0 ? "on" : p.substring(eq + 1);
            if (!VFIO_PROPS.contains(key)) {
                throw new VmmException(PROGRAM + ": " + where + ": Property '" + driver + "." + key + "' not found");
            }
            props.put(key, val);
        }
        String host = props.get("host");
        if (host == null) {
            throw new VmmException(PROGRAM + ": " + where + ": No provided host device - Use -device " + driver
                    + ",host=DDDD:BB:DD.F");
        }
        if (!host.matches("([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]")) {
            throw new VmmException(PROGRAM + ": " + where + ": Property '" + driver + ".host' doesn't take value '" + host + "'");
        }
        if (host.length() == 7) host = "0000:" + host;
        int slot = -1, fn = 0;
        String addr = props.get("addr");
        if (addr != null) {
            String[] sf = addr.split("\\.");
            try {
                slot = Integer.parseInt(sf[0].replaceFirst("^0x", ""), 16);
                fn = sf.length > 1 ? Integer.parseInt(sf[1]) : 0;
                if (slot > 31 || fn > 7 || sf.length > 2) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                throw new VmmException(PROGRAM + ": " + where + ": Property '" + driver + ".addr' doesn't take value '" + addr + "'");
            }
        }
        boolean multifunction = onOff(props.getOrDefault("multifunction", "off"), driver, "multifunction", where);
        boolean rombar = !props.getOrDefault("rombar", "1").equals("0");
        if (driver.equals("pci-assign")) {
            warnings.add(PROGRAM + ": " + where + ": warning: 'pci-assign' (KVM device assignment) is deprecated;"
                    + " using 'vfio-pci' instead");
        }
        return new DeviceRequest(driver, host.toLowerCase(), props.get("id"), slot, fn, multifunction, rombar);
    }

    private static boolean onOff(String v, String driver, String key, String where) {
        return switch (v) {
            case "on", "yes", "true" -> true;
            case "off", "no", "false" -> false;
            default -> throw new VmmException(PROGRAM + ": " + where + ": Property '" + driver + "." + key
                    + "' doesn't take value '" + v + "'");
        };
    }

    /** Splits a shell-like line (single and double quotes). */
    public static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        char quote = 0;
        boolean any = false;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
                else cur.append(c);
            } else if (c == '\'' || c == '"') {
                quote = c;
                any = true;
            } else if (Character.isWhitespace(c)) {
                if (any || !cur.isEmpty()) out.add(cur.toString());
                cur.setLength(0);
                any = false;
            } else {
                cur.append(c);
            }
        }
        if (quote != 0) throw new VmmException("unterminated quote in: " + line);
        if (any || !cur.isEmpty()) out.add(cur.toString());
        return out;
    }
}

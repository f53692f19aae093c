package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.platform.devices.EduDevice;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of QEMU's command line a q35 qtest run uses: {@code -machine q35[,accel=...]}, {@code -m SIZE},
 * {@code -device intel-iommu,...}, {@code -device edu,addr=DD.F[,dma_mask=N]}, {@code -qtest CHARDEV},
 * {@code -qtest-log FILE}. Options without meaning for this machine are accepted and ignored; anything
 * else is an error worded as QEMU words it.
 *
 * @param ramBytes  guest RAM from address 0
 * @param iommu     the intel-iommu properties, or null without {@code -device intel-iommu}
 * @param edus      edu devices in command-line order
 * @param qtest     the qtest character device ({@code stdio} or {@code unix:PATH[,server][,wait=off]})
 * @param qtestLog  file to log the protocol to, or null
 */
public record QemuCommandLine(long ramBytes, IntelIommuProperties iommu, List<Presets.Edu> edus, Chardev qtest,
                              String qtestLog) {
    /** QEMU's default RAM size (128 MiB). */
    public static final long DEFAULT_RAM = 128L << 20;
    /** q35 keeps RAM below 4 GiB up to 0xB0000000 before splitting it; the model has no high RAM. */
    public static final long MAX_RAM = 0xB000_0000L;
    public static final long MIN_RAM = 2L << 20;

    /** Where the qtest protocol is spoken. */
    public sealed interface Chardev {}

    public record Stdio() implements Chardev {}

    /** A Unix socket: with {@code server} we listen on the path, without it we connect to it (as libqtest expects). */
    public record UnixSocket(String path, boolean server, boolean waitForClient) implements Chardev {}

    /** Options taking no argument that mean nothing for a qtest-driven model. */
    private static final Set<String> IGNORED_FLAGS = Set.of("nodefaults", "nographic", "no-reboot", "no-shutdown",
            "S", "enable-kvm", "no-user-config", "no-hpet");
    /** Options taking one argument that mean nothing here. */
    private static final Set<String> IGNORED_WITH_ARG = Set.of("display", "bios", "accel", "serial", "monitor",
            "vga", "name", "cpu", "smp", "parallel", "chardev", "global", "rtc");

    public static QemuCommandLine parse(List<String> args) {
        long ram = DEFAULT_RAM;
        IntelIommuProperties iommu = null;
        List<Presets.Edu> edus = new ArrayList<>();
        List<String> eduOptions = new ArrayList<>();
        Chardev qtest = new Stdio();
        String log = null;
        boolean machineSeen = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("-") || a.equals("-") || a.equals("--")) {
                throw new QemuOptionException("'" + a + "': unexpected argument (options start with '-'; this model takes no disk images)");
            }
            String name = a.startsWith("--") ? a.substring(2) : a.substring(1);
            if (IGNORED_FLAGS.contains(name)) continue;
            if (!IGNORED_WITH_ARG.contains(name) && !Set.of("machine", "M", "m", "device", "qtest", "qtest-log").contains(name)) {
                throw new QemuOptionException(a + ": invalid option");
            }
            if (i + 1 >= args.size()) throw new QemuOptionException(a + ": requires an argument");
            String v = args.get(++i);
            String option = a + " " + v;
            switch (name) {
                case "machine", "M" -> {
                    machine(option, v);
                    machineSeen = true;
                }
                case "m" -> ram = ramSize(option, v);
                case "device" -> {
                    Map<String, String> props = new LinkedHashMap<>();
                    String driver = device(option, v, props);
                    switch (driver) {
                        case "intel-iommu" -> {
                            if (iommu != null) {
                                throw new QemuOptionException(option + ": QEMU does not support multiple vIOMMUs for x86 yet.");
                            }
                            iommu = IntelIommuProperties.parse(option, props);
                        }
                        case "edu" -> {
                            edus.add(edu(option, props, edus, eduOptions));
                            eduOptions.add(v);
                        }
                        default -> throw new QemuOptionException(option + ": '" + driver + "' is not a valid device model name");
                    }
                }
                case "qtest" -> qtest = chardev(option, v);
                case "qtest-log" -> log = v.equals("none") ? null : v;
                default -> { }                                  // ignored option with its argument
            }
        }
        if (!machineSeen) {
            throw new QemuOptionException("No machine specified, and there is no default\nUse -machine help to list supported machines");
        }
        return new QemuCommandLine(ram, iommu, List.copyOf(edus), qtest, log);
    }

    private static void machine(String option, String v) {
        Map<String, String> props = new LinkedHashMap<>();
        String type = keyval(option, v, props, "type");
        if (!type.equals("q35") && !type.matches("pc-q35-[0-9.]+")) {
            throw new QemuOptionException(option + ": unsupported machine type (this model is q35 only)\n"
                    + "Use -machine help to list supported machines");
        }
        for (Map.Entry<String, String> p : props.entrySet()) {
            switch (p.getKey()) {
                case "accel" -> {
                    for (String acc : p.getValue().split(":")) {
                        if (!Set.of("qtest", "tcg", "kvm").contains(acc)) {
                            throw new QemuOptionException(option + ": invalid accelerator " + acc);
                        }
                    }
                }
                case "kernel-irqchip", "usb", "vmport", "smm", "graphics", "dump-guest-core", "mem-merge" -> { }
                default -> throw new QemuOptionException(option + ": Property 'pc-q35-7.2-machine." + p.getKey() + "' not found");
            }
        }
    }

    /** {@code -m}: a size with an optional suffix (B, K, M, G, T), MiB without one; also {@code size=}. */
    static long ramSize(String option, String v) {
        Map<String, String> props = new LinkedHashMap<>();
        String size = keyval(option, v, props, "size");
        if (props.containsKey("size")) size = props.remove("size");
        for (String k : props.keySet()) {
            if (!k.equals("slots") && !k.equals("maxmem")) throw new QemuOptionException(option + ": Invalid parameter '" + k + "'");
        }
        long bytes = sizeInBytes(size, 20);
        if (bytes < 0) throw new QemuOptionException(option + ": Parameter 'size' expects a non-negative number below 2^64");
        if (bytes < MIN_RAM || bytes > MAX_RAM) {
            throw new QemuOptionException(option + ": RAM size must lie between 2M and 2816M for this q35 model "
                    + "(no RAM above 4 GiB)");
        }
        return bytes;
    }

    /** QEMU's size syntax; {@code defaultShift} applies without a suffix. Returns -1 when malformed. */
    static long sizeInBytes(String s, int defaultShift) {
        if (s == null || s.isEmpty()) return -1;
        int shift = defaultShift;
        char last = Character.toUpperCase(s.charAt(s.length() - 1));
        String num = s;
        int idx = "BKMGTPE".indexOf(last);
        if (idx >= 0) {
            shift = idx * 10;
            num = s.substring(0, s.length() - 1);
        }
        if (!num.matches("[0-9]+(\\.[0-9]+)?")) return -1;
        try {
            BigDecimal bytes = new BigDecimal(num).multiply(BigDecimal.valueOf(2).pow(shift));
            if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) return -1;
            return bytes.longValue();
        } catch (NumberFormatException | ArithmeticException e) {
            return -1;
        }
    }

    /** Splits {@code driver,k=v,...}; returns the driver and fills props (a bare key means {@code =on}). */
    private static String device(String option, String v, Map<String, String> props) {
        if (v.startsWith("{")) throw new QemuOptionException(option + ": JSON device syntax is not supported here");
        String driver = keyval(option, v, props, "driver");
        if (props.containsKey("driver")) driver = props.remove("driver");
        if (driver == null || driver.isEmpty()) throw new QemuOptionException(option + ": Parameter 'driver' is missing");
        return driver;
    }

    /**
     * QEMU's {@code first,k=v,k=v} option syntax: the first element without '=' is the implied key's
     * value; later bare keys mean {@code k=on}. Returns the implied value (or null).
     */
    private static String keyval(String option, String v, Map<String, String> props, String implied) {
        String first = null;
        String[] parts = v.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) throw new QemuOptionException(option + ": Invalid parameter ''");
            int eq = p.indexOf('=');
            if (i == 0 && eq < 0) {
                first = p;
                continue;
            }
            String k = eq < 0 ? p : p.substring(0, eq);
            String val = eq < 0 ? "on" : p.substring(eq + 1);
            if (k.equals(implied) && i == 0) first = val;
            else props.put(k, val);
        }
        return first;
    }

    private static Presets.Edu edu(String option, Map<String, String> props, List<Presets.Edu> taken, List<String> takenBy) {
        int dev = -1, fn = 0;
        long mask = EduDevice.DEFAULT_DMA_MASK;
        for (Map.Entry<String, String> p : props.entrySet()) {
            switch (p.getKey()) {
                case "addr" -> {
                    String a = p.getValue();
                    var m = java.util.regex.Pattern.compile("(?:0x)?([0-9a-fA-F]{1,2})(?:\\.([0-7]))?").matcher(a);
                    if (!m.matches() || Integer.parseInt(m.group(1), 16) > 31) {
                        throw new QemuOptionException(option + ": Property 'edu.addr' doesn't take value '" + a + "'");
                    }
                    dev = Integer.parseInt(m.group(1), 16);
                    fn = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
                }
                case "dma_mask" -> mask = uint(option, "dma_mask", p.getValue(), -1L);
                case "id", "multifunction", "rombar", "romfile", "x-pcie-lnksta-dllla", "x-pcie-extcap-init" -> { }
                default -> throw new QemuOptionException(option + ": Property 'edu." + p.getKey() + "' not found");
            }
        }
        if (dev < 0) {
            // QEMU places a device without addr= at the first free slot.
            dev = 1;
            while (dev < 31 && slotTaken(dev, 0, taken) >= 0) dev++;
            fn = 0;
        }
        String user = dev == 0 ? "mch" : dev == 0x1F && (fn == 0 || fn == 2 || fn == 3)
                ? (fn == 0 ? "ICH9-LPC" : fn == 2 ? "ich9-ahci" : "ICH9-SMB") : null;
        int idx = slotTaken(dev, fn, taken);
        if (user == null && idx >= 0) user = "edu";
        if (user != null) {
            throw new QemuOptionException(option + ": PCI: slot " + dev + " function " + fn
                    + " not available for edu, in use by " + user);
        }
        return new Presets.Edu(dev, fn, mask);
    }

    private static int slotTaken(int dev, int fn, List<Presets.Edu> taken) {
        for (int i = 0; i < taken.size(); i++) {
            if (taken.get(i).device() == dev && taken.get(i).function() == fn) return i;
        }
        return -1;
    }

    private static Chardev chardev(String option, String v) {
        if (v.equals("stdio")) return new Stdio();
        if (v.startsWith("unix:")) {
            String[] parts = v.substring(5).split(",", -1);
            if (parts[0].isEmpty()) throw new QemuOptionException(option + ": chardev: unix socket path missing");
            boolean server = false, wait = true;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i];
                switch (p) {
                    case "server", "server=on" -> server = true;
                    case "server=off" -> server = false;
                    case "nowait", "wait=off" -> wait = false;
                    case "wait", "wait=on" -> wait = true;
                    default -> throw new QemuOptionException(option + ": Invalid parameter '" + p.replaceFirst("=.*", "") + "'");
                }
            }
            return new UnixSocket(parts[0], server, wait);
        }
        throw new QemuOptionException("Failed to initialize device for qtest: \"" + v + "\" (this model speaks qtest on "
                + "stdio or unix:PATH)");
    }

    /** QEMU's boolean property values. */
    static boolean bool(String option, String key, String v) {
        return switch (v) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new QemuOptionException(option + ": Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    /** An unsigned integer property (decimal, 0x hex or 0 octal) up to {@code max} (unsigned). */
    static long uint(String option, String key, String v, long max) {
        long n;
        try {
            n = QtestSession.parseNumber(v);
        } catch (NumberFormatException e) {
            throw new QemuOptionException(option + ": Parameter '" + key + "' expects uint64");
        }
        if (Long.compareUnsigned(n, max) > 0) {
            throw new QemuOptionException(option + ": Property '" + key + "' doesn't take value " + Long.toUnsignedString(n));
        }
        return n;
    }
}

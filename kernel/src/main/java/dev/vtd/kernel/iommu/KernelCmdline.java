package dev.vtd.kernel.iommu;

import java.util.ArrayList;
import java.util.List;

/**
 * The IOMMU-related switches of the kernel command line, parsed the way Linux parses them:
 * <ul>
 * <li>{@code intel_iommu=} comma-separated options {@code on}, {@code off}, {@code sm_on}, {@code sm_off},
 * {@code sp_off}, {@code igfx_off}, {@code strict} (deprecated alias of iommu.strict=1); anything else earns
 * {@code DMAR: Unknown option - '...'} (drivers/iommu/intel/iommu.c intel_iommu_setup);</li>
 * <li>{@code iommu=pt} / {@code iommu=nopt} (arch/x86/kernel/pci-dma.c) and {@code iommu.passthrough=};</li>
 * <li>{@code iommu.strict=0|1} (kstrtobool values: 0/1, y/n, on/off);</li>
 * <li>{@code intremap=} comma-separated {@code on}, {@code off}, {@code nosid}, {@code no_x2apic_optout},
 * {@code nopost} (drivers/iommu/intel/irq_remapping.c setup_irqremap).</li>
 * </ul>
 * Other parameters are kept in {@link #params()} and otherwise ignored, as the kernel passes unknown
 * parameters on to init. Messages the kernel prints while parsing are in {@link #messages()}.
 */
public record KernelCmdline(String raw, List<String> params, Switch intelIommu, Switch scalableMode,
                            boolean superpagesOff, Switch passThrough, Switch strict, boolean strictViaIntelIommu,
                            boolean intremapOff, boolean intremapNoSid, boolean intremapNoX2apicOptout,
                            boolean intremapNoPost, List<String> messages) {

    /** A switch the command line may set; DEFAULT when it says nothing. */
    public enum Switch { DEFAULT, ON, OFF }

    public KernelCmdline {
        params = List.copyOf(params);
        messages = List.copyOf(messages);
    }

    /** An empty command line: every switch at its default. */
    public static KernelCmdline defaults() {
        return parse("");
    }

    /** Splits at blanks outside double quotes (the kernel's next_arg) and interprets the known parameters. */
    public static KernelCmdline parse(String raw) {
        List<String> params = split(raw);
        Switch iommu = Switch.DEFAULT, sm = Switch.DEFAULT, pt = Switch.DEFAULT, strict = Switch.DEFAULT;
        boolean spOff = false, strictAlias = false, irOff = false, noSid = false, noOptout = false, noPost = false;
        List<String> msgs = new ArrayList<>();
        for (String p : params) {
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq);
            String value = eq < 0 ? null : unquote(p.substring(eq + 1));
            switch (key) {
                case "intel_iommu" -> {
                    if (value == null) break;
                    // intel_iommu_setup: options matched by prefix, separated by commas.
                    String rest = value;
                    while (!rest.isEmpty()) {
                        if (rest.startsWith("on")) {
                            iommu = Switch.ON;
                            msgs.add("DMAR: IOMMU enabled");
                        } else if (rest.startsWith("off")) {
                            iommu = Switch.OFF;
                            msgs.add("DMAR: IOMMU disabled");
                        } else if (rest.startsWith("igfx_off")) {
                            msgs.add("DMAR: Disable GFX device mapping");
                        } else if (rest.startsWith("strict")) {
                            msgs.add("DMAR: intel_iommu=strict deprecated; use iommu.strict=1 instead");
                            strict = Switch.ON;
                            strictAlias = true;
                        } else if (rest.startsWith("sp_off")) {
                            msgs.add("DMAR: Disable supported super page");
                            spOff = true;
                        } else if (rest.startsWith("sm_on")) {
                            sm = Switch.ON;
                        } else if (rest.startsWith("sm_off")) {
                            sm = Switch.OFF;
                        } else {
                            msgs.add("DMAR: Unknown option - '" + rest + "'");
                        }
                        int comma = rest.indexOf(',');
                        rest = comma < 0 ? "" : rest.substring(comma + 1);
                        while (rest.startsWith(",")) rest = rest.substring(1);
                    }
                }
                case "iommu" -> {
                    if (value == null) break;
                    for (String opt : value.split(",")) {
                        if (opt.equals("pt")) pt = Switch.ON;
                        else if (opt.equals("nopt")) pt = Switch.OFF;
                    }
                }
                case "iommu.passthrough", "iommu.strict" -> {
                    Boolean b = value == null ? null : kstrtobool(value);
                    if (b == null) {
                        msgs.add("Malformed early option '" + key + "'");
                    } else if (key.equals("iommu.strict")) {
                        strict = b ? Switch.ON : Switch.OFF;
                        strictAlias = false;
                    } else {
                        pt = b ? Switch.ON : Switch.OFF;
                    }
                }
                case "intremap" -> {
                    if (value == null) break;
                    for (String opt : value.split(",")) {
                        switch (opt) {
                            case "on" -> irOff = false;
                            case "off" -> irOff = true;
                            case "nosid" -> noSid = true;
                            case "no_x2apic_optout" -> noOptout = true;
                            case "nopost" -> noPost = true;
                            default -> { }
                        }
                    }
                }
                default -> { }
            }
        }
        return new KernelCmdline(raw, params, iommu, sm, spOff, pt, strict, strictAlias, irOff, noSid, noOptout,
                noPost, msgs);
    }

    /** The DMA translation enable decision: intel_iommu=on/off, else the kernel's built-in default. */
    public boolean iommuEnabled(boolean defaultOn) {
        return switch (intelIommu) {
            case ON -> true;
            case OFF -> false;
            case DEFAULT -> defaultOn;
        };
    }

    /** iommu=pt (or iommu.passthrough=1): default domains are identity. */
    public boolean passThroughDefault() {
        return passThrough == Switch.ON;
    }

    /** Strict invalidation (iommu.strict=1); the x86 default is lazy. */
    public boolean strictDefault() {
        return strict == Switch.ON;
    }

    /** The parameters this model does not interpret (kept, passed on, ignored). */
    public List<String> ignoredParams() {
        return params.stream().filter(p -> {
            String k = p.contains("=") ? p.substring(0, p.indexOf('=')) : p;
            return !List.of("intel_iommu", "iommu", "iommu.strict", "iommu.passthrough", "intremap").contains(k);
        }).toList();
    }

    private static List<String> split(String raw) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '"') quoted = !quoted;
            if (!quoted && Character.isWhitespace(c)) {
                if (!cur.isEmpty()) out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (!cur.isEmpty()) out.add(cur.toString());
        return out;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    /** lib/kstrtox.c kstrtobool: first character y/Y/1 or n/N/0, or on/off; null when not a boolean. */
    static Boolean kstrtobool(String s) {
        if (s.isEmpty()) return null;
        return switch (s.charAt(0)) {
            case 'y', 'Y', '1' -> true;
            case 'n', 'N', '0' -> false;
            case 'o', 'O' -> s.length() > 1 && (s.charAt(1) == 'n' || s.charAt(1) == 'N') ? Boolean.TRUE
                    : s.length() > 1 && (s.charAt(1) == 'f' || s.charAt(1) == 'F') ? Boolean.FALSE : null;
            default -> null;
        };
    }
}

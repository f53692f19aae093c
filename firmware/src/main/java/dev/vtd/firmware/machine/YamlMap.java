package dev.vtd.firmware.machine;

import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A YAML mapping read field by field, keeping the node marks so every problem names file, line and
 * field path ({@code iommus[0].cap}). Unknown and duplicate keys are errors.
 */
final class YamlMap {
    private final String source;
    private final Node node;
    private final String path;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();

    private YamlMap(String source, Node node, String path) {
        this.source = source;
        this.node = node;
        this.path = path;
    }

    /** The mapping at {@code node}; {@code allowed} are its known keys. */
    static YamlMap of(String source, Node node, String path, Set<String> allowed) {
        if (!(node instanceof MappingNode m)) {
            throw error(source, node, path, "expected a mapping of " + String.join(", ", sorted(allowed)));
        }
        YamlMap y = new YamlMap(source, node, path);
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                throw error(source, t.getKeyNode(), path, "keys must be plain words");
            }
            String key = k.getValue();
            String field = y.field(key);
            if (!allowed.contains(key)) {
                throw error(source, k, field, "unknown key; known keys: " + String.join(", ", sorted(allowed)));
            }
            if (y.entries.putIfAbsent(key, t) != null) throw error(source, k, field, "duplicate key");
        }
        return y;
    }

    private static List<String> sorted(Set<String> s) {
        return s.stream().sorted().toList();
    }

    static int line(Node n) {
        return n == null ? 0 : n.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    static MachineDescriptionException error(String source, Node n, String field, String problem) {
        return new MachineDescriptionException(source, line(n), field, problem);
    }

    MachineDescriptionException error(String key, String problem) {
        NodeTuple t = entries.get(key);
        return error(source, t == null ? node : t.getValueNode(), field(key), problem);
    }

    String source() { return source; }
    Node node() { return node; }
    String path() { return path; }
    int line() { return line(node); }

    String field(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        NodeTuple t = entries.get(key);
        return t != null && !isNull(t.getValueNode());
    }

    Node node(String key) {
        NodeTuple t = entries.get(key);
        return t == null ? null : t.getValueNode();
    }

    private static boolean isNull(Node n) {
        return n instanceof ScalarNode s && Tag.NULL.equals(s.getTag());
    }

    YamlMap map(String key, Set<String> allowed) {
        if (!has(key)) return null;
        return of(source, node(key), field(key), allowed);
    }

    /** The elements of a sequence (empty if the key is absent). */
    List<Node> list(String key) {
        if (!has(key)) return List.of();
        if (!(node(key) instanceof SequenceNode s)) throw error(key, "expected a list");
        return new ArrayList<>(s.getValue());
    }

    /** A list of plain scalars. */
    List<String> strings(String key) {
        List<String> out = new ArrayList<>();
        List<Node> items = list(key);
        for (int i = 0; i < items.size(); i++) out.add(scalar(source, items.get(i), field(key) + "[" + i + "]"));
        return out;
    }

    static String scalar(String source, Node n, String field) {
        if (!(n instanceof ScalarNode s)) throw error(source, n, field, "expected a single value");
        return s.getValue();
    }

    String string(String key, String dflt) {
        return has(key) ? scalar(source, node(key), field(key)) : dflt;
    }

    String requireString(String key) {
        if (!has(key)) throw error(source, node, field(key), "required");
        return string(key, null);
    }

    boolean bool(String key, boolean dflt) {
        if (!has(key)) return dflt;
        String v = string(key, null);
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw error(key, "'" + v + "' is not true or false");
        };
    }

    /** A number: decimal or 0x hex, with an optional binary unit K, M, G, T (e.g. 2G, 512M, 0x1000). */
    long number(String key, long dflt) {
        if (!has(key)) return dflt;
        return number(source, node(key), field(key));
    }

    long requireNumber(String key) {
        if (!has(key)) throw error(source, node, field(key), "required");
        return number(key, 0);
    }

    static long number(String source, Node n, String field) {
        String v = scalar(source, n, field);
        long r = parseNumber(v);
        if (r < 0) throw error(source, n, field, "'" + v + "' is not a number (decimal, 0x hex, or with K/M/G/T)");
        return r;
    }

    long number(String key, long dflt, long min, long max) {
        long v = number(key, dflt);
        if (has(key) && (v < min || v > max)) {
            throw error(key, "'" + string(key, "") + "' is out of range " + min + ".." + max);
        }
        return v;
    }

    int integer(String key, int dflt, int min, int max) {
        return (int) number(key, dflt, min, max);
    }

    /** A 64-bit hex number, with or without 0x (the form Linux prints CAP/ECAP in). */
    long hex(String key) {
        if (!has(key)) throw error(source, node, field(key), "required");
        String v = string(key, null);
        String t = v.trim().replace("_", "");
        if (t.startsWith("0x") || t.startsWith("0X")) t = t.substring(2);
        if (t.isEmpty() || t.length() > 16 || !t.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw error(key, "'" + v + "' is not a hex number");
        }
        return Long.parseUnsignedLong(t, 16);
    }

    /** Non-negative value of a number text, or -1 if it is not one (or does not fit in 63 bits). */
    static long parseNumber(String text) {
        String t = text.trim().replace("_", "");
        long unit = 1;
        if (!t.startsWith("0x") && !t.startsWith("0X") && !t.isEmpty()) {
            String u = t.toUpperCase(Locale.ROOT);
            if (u.endsWith("IB")) u = u.substring(0, u.length() - 2);
            else if (u.endsWith("B") && u.length() > 1 && "KMGT".indexOf(u.charAt(u.length() - 2)) >= 0) u = u.substring(0, u.length() - 1);
            int shift = switch (u.isEmpty() ? ' ' : u.charAt(u.length() - 1)) {
                case 'K' -> 10;
                case 'M' -> 20;
                case 'G' -> 30;
                case 'T' -> 40;
                default -> 0;
            };
            if (shift > 0) {
                unit = 1L << shift;
                t = u.substring(0, u.length() - 1);
            }
        }
        try {
            long v;
            if (t.startsWith("0x") || t.startsWith("0X")) {
                String h = t.substring(2);
                if (h.isEmpty() || h.length() > 16 || !h.chars().allMatch(c -> Character.digit(c, 16) >= 0)) return -1;
                v = Long.parseUnsignedLong(h, 16);
            } else {
                if (t.isEmpty() || !t.chars().allMatch(c -> c >= '0' && c <= '9')) return -1;
                v = Long.parseLong(t);
            }
            if (v < 0) return -1;
            return Math.multiplyExact(v, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            return -1;
        }
    }
}

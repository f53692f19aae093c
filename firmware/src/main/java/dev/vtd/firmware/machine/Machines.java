package dev.vtd.firmware.machine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Machine descriptions by name: the presets embedded as YAML resources ({@code machines/NAME.yaml})
 * or a YAML file given by path.
 */
public final class Machines {
    private Machines() {}

    /** The preset a tool uses when none is named. */
    public static final String DEFAULT = "r630";

    /** Embedded presets, in the order tools list them. */
    public static final List<String> PRESETS = List.of("r630", "q35", "desktop");

    /** A preset's name and one-line description. */
    public record Preset(String name, String description) {}

    /**
     * A preset name ({@link #PRESETS}) or the path of a {@code .yaml}/{@code .yml} file. Anything else
     * is a {@link MachineDescriptionException} naming it and the presets.
     */
    public static MachineDescription load(String nameOrFile) {
        if (PRESETS.contains(nameOrFile)) return preset(nameOrFile);
        Path p = Path.of(nameOrFile);
        boolean yaml = nameOrFile.endsWith(".yaml") || nameOrFile.endsWith(".yml");
        if (yaml || Files.exists(p)) {
            if (!Files.isRegularFile(p)) throw new MachineDescriptionException(nameOrFile, 0, "", "no such file");
            return MachineDescription.load(p);
        }
        throw new MachineDescriptionException(nameOrFile, 0, "",
                "not a preset (" + String.join(", ", PRESETS) + ") nor a .yaml file");
    }

    /** An embedded preset. */
    public static MachineDescription preset(String name) {
        if (!PRESETS.contains(name)) {
            throw new MachineDescriptionException(name, 0, "", "no such preset (" + String.join(", ", PRESETS) + ")");
        }
        String resource = "machines/" + name + ".yaml";
        try (InputStream in = Machines.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("preset resource " + resource + " is missing from the build");
            return MachineDescription.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read preset resource " + resource, e);
        }
    }

    /** Every preset with its description. */
    public static List<Preset> presets() {
        return PRESETS.stream().map(n -> new Preset(n, preset(n).description())).toList();
    }
}

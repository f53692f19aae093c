package dev.vtd.kernel.shell;

import dev.vtd.firmware.machine.Machines;
import dev.vtd.kernel.host.Host;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real lspci (pciutils) reading an exported host tree (-A linux-sysfs -O sysfs.path=DIR/sys/bus/pci) prints
 * exactly what vtd's own lspci prints, switch for switch, on every preset. Names come from one ID file written
 * from vtd's table (-i), so the comparison is of lspci's formats and of what sysfs holds. Skipped, with the
 * reason, where lspci is not installed.
 */
class RealLspciAgreesTest {
    static final List<String> SWITCHES = List.of("", "-n", "-nn", "-D", "-x", "-xxx", "-xxxx", "-t", "-tv", "-tn",
            "-s 01:00.0", "-s 00:", "-s .1", "-d 8086:", "-d :1521", "-d ::0200", "-nn -d 8086:1521", "-D -n -s 0:0.0",
            "-n -x -s 00:00.0", "-v", "-k", "-s 01:00.0 -k", "-D -s 0000:00:1f.2 -v");

    /** The machines compared: each preset, and the R630 with two of its I350's VFs enabled. */
    static final List<String[]> MACHINES = List.of(new String[] {"r630", ""}, new String[] {"q35", ""},
            new String[] {"desktop", ""},
            new String[] {"r630", "echo 2 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"});

    static Path lspci() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String d : List.of(dir, dir.replace("/bin", "/sbin"))) {
                Path p = Path.of(d.isEmpty() ? "." : d, "lspci");
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    @TestFactory
    List<DynamicTest> realLspciOnTheExportedTreePrintsWhatVtdsLspciPrints(@TempDir Path tmp) throws IOException {
        Path tool = lspci();
        Path ids = tmp.resolve("pci.ids");
        Files.writeString(ids, idsFile(), StandardCharsets.UTF_8);
        List<DynamicTest> tests = new ArrayList<>();
        int n = 0;
        for (String[] m : MACHINES) {
            Path dir = tmp.resolve("m" + n++);
            String label = m[0] + (m[1].isEmpty() ? "" : " after '" + m[1] + "'");
            for (String sw : SWITCHES) {
                tests.add(DynamicTest.dynamicTest(label + ": lspci " + sw, () -> {
                    assumeTrue(tool != null, "lspci (pciutils) is not on PATH; install pciutils to run this comparison");
                    String[] vtd = exportAndRun(m[0], m[1], dir, sw);
                    List<String> cmd = new ArrayList<>(List.of(tool.toString(), "-A", "linux-sysfs", "-O",
                            "sysfs.path=" + dir.resolve("sys/bus/pci"), "-i", ids.toString()));
                    if (!sw.isEmpty()) cmd.addAll(List.of(sw.split(" ")));
                    assertEquals(run(cmd), withoutModules(vtd[0]), "lspci " + sw + " on " + label);
                }));
            }
        }
        // With the system's own pci.ids (no -i): vtd's names are those of the ID database.
        Path systemIds = PciNamesMatchPciIdsTest.PLACES.stream().filter(Files::isRegularFile).findFirst().orElse(null);
        n = 0;
        for (String[] m : MACHINES) {
            Path dir = tmp.resolve("m" + n++);
            for (String sw : List.of("", "-nn", "-tv")) {
                tests.add(DynamicTest.dynamicTest(m[0] + " with the system's pci.ids: lspci " + sw, () -> {
                    assumeTrue(tool != null, "lspci (pciutils) is not on PATH; install pciutils to run this comparison");
                    assumeTrue(systemIds != null, "no system pci.ids");
                    String[] vtd = exportAndRun(m[0], m[1], dir, sw);
                    List<String> cmd = new ArrayList<>(List.of(tool.toString(), "-A", "linux-sysfs", "-O",
                            "sysfs.path=" + dir.resolve("sys/bus/pci")));
                    if (!sw.isEmpty()) cmd.addAll(List.of(sw.split(" ")));
                    assertEquals(run(cmd), withoutModules(vtd[0]), "lspci " + sw + " on " + m[0]);
                }));
            }
        }
        return tests;
    }

    private static final java.util.Map<String, String> EXPORTED = new java.util.HashMap<>();

    /** Boots the machine once per directory, runs the script, exports; then runs vtd's lspci with the switches. */
    private static synchronized String[] exportAndRun(String machine, String script, Path dir, String sw) throws IOException {
        try (Host host = Host.boot(b -> Machines.load(machine).builder().vtdEnabledInBios(b.vtd()).build())) {
            Shell sh = Shell.create(host);
            if (!script.isEmpty()) sh.run(script);
            if (!EXPORTED.containsKey(dir.toString())) {
                HostExport.export(sh, dir);
                EXPORTED.put(dir.toString(), machine);
            }
            return new String[] {sh.run("lspci " + sw)};
        }
    }

    /** The real tool's standard output (its complaint that it cannot load libkmod goes to standard error, unread). */
    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
        return new String(out, StandardCharsets.UTF_8);
    }

    /** "Kernel modules:" needs the host's modules.alias, which an exported tree does not carry. */
    static String withoutModules(String s) {
        return s.replaceAll("(?m)^\tKernel modules: .*\n", "");
    }

    /** vtd's name table in pci.ids syntax. */
    static String idsFile() {
        StringBuilder sb = new StringBuilder();
        for (var v : new TreeMap<>(PciNames.VENDORS).entrySet()) {
            sb.append(String.format("%04x  %s%n", v.getKey(), v.getValue()));
            for (var d : new TreeMap<>(PciNames.DEVICES).entrySet()) {
                if (d.getKey() >>> 16 == v.getKey()) sb.append(String.format("\t%04x  %s%n", d.getKey() & 0xFFFF, d.getValue()));
            }
        }
        TreeMap<Integer, String> classes = new TreeMap<>(PciNames.CLASSES);
        for (var base : new TreeMap<>(PciNames.BASE_CLASSES).entrySet()) {
            sb.append(String.format("C %02x  %s%n", base.getKey(), base.getValue()));
            for (var c : classes.entrySet()) {
                if (c.getKey() >> 8 == base.getKey()) sb.append(String.format("\t%02x  %s%n", c.getKey() & 0xFF, c.getValue()));
            }
        }
        return sb.toString();
    }
}

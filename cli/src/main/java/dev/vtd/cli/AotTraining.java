package dev.vtd.cli;

import dev.vtd.cli.qtest.QemuCommandLine;
import dev.vtd.cli.qtest.QtestMachine;
import dev.vtd.cli.qtest.QtestServer;
import dev.vtd.cli.qtest.QtestSession;
import dev.vtd.firmware.machine.Machine;
import dev.vtd.cli.args.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run behind the {@code ./vtd} launcher's JDK 25 AOT cache ({@code -XX:AOTCacheOutput},
 * JEP 483/514/515): one JVM that runs the commands people start most often, so the classes they load
 * and link (and the profiles of their methods) are in the cache and later starts skip that work.
 * Reached only as {@code java -jar vtd.jar --aot-training}; everything the commands print goes nowhere,
 * and the run exits non-zero (so the launcher keeps no cache) if any of them fails.
 */
final class AotTraining {
    static final String FLAG = "--aot-training";

    private static final List<List<String>> COMMANDS = List.of(
            List.of("decode", "cap", "0x8d2078c106f0466", "ecap", "0xf020df"),
            List.of("decode", "irte", "0x4400000d", "0x40020"),
            List.of("decode", "msi", "--address", "0xfee00010", "--data", "0x4041"),
            List.of("machine", "list"),
            List.of("machine", "show", "r630"),
            List.of("--help"),
            List.of("demo"));

    private static final List<String> QTEST_LINE = List.of("-machine", "q35", "-nodefaults", "-display", "none",
            "-m", "512M", "-device", "intel-iommu,intremap=on", "-device", "edu,addr=04.0", "-qtest", "stdio");

    private AotTraining() {
    }

    static int run() throws Exception {
        return failures().isEmpty() ? 0 : 1;
    }

    /** Runs the training commands; returns the ones that did not exit 0. */
    static List<String> failures() throws Exception {
        PrintStream realOut = System.out, realErr = System.err;
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
        System.setOut(nowhere);
        System.setErr(nowhere);
        try {
            PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
            List<String> failed = new ArrayList<>();
            for (List<String> args : COMMANDS) {
                CommandLine cl = Main.commandLine();
                cl.setOut(sink);
                cl.setErr(sink);
                if (cl.execute(args.toArray(String[]::new)) != 0) failed.add(String.join(" ", args));
            }
            qtest();
            return failed;
        } finally {
            System.setOut(realOut);
            System.setErr(realErr);
        }
    }

    /** A qtest session as the conformance harness drives one: registers, tables, edu DMA, an MSI. */
    private static void qtest() throws Exception {
        byte[] lines;
        try (InputStream script = AotTraining.class.getResourceAsStream("/aot/training.qtest")) {
            if (script == null) throw new IOException("aot/training.qtest missing from the jar");
            lines = script.readAllBytes();
        }
        try (Machine m = QtestMachine.build(QemuCommandLine.parse(QTEST_LINE))) {
            new QtestServer(new QtestSession(m), null).serve(new ByteArrayInputStream(lines), OutputStream.nullOutputStream());
        }
    }
}

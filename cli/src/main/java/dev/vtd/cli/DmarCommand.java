package dev.vtd.cli;

import dev.vtd.firmware.acpi.DmarFormatException;
import dev.vtd.firmware.acpi.DmarFormatter;
import dev.vtd.firmware.acpi.DmarParser;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.cli.args.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** {@code vtd dmar ...}: the ACPI DMAR table. Subcommands are nested classes. */
@Command(name = "dmar", mixinStandardHelpOptions = true,
        description = "Read ACPI DMAR (DMA Remapping Reporting) tables, or build one for a machine.",
        subcommands = {DmarCommand.Dump.class, DmarCommand.Build.class})
public final class DmarCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Output styles of {@code vtd dmar dump}. */
    public enum Format { iasl, kernel }

    /** {@code vtd dmar dump FILE [--format iasl|kernel] [--address ADDR]}. */
    @Command(name = "dump", mixinStandardHelpOptions = true,
            description = "Decode a binary DMAR table (e.g. /sys/firmware/acpi/tables/DMAR): every field (iasl), "
                    + "or the lines Linux logs for it at boot (kernel).")
    public static final class Dump implements Runnable {
        @Parameters(index = "0", paramLabel = "FILE", description = "Binary DMAR table.")
        String file;

        @Option(names = "--format", defaultValue = "iasl",
                description = "iasl (field listing, default) or kernel (Linux boot lines).")
        Format format;

        @Option(names = "--address", defaultValue = "0", paramLabel = "ADDR",
                description = "Physical address of the table shown in the kernel banner line (hex, default 0).")
        String address;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            long tableAddress = Hex.parseLong(address, "dmar dump --address");
            DmarTable table = read(file, "dmar dump");
            PrintWriter out = spec.commandLine().getOut();
            switch (format) {
                case iasl -> out.print(DmarFormatter.iasl(table));
                case kernel -> DmarFormatter.kernelLog(table, tableAddress).forEach(out::println);
            }
            out.flush();
        }
    }

    /** {@code vtd dmar build --machine NAME|FILE -o FILE}. */
    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Write the binary DMAR table generated from a machine description (preset or YAML file).")
    public static final class Build implements Runnable {
        @Option(names = "--machine", defaultValue = dev.vtd.firmware.machine.Machines.DEFAULT, paramLabel = "NAME|FILE",
                description = "Preset name or YAML file (default: ${DEFAULT-VALUE}).")
        String machine;

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the table.")
        String output;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            DmarTable table = MachineCommand.load(machine).dmar();
            byte[] bytes = table.encode();
            Path path = Path.of(output);
            try {
                Files.write(path, bytes);
            } catch (NoSuchFileException e) {
                throw new UserInputException("dmar build -o " + output + ": no such directory");
            } catch (AccessDeniedException e) {
                throw new UserInputException("dmar build -o " + output + ": permission denied");
            } catch (IOException e) {
                throw new UserInputException("dmar build -o " + output + ": cannot write: " + e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s: DMAR for %s, %d bytes, %d remapping structures%n", output, machine, bytes.length,
                    table.structures().size());
            out.flush();
        }
    }

    /**
     * Reads and parses a DMAR table file; any problem becomes a one-line {@link UserInputException}
     * ({@code dmar dump FILE: offset 0x30: ...}). {@code command} is the words before FILE in that line.
     */
    static DmarTable read(String file, String command) {
        String where = command + " " + file;
        byte[] bytes;
        try {
            bytes = dev.vtd.platform.io.UserFiles.readBytes(file, dev.vtd.platform.io.UserFiles.TABLE_LIMIT);
        } catch (dev.vtd.platform.io.UserFiles.Problem e) {
            throw new UserInputException(where + ": " + e.getMessage());
        }
        try {
            return DmarParser.parse(bytes, file);
        } catch (DmarFormatException e) {
            throw new UserInputException(command + " " + e.getMessage());
        }
    }
}

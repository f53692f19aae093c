package dev.vtd.cli;

import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Option;
import dev.vtd.cli.args.CommandLine.Parameters;
import dev.vtd.firmware.acpi.ivrs.IvrsFormatException;
import dev.vtd.firmware.acpi.ivrs.IvrsFormatter;
import dev.vtd.firmware.acpi.ivrs.IvrsLinux;
import dev.vtd.firmware.acpi.ivrs.IvrsParser;
import dev.vtd.firmware.acpi.ivrs.IvrsTable;
import dev.vtd.firmware.acpi.ivrs.IvrsTables;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code vtd ivrs ...}: the ACPI IVRS table of AMD IOMMUs (AMD-Vi). Subcommands are nested classes. */
@Command(name = "ivrs", mixinStandardHelpOptions = true,
        description = "Read ACPI IVRS (I/O Virtualization Reporting Structure) tables of AMD IOMMUs, or build one.",
        subcommands = {IvrsCommand.Dump.class, IvrsCommand.Build.class})
public final class IvrsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Output styles of {@code vtd ivrs dump}. */
    public enum Format { iasl, kernel }

    /** {@code vtd ivrs dump FILE [--format iasl|kernel] [--address ADDR] [--ioapic ID,...]}. */
    @Command(name = "dump", mixinStandardHelpOptions = true,
            description = "Decode a binary IVRS table (e.g. /sys/firmware/acpi/tables/IVRS): every field as iasl -d "
                    + "lists it (iasl), or the lines Linux logs for it at boot (kernel).")
    public static final class Dump implements Runnable {
        @Parameters(index = "0", paramLabel = "FILE", description = "Binary IVRS table.")
        String file;

        @Option(names = "--format", defaultValue = "iasl", description = "iasl (field listing, default) or kernel (Linux lines).")
        Format format;

        @Option(names = "--address", defaultValue = "0", paramLabel = "ADDR",
                description = "Physical address of the table for the kernel banner line (hex, default 0).")
        String address;

        @Option(names = "--ioapic", paramLabel = "ID,...",
                description = "IOAPIC IDs of the MADT, for Linux's interrupt-remapping check (default: those the IVRS names).")
        String ioapics;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            long tableAddress = Hex.parseLong(address, "ivrs dump --address");
            IvrsTable table = read(file, "ivrs dump");
            PrintWriter out = spec.commandLine().getOut();
            switch (format) {
                case iasl -> out.print(IvrsFormatter.iasl(table));
                case kernel -> {
                    List<Integer> ids = new ArrayList<>();
                    if (ioapics == null) {
                        ids.addAll(IvrsLinux.ioapicMap(table).keySet());
                    } else {
                        for (String s : ioapics.split(",")) {
                            long v = Hex.parseLong(s.strip(), "ivrs dump --ioapic");
                            if (v > 255) throw new UserInputException("ivrs dump --ioapic: IOAPIC ID " + s + " is over 0xff");
                            ids.add((int) v);
                        }
                    }
                    IvrsLinux.kernelLog(table, tableAddress, true, ids).forEach(out::println);
                }
            }
            out.flush();
        }
    }

    /** {@code vtd ivrs build -o FILE}: the built-in Zen desktop table. */
    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Write the IVRS of vtd's Zen desktop (IOMMU at 00:00.2, IVHD 10h/11h/40h, IOAPICs, HPET, IVMD).")
    public static final class Build implements Runnable {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the table.")
        String output;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            IvrsTable table = IvrsTables.zenDesktop();
            byte[] bytes = table.encode();
            try {
                Files.write(Path.of(output), bytes);
            } catch (NoSuchFileException e) {
                throw new UserInputException("ivrs build -o " + output + ": no such directory");
            } catch (AccessDeniedException e) {
                throw new UserInputException("ivrs build -o " + output + ": permission denied");
            } catch (IOException e) {
                throw new UserInputException("ivrs build -o " + output + ": cannot write: " + e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s: IVRS, %d bytes, %d subtables%n", output, bytes.length, table.subtables().size());
            out.flush();
        }
    }

    static IvrsTable read(String file, String command) {
        String where = command + " " + file;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new UserInputException(where + ": no such file");
        } catch (AccessDeniedException e) {
            throw new UserInputException(where + ": permission denied");
        } catch (IOException e) {
            throw new UserInputException(where + ": cannot read: " + e.getMessage());
        }
        try {
            return IvrsParser.parse(bytes, file);
        } catch (IvrsFormatException e) {
            throw new UserInputException(command + " " + e.getMessage());
        }
    }
}

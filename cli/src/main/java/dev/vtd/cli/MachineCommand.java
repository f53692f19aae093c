package dev.vtd.cli;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.machine.DmarScopes;
import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.MachineDescription;
import dev.vtd.firmware.machine.MachineDescriptionException;
import dev.vtd.firmware.machine.Machines;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciSegment;
import dev.vtd.cli.args.CommandLine;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code vtd machine ...}: machine descriptions (presets and YAML files). */
@Command(name = "machine", mixinStandardHelpOptions = true,
        description = "Machine descriptions: the embedded presets and YAML files.",
        subcommands = {MachineCommand.ListPresets.class, MachineCommand.Show.class})
public final class MachineCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Loads a preset or file; problems become one-line user errors. */
    static MachineDescription load(String nameOrFile) {
        try {
            return Machines.load(nameOrFile);
        } catch (MachineDescriptionException e) {
            throw new UserInputException(e.getMessage());
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The embedded machine presets.")
    public static final class ListPresets implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            PrintWriter out = spec.commandLine().getOut();
            for (Machines.Preset p : Machines.presets()) {
                out.printf("%-8s %s%s%n", p.name(), p.description(), p.name().equals(Machines.DEFAULT) ? " (default)" : "");
            }
            out.flush();
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "A machine's remapping units, PCI tree (with the unit owning each device and the requester ID "
                    + "its DMA carries) and reserved memory regions.")
    public static final class Show implements Runnable {
        @Parameters(index = "0", paramLabel = "NAME|FILE", description = "A preset (see 'vtd machine list') or a YAML file.")
        String machine;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            MachineDescription d = load(machine);
            PrintWriter out = spec.commandLine().getOut();
            try (Machine m = d.builder().build()) {
                show(d, m).forEach(out::println);
            }
            out.flush();
        }
    }

    static List<String> show(MachineDescription d, Machine m) {
        List<String> out = new ArrayList<>();
        out.add(d.name() + ": " + d.description());
        Machine.CpuInfo cpu = m.cpu();
        out.add(String.format("cpu: %d x %s (%s)%s", cpu.count(), cpu.modelName(), cpu.vendorId(),
                cpu.hasFlag("vmx") ? ", vmx" : ""));
        StringBuilder mem = new StringBuilder("memory:");
        for (MachineDescription.MemoryRange r : d.memory()) {
            mem.append(String.format(" [0x%x-0x%x] %s", r.base(), r.end(), size(r.size())));
        }
        out.add(mem.toString());
        DmarTable t = m.dmar();
        if (t == null) {
            out.add("VT-d: disabled in the BIOS (no DMAR table, no remapping units)");
        } else {
            out.add(String.format("DMAR: at 0x%x, %d bytes, host address width %d, flags 0x%x%s%s%s", m.dmarAddress(),
                    t.length(), t.hostAddressWidth(), t.flags(), t.intrRemap() ? " INTR_REMAP" : "",
                    t.x2apicOptOut() ? " X2APIC_OPT_OUT" : "", t.dmaCtrlPlatformOptIn() ? " DMA_CTRL_PLATFORM_OPT_IN" : ""));
            out.add("units:");
            for (MachineDescription.Iommu u : d.iommus()) {
                out.add(String.format("  %-6s base 0x%x ver %s cap 0x%x ecap 0x%x segment %d%s", u.id(), u.base(),
                        u.versionText(), u.cap().raw(), u.ecap().raw(), u.segment(), u.includePciAll() ? " INCLUDE_PCI_ALL" : ""));
            }
        }
        out.add("pci:");
        for (PciSegment s : m.pci().segments()) {
            for (PciBus root : s.rootBuses()) {
                out.add(String.format("  [%04x:%02x-%02x]", s.number(), root.number(), root.lastBusNumber()));
                bus(m, root, "    ", out);
            }
        }
        if (t != null) {
            for (DmarStructure.Rmrr r : t.structuresOf(DmarStructure.Rmrr.class)) {
                PciSegment seg = m.pci().segment(r.segment());
                List<String> devs = new ArrayList<>();
                for (DeviceScope sc : r.scopes()) {
                    PciFunction f = seg == null ? null : DmarScopes.resolve(seg, sc);
                    devs.add(f == null ? "(unresolved)" : bdf(f.rid()) + " " + f.name());
                }
                out.add(String.format("rmrr: [0x%x-0x%x] for %s", r.base(), r.limit(), String.join(", ", devs)));
            }
        }
        return out;
    }

    private static void bus(Machine m, PciBus bus, String indent, List<String> out) {
        List<PciFunction> fns = new ArrayList<>();
        for (PciFunction f : bus.functions()) {
            fns.add(f);
            if (f.sriov() != null) fns.addAll(f.sriov().virtualFunctions());
        }
        for (int i = 0; i < fns.size(); i++) {
            PciFunction f = fns.get(i);
            boolean last = i == fns.size() - 1;
            out.add(indent + (last ? "`-" : "+-") + line(m, f));
            if (f instanceof PciBridge b && !f.isVirtualFunction()) {
                bus(m, b.secondaryBus(), indent + (last ? "  " : "| "), out);
            }
        }
    }

    private static String line(Machine m, PciFunction f) {
        StringBuilder sb = new StringBuilder(String.format("%s [%04x:%04x] %s %s", bdf(f.rid()), f.ids().vendorId(),
                f.ids().deviceId(), className(f), f.name()));
        if (f instanceof PciBridge b) {
            sb.append(String.format(" (%s, bus %02x-%02x)", b.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                    b.secondaryBusNumber(), b.subordinateBusNumber()));
        }
        Machine.Unit u = m.unitFor(f);
        sb.append(" -> ").append(u == null ? "no unit" : u.hardware().config().name());
        int rid = f.dma().requesterId();
        sb.append(" rid ").append(bdf(rid));
        if (rid != f.rid()) sb.append(" (alias)");
        return sb.toString();
    }

    static String bdf(int rid) {
        return String.format("%02x:%02x.%x", rid >>> 8 & 0xFF, rid >>> 3 & 0x1F, rid & 7);
    }

    private static String size(long bytes) {
        if (bytes % (1L << 30) == 0) return (bytes >> 30) + " GiB";
        if (bytes % (1L << 20) == 0) return (bytes >> 20) + " MiB";
        return (bytes >> 10) + " KiB";
    }

    /** A short name of the class code (PCI Code and ID Assignment spec), as lspci shows it. */
    static String className(PciFunction f) {
        int cls = f.ids().classCode() >>> 8;
        return switch (cls) {
            case 0x0000 -> "Non-VGA device";
            case 0x0106 -> "SATA controller";
            case 0x0200 -> "Ethernet controller";
            case 0x0300 -> "VGA compatible controller";
            case 0x0302 -> "3D controller";
            case 0x0600 -> "Host bridge";
            case 0x0601 -> "ISA bridge";
            case 0x0604 -> "PCI bridge";
            case 0x0800 -> "PIC";
            case 0x0880 -> "System peripheral";
            case 0x0c03 -> "USB controller";
            case 0x0c05 -> "SMBus";
            case 0x00ff -> "Unclassified device";
            default -> String.format("Class %04x", cls);
        };
    }
}

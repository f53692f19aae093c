package dev.vtd.vmm.config;

import dev.vtd.vmm.AssignmentException;
import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.GuestPciDevice;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.VmmException;
import dev.vtd.vmm.vfio.VfioPciDevice;
import dev.vtd.platform.pci.PciRegs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The QEMU human monitor (HMP) of one VM: {@code device_add}, {@code device_del}, {@code info pci},
 * {@code info status}, {@code migrate}, {@code quit}. Each command returns its output; errors come back as the
 * text QEMU prints (no exception).
 */
public final class QemuMonitor {
    public static final String PROMPT = "(qemu) ";
    private final Vmm vmm;
    private final VirtualMachine vm;

    public QemuMonitor(Vmm vmm, VirtualMachine vm) {
        this.vmm = vmm;
        this.vm = vm;
    }

    public VirtualMachine vm() { return vm; }

    public String execute(String line) {
        String l = line.trim();
        if (l.isEmpty()) return "";
        int sp = l.indexOf(' ');
        String cmd = sp < 0 ? l : l.substring(0, sp), arg = sp < 0 ? "" : l.substring(sp + 1).trim();
        try {
            return switch (cmd) {
                case "device_add" -> deviceAdd(arg);
                case "device_del" -> {
                    if (arg.isEmpty()) yield "Parameter 'id' is missing";
                    vm.unplug(arg);
                    vmm.run(0);
                    yield "";
                }
                case "info" -> switch (arg) {
                    case "pci" -> infoPci();
                    case "status" -> "VM status: " + (vm.running() ? "running" : "paused");
                    default -> "info: unknown subcommand '" + arg + "' (try: pci, status)";
                };
                case "migrate" -> migrate(arg);
                case "quit", "q" -> {
                    vm.destroy();
                    yield "";
                }
                case "help" -> "device_add driver[,prop=value][,...] -- add device\ndevice_del device -- remove device\n"
                        + "info pci|status\nmigrate uri -- migrate to URI\nquit -- quit the emulator";
                default -> "unknown command: '" + cmd + "'";
            };
        } catch (AssignmentException e) {
            return e.report() == null ? e.reason() : e.report() + "\n" + e.reason();
        } catch (VmmException e) {
            return e.getMessage();
        }
    }

    private String deviceAdd(String spec) {
        if (spec.isEmpty()) return "Parameter 'driver' is missing";
        List<String> warnings = new ArrayList<>();
        DeviceRequest d;
        try {
            d = QemuCommandLine.parseDevice(spec, "device_add", warnings);
        } catch (VmmException e) {
            return e.getMessage().replaceFirst("^" + QemuCommandLine.PROGRAM + ": device_add: ", "");
        }
        vm.hotplug(d);
        vmm.run(0);
        return String.join("\n", warnings.stream().map(w -> w.replaceFirst("^.*?warning: ", "warning: ")).toList());
    }

    private String migrate(String uri) {
        List<String> blockers = vm.migrationBlockers();
        if (!blockers.isEmpty()) return "Error: " + blockers.getFirst();
        if (uri.isEmpty()) return "Parameter 'uri' is missing";
        return "migration to " + uri + ": no blockers; the destination side is not part of this host";
    }

    /** info pci, QEMU's legacy layout. */
    public String infoPci() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<Integer, GuestPciDevice> e : vm.pciBus().entrySet()) {
            int devfn = e.getKey();
            GuestPciDevice d = e.getValue();
            int vendor = d.configRead(PciRegs.VENDOR_ID, 2), device = d.configRead(PciRegs.DEVICE_ID, 2);
            int cls = d.configRead(PciRegs.CLASS_PROG + 1, 2);
            sb.append(String.format("  Bus  0, device %3d, function %d:%n", devfn >>> 3, devfn & 7));
            sb.append(String.format("    %s: PCI device %04x:%04x%n", dev.vtd.vmm.host.PciNames.className(cls << 8), vendor, device));
            for (int i = 0; i < 6; i++) {
                long a = d.guestBarAddress(i), sz = d.barSize(i);
                if (sz == 0 || a == 0) continue;
                sb.append(String.format("      BAR%d: memory at 0x%x [0x%x].%n", i, a, a + sz - 1));
            }
            if (d instanceof VfioPciDevice v) sb.append("      ").append(v.describe()).append('\n');
            if (d.id() != null) sb.append("      id \"").append(d.id()).append("\"\n");
        }
        return sb.toString().stripTrailing();
    }
}

package dev.vtd.vmm.config;

import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.AssignmentException;
import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.VmmException;
import dev.vtd.vmm.host.HostPci;
import org.w3c.dom.Element;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A small virsh against the host's libvirtd: define, undefine, start, destroy, list, dumpxml, attach-device,
 * detach-device, nodedev-detach, nodedev-reattach, qemu-monitor-command. {@code managed='yes'} host devices are
 * detached from their host driver and bound to vfio-pci when the domain starts (or the device is attached), and
 * given back to their driver when it stops (or is detached). Commands return virsh's output; failures throw
 * {@link VmmException} with virsh's {@code error:} lines, and leave nothing half-done.
 */
public final class Virsh {
    private static final class Domain {
        DomainXml def;
        final String file;
        VirtualMachine vm;
        QemuMonitor monitor;
        final Map<String, String> aliases = new LinkedHashMap<>();   // host address -> hostdevN
        final List<PciFunction> detached = new ArrayList<>();

        Domain(DomainXml def, String file) {
            this.def = def;
            this.file = file;
        }
    }

    private final Vmm vmm;
    private final Function<String, String> files;
    private final Map<String, Domain> domains = new LinkedHashMap<>();

    public Virsh(Vmm vmm) {
        this(vmm, Virsh::readFile);
    }

    /** @param files reads a file named on the command line */
    public Virsh(Vmm vmm, Function<String, String> files) {
        this.vmm = vmm;
        this.files = files;
    }

    private static String readFile(String name) {
        try {
            return dev.vtd.platform.io.UserFiles.readText(name, dev.vtd.platform.io.UserFiles.TEXT_LIMIT);
        } catch (dev.vtd.platform.io.UserFiles.Problem e) {
            String why = e.getMessage().equals("no such file") ? "No such file or directory" : e.getMessage();
            throw new VmmException("error: Failed to open file '" + name + "': " + why);
        }
    }

    public String execute(List<String> args) {
        if (args.isEmpty()) throw new VmmException("error: no command given");
        String cmd = args.getFirst();
        List<String> a = args.subList(1, args.size());
        return switch (cmd) {
            case "define" -> define(arg(a, 0, "file"));
            case "undefine" -> undefine(arg(a, 0, "domain"));
            case "start" -> start(arg(a, 0, "domain"));
            case "destroy" -> destroy(arg(a, 0, "domain"));
            case "list" -> list(a.contains("--all"));
            case "dumpxml" -> dumpxml(arg(a, 0, "domain"));
            case "attach-device" -> attach(arg(a, 0, "domain"), arg(a, 1, "file"));
            case "detach-device" -> detach(arg(a, 0, "domain"), arg(a, 1, "file"));
            case "nodedev-detach", "nodedev-dettach" -> nodedevDetach(arg(a, 0, "device"));
            case "nodedev-reattach" -> nodedevReattach(arg(a, 0, "device"));
            case "qemu-monitor-command" -> monitorCommand(a);
            default -> throw new VmmException("error: unknown command: '" + cmd + "'");
        };
    }

    private static String arg(List<String> a, int i, String what) {
        List<String> pos = a.stream().filter(s -> !s.startsWith("--")).toList();
        if (i >= pos.size()) throw new VmmException("error: command requires <" + what + "> option");
        return pos.get(i);
    }

    private Domain domain(String name) {
        Domain d = domains.get(name);
        if (d == null) throw new VmmException("error: failed to get domain '" + name + "'");
        return d;
    }

    public String define(String file) {
        DomainXml x = DomainXml.parse(files.apply(file), file);
        Domain old = domains.get(x.name());
        if (old != null && old.vm != null) old.def = x;
        else domains.put(x.name(), new Domain(x, file));
        return "Domain '" + x.name() + "' defined from " + file;
    }

    private String undefine(String name) {
        Domain d = domain(name);
        if (d.vm != null) throw new VmmException("error: Failed to undefine domain '" + name + "'\nerror: Requested operation is not valid: cannot undefine a running domain here");
        domains.remove(name);
        return "Domain '" + name + "' has been undefined";
    }

    private String start(String name) {
        Domain d = domain(name);
        if (d.vm != null) throw new VmmException("error: Failed to start domain '" + name + "'\nerror: Requested operation is not valid: domain is already running");
        String prefix = "error: Failed to start domain '" + name + "'\n";
        VirtualMachine vm = null;
        try {
            for (DomainXml.Hostdev h : d.def.hostdevs()) prepare(d, h, prefix);
            vm = vmm.create(new VirtualMachine.Config(name, d.def.vcpus(), Math.max(1L << 20, d.def.memoryKiB() * 1024), true));
            int n = 0;
            d.aliases.clear();
            List<DomainXml.Hostdev> placed = new ArrayList<>();
            for (DomainXml.Hostdev h : d.def.hostdevs()) {
                String alias = "hostdev" + n++;
                VirtualMachine.Assigned a = vm.assign(request(h, alias));
                d.aliases.put(h.hostAddress(), alias);
                placed.add(h.withGuestAddress(a.devfn() >>> 3, a.devfn() & 7));
            }
            d.def = d.def.withHostdevs(placed);
            vm.start();
        } catch (VmmException e) {
            if (vm != null) vm.destroy();
            releaseDetached(d);
            String detail = e instanceof AssignmentException ae
                    ? "error: internal error: qemu unexpectedly closed the monitor: "
                    + ae.forOption(QemuCommandLine.PROGRAM, "-device vfio-pci,host=" + hostOf(ae))
                    : e.getMessage().startsWith("error: ") ? e.getMessage() : "error: " + e.getMessage();
            throw new VmmException(prefix + detail);
        }
        d.vm = vm;
        d.monitor = new QemuMonitor(vmm, vm);
        return "Domain '" + name + "' started";
    }

    private static String hostOf(AssignmentException e) {
        String r = e.reason();
        int i = r.indexOf("vfio 0000:");
        return i < 0 ? "?" : r.substring(i + 10, Math.min(r.length(), i + 17));
    }

    private static DeviceRequest request(DomainXml.Hostdev h, String alias) {
        String driver = h.driver().equals("kvm") ? "pci-assign" : "vfio-pci";
        return new DeviceRequest(driver, h.hostAddress(), alias, h.guestSlot(), Math.max(0, h.guestFunction()),
                false, true);
    }

    /** The device must exist; managed ones are detached from their host driver and bound to vfio-pci. */
    private void prepare(Domain d, DomainXml.Hostdev h, String prefix) {
        PciFunction f = vmm.host().pci().find(h.hostAddress());
        if (f == null) {
            throw new VmmException("error: Device " + h.hostAddress() + " not found: could not access /sys/bus/pci/devices/"
                    + h.hostAddress() + "/config: No such file or directory");
        }
        if (!h.managed()) return;
        HostPci pci = vmm.host().pci();
        if (HostPci.VFIO_PCI.equals(pci.driver(f))) return;
        if (pci.driver(f) != null) pci.unbind(f);
        pci.bind(f, HostPci.VFIO_PCI);
        d.detached.add(f);
    }

    private void releaseDetached(Domain d) {
        HostPci pci = vmm.host().pci();
        for (PciFunction f : d.detached) reattach(pci, f);
        d.detached.clear();
    }

    private static void reattach(HostPci pci, PciFunction f) {
        pci.reattach(f);
    }

    private String destroy(String name) {
        Domain d = domain(name);
        if (d.vm == null) throw new VmmException("error: Failed to destroy domain '" + name + "'\nerror: Requested operation is not valid: domain is not running");
        d.vm.destroy();
        d.vm = null;
        d.monitor = null;
        releaseDetached(d);
        return "Domain '" + name + "' destroyed";
    }

    private String list(boolean all) {
        StringBuilder sb = new StringBuilder(" Id   Name        State\n-----------------------------\n");
        for (Domain d : domains.values()) {
            if (d.vm == null && !all) continue;
            sb.append(String.format(" %-4s %-11s %s%n", d.vm == null ? "-" : Integer.toString(d.vm.domainId()),
                    d.def.name(), d.vm == null ? "shut off" : "running"));
        }
        return sb.toString().stripTrailing();
    }

    private String dumpxml(String name) {
        Domain d = domain(name);
        return d.def.toXml(d.vm == null ? "shut off" : "running", d.vm == null ? -1 : d.vm.domainId());
    }

    private DomainXml.Hostdev deviceFile(String file) {
        Element root = DomainXml.parseRoot(files.apply(file), file);
        boolean iface = root.getTagName().equals("interface") && root.getAttribute("type").equals("hostdev");
        if (!root.getTagName().equals("hostdev") && !iface) {
            throw new VmmException("error: " + file + ": XML error: unsupported device <" + root.getTagName()
                    + ">, expecting <hostdev>");
        }
        return DomainXml.hostdev(root, file, iface);
    }

    private String attach(String name, String file) {
        Domain d = domain(name);
        DomainXml.Hostdev h = deviceFile(file);
        if (d.vm == null) {
            List<DomainXml.Hostdev> l = new ArrayList<>(d.def.hostdevs());
            l.add(h);
            d.def = d.def.withHostdevs(l);
            return "Device attached successfully";
        }
        int before = d.detached.size();
        String prefix = "error: Failed to attach device from " + file + "\n";
        try {
            prepare(d, h, prefix);
            String alias = "hostdev" + d.aliases.size();
            while (d.aliases.containsValue(alias)) alias = alias + "_";
            VirtualMachine.Assigned a = d.vm.hotplug(request(h, alias));
            vmm.run(0);
            d.aliases.put(h.hostAddress(), alias);
            List<DomainXml.Hostdev> l = new ArrayList<>(d.def.hostdevs());
            l.add(h.withGuestAddress(a.devfn() >>> 3, a.devfn() & 7));
            d.def = d.def.withHostdevs(l);
        } catch (VmmException e) {
            while (d.detached.size() > before) reattach(vmm.host().pci(), d.detached.removeLast());
            String m = e instanceof AssignmentException ae ? "error: internal error: unable to execute QEMU command 'device_add': " + ae.reason() : e.getMessage();
            throw new VmmException(prefix + (m.startsWith("error: ") ? m : "error: " + m));
        }
        return "Device attached successfully";
    }

    private String detach(String name, String file) {
        Domain d = domain(name);
        DomainXml.Hostdev h = deviceFile(file);
        String alias = d.aliases.get(h.hostAddress());
        if (alias == null) {
            throw new VmmException("error: Failed to detach device from " + file + "\nerror: device not found: host pci device "
                    + h.hostAddress() + " not found");
        }
        if (d.vm != null) {
            d.vm.unplug(alias);
            vmm.run(0);
        }
        d.aliases.remove(h.hostAddress());
        d.def = d.def.withHostdevs(d.def.hostdevs().stream().filter(x -> !x.hostAddress().equals(h.hostAddress())).toList());
        PciFunction f = vmm.host().pci().find(h.hostAddress());
        if (f != null && d.detached.remove(f)) reattach(vmm.host().pci(), f);
        return "Device detached successfully";
    }

    private PciFunction nodedev(String name) {
        var m = java.util.regex.Pattern.compile("pci_([0-9a-f]{4})_([0-9a-f]{2})_([0-9a-f]{2})_([0-7])").matcher(name);
        PciFunction f = m.matches() ? vmm.host().pci().find(m.group(1) + ":" + m.group(2) + ":" + m.group(3) + "." + m.group(4)) : null;
        if (f == null) throw new VmmException("error: Could not find matching device '" + name + "'\nerror: Node device not found: no node device with matching name '" + name + "'");
        return f;
    }

    private String nodedevDetach(String name) {
        PciFunction f = nodedev(name);
        HostPci pci = vmm.host().pci();
        if (!HostPci.VFIO_PCI.equals(pci.driver(f))) {
            if (pci.driver(f) != null) pci.unbind(f);
            pci.bind(f, HostPci.VFIO_PCI);
        }
        return "Device " + name + " detached";
    }

    private String nodedevReattach(String name) {
        PciFunction f = nodedev(name);
        for (Domain d : domains.values()) {
            if (d.vm == null) continue;
            for (VirtualMachine.Assigned a : d.vm.assigned()) {
                if (a.device().hostFunction() == f) {
                    throw new VmmException("error: Failed to re-attach device " + name + "\nerror: Requested operation is not valid: PCI device "
                            + f.address() + " is in use by driver QEMU, domain " + d.def.name());
                }
            }
        }
        reattach(vmm.host().pci(), f);
        return "Device " + name + " re-attached";
    }

    private String monitorCommand(List<String> a) {
        String name = arg(a, 0, "domain");
        Domain d = domain(name);
        if (d.monitor == null) throw new VmmException("error: Requested operation is not valid: domain is not running");
        List<String> pos = a.stream().filter(s -> !s.startsWith("--")).toList();
        if (!a.contains("--hmp")) throw new VmmException("error: only --hmp commands are supported here");
        return d.monitor.execute(String.join(" ", pos.subList(1, pos.size())));
    }

    public VirtualMachine running(String name) {
        Domain d = domains.get(name);
        return d == null ? null : d.vm;
    }
}

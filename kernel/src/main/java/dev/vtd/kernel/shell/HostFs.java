package dev.vtd.kernel.shell;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.host.Host;

import java.util.LinkedHashMap;
import java.util.Map;

/** The host's root file tree: /proc, /sys, and the regular files the host keeps (/etc/default/grub, grub.cfg). */
final class HostFs {
    private HostFs() {}

    static Vfs.Dir root(Host host) {
        Map<String, Vfs.Node> root = new LinkedHashMap<>();
        root.put("proc", proc(host));
        root.put("sys", SysFs.root(host));
        Map<String, Map<String, Vfs.Node>> dirs = new LinkedHashMap<>();
        for (String path : host.files().keySet()) {
            // /etc/default/grub -> etc, default; the regular files live in plain directories.
            String[] parts = path.substring(1).split("/");
            Map<String, Vfs.Node> at = root;
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < parts.length - 1; i++) {
                prefix.append('/').append(parts[i]);
                Map<String, Vfs.Node> child = dirs.computeIfAbsent(prefix.toString(), k -> new LinkedHashMap<>());
                at.putIfAbsent(parts[i], Vfs.Dir.of(child));
                at = child;
            }
            at.put(parts[parts.length - 1], regularFile(host, path));
        }
        return Vfs.Dir.of(root);
    }

    private static Vfs.File regularFile(Host host, String path) {
        return new Vfs.File(() -> host.files().getOrDefault(path, ""),
                (text, append) -> host.files().merge(path, text, (old, t) -> append ? old + t : t));
    }

    private static Vfs.Dir proc(Host host) {
        Map<String, Vfs.Node> m = new LinkedHashMap<>();
        m.put("cmdline", Vfs.File.readOnly(() -> host.cmdline().raw() + "\n"));
        m.put("cpuinfo", Vfs.File.readOnly(() -> cpuinfo(host.machine().cpu())));
        m.put("modules", Vfs.File.readOnly(() -> host.kernel().modules().procModules()));
        m.put("interrupts", Vfs.File.readOnly(() -> host.kernel().procInterrupts()));
        m.put("iomem", Vfs.File.readOnly(() -> iomem(host)));
        return Vfs.Dir.of(m);
    }

    /**
     * /proc/iomem, reduced to what the model places: each remapping unit's register page (dmarN) and each assigned
     * memory BAR (named by its device), flat and in address order, "%08llx-%08llx : name" as Linux prints it.
     */
    static String iomem(Host host) {
        var k = host.kernel();
        java.util.TreeMap<Long, String> lines = new java.util.TreeMap<>();
        if (k.iommu() != null && k.iommu().enabled()) {
            for (var u : k.iommu().units()) {
                lines.put(u.registerBase(), String.format("%08x-%08x : %s", u.registerBase(), u.registerBase() + 0xFFF, u.name()));
            }
        }
        for (var d : k.pci().devices()) {
            for (var b : d.function().bars()) {
                if (!b.isMemory() || b.address() == 0 || b.size() == 0) continue;
                lines.putIfAbsent(b.address(), String.format("%08x-%08x : %s", b.address(), b.address() + b.size() - 1, d.name()));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String l : lines.values()) sb.append(l).append('\n');
        return sb.toString();
    }

    static String cpuinfo(Machine.CpuInfo cpu) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.max(1, cpu.count()); i++) {
            sb.append("processor\t: ").append(i).append('\n');
            sb.append("vendor_id\t: ").append(cpu.vendorId()).append('\n');
            sb.append("model name\t: ").append(cpu.modelName()).append('\n');
            sb.append("physical id\t: 0\n");
            sb.append("cpu cores\t: ").append(Math.max(1, cpu.count())).append('\n');
            sb.append("flags\t\t: ").append(String.join(" ", cpu.flags())).append('\n');
            sb.append('\n');
        }
        return sb.toString();
    }
}

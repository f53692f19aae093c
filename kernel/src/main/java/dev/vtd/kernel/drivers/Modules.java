package dev.vtd.kernel.drivers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Loadable kernel modules (modprobe, rmmod, lsmod, /proc/modules): the modules this host knows with their sizes
 * and dependencies as a RHEL 7.3 kernel has them, and what loading one does (registering its PCI driver, taking
 * {@code ids=} for vfio-pci and pci-stub). Names are compared with '-' and '_' alike, as modprobe does.
 */
public final class Modules {
    /** A module on disk: its size, the modules it needs, soft post-dependencies, and the driver it registers. */
    record Info(String name, int size, List<String> deps, List<String> post, Supplier<PciDriver> driver) {}

    private final PciCore core;
    private final Map<String, Info> known = new LinkedHashMap<>();
    /** Loaded modules, in load order. */
    private final List<String> loaded = new ArrayList<>();

    public Modules(PciCore core) {
        this.core = core;
        add("dca", 15130, List.of(), List.of(), null);
        add("pps_core", 19057, List.of(), List.of(), null);
        add("ptp", 19231, List.of("pps_core"), List.of(), null);
        add("i2c_algo_bit", 13413, List.of(), List.of(), null);
        add("igb", 197536, List.of("dca", "ptp", "i2c_algo_bit"), List.of(), IgbDriver::new);
        add("irqbypass", 13503, List.of(), List.of(), null);
        add("vfio", 32657, List.of(), List.of("vfio_iommu_type1"), null);
        add("vfio_iommu_type1", 22300, List.of("vfio"), List.of(), null);
        add("vfio_pci", 41268, List.of("vfio", "irqbypass"), List.of(), VfioPciDriver::new);
        add("pci_stub", 12622, List.of(), List.of(), PciStubDriver::new);
    }

    private void add(String name, int size, List<String> deps, List<String> post, Supplier<PciDriver> driver) {
        known.put(name, new Info(name, size, deps, post, driver));
    }

    static String normalize(String name) {
        return name.replace('-', '_');
    }

    public boolean isLoaded(String name) {
        return loaded.contains(normalize(name));
    }

    public boolean exists(String name) {
        return known.containsKey(normalize(name));
    }

    /** Modules that need {@code name}, loaded ones only. */
    public List<String> usedBy(String name) {
        List<String> out = new ArrayList<>();
        for (String m : loaded) if (known.get(m).deps().contains(name)) out.add(m);
        if (name.equals("vfio") && loaded.contains("vfio_iommu_type1") && !out.contains("vfio_iommu_type1")) {
            out.add(0, "vfio_iommu_type1");
        }
        return out.stream().sorted().toList();
    }

    /**
     * modprobe: loads the module and its dependencies (nothing when already loaded); {@code params} are
     * {@code key=value} options. Throws {@link DriverException} ENOENT for an unknown module, EINVAL for a bad
     * parameter.
     */
    public void load(String name, List<String> params) {
        String n = normalize(name);
        Info info = known.get(n);
        if (info == null) throw Errno.ENOENT.exception("Module " + name + " not found.");
        List<PciDriver.DeviceId> ids = new ArrayList<>();
        for (String p : params) {
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq);
            if (!key.equals("ids") || info.driver() == null || n.equals("igb")) {
                throw Errno.EINVAL.exception(n + ": Unknown parameter `" + key + "'");
            }
            for (String id : p.substring(eq + 1).split(",")) {
                if (id.isBlank()) continue;
                String[] f = id.split(":");
                try {
                    int vendor = Integer.parseInt(f[0], 16);
                    int device = f.length > 1 ? Integer.parseInt(f[1], 16) : PciDriver.DeviceId.ANY;
                    ids.add(PciDriver.DeviceId.of(vendor, device));
                } catch (NumberFormatException e) {
                    throw Errno.EINVAL.exception(n + ": invalid id string \"" + id + "\"");
                }
            }
        }
        if (loaded.contains(n)) return;
        for (String d : info.deps()) load(d, List.of());
        loaded.add(n);
        switch (n) {
            case "vfio" -> core.kernel().log().info("VFIO - User Level meta-driver version: 0.3");
            case "igb" -> {
                core.kernel().log().info("igb: Intel(R) Gigabit Ethernet Network Driver - version 5.3.0-k");
                core.kernel().log().info("igb: Copyright (c) 2007-2014 Intel Corporation.");
            }
            default -> { }
        }
        if (info.driver() != null) {
            PciDriver drv = info.driver().get();
            for (PciDriver.DeviceId id : ids) {
                String prefix = n.equals("pci_stub") ? "pci-stub: " : n + ": ";
                core.kernel().log().info(n.equals("pci_stub")
                        ? String.format("%sadd %04X:%04X sub=FFFFFFFF:FFFFFFFF cls=00000000/00000000", prefix, id.vendor(), id.device())
                        : String.format("%sadd [%04x:%04x[ffff:ffff]] class 0x000000/00000000", prefix, id.vendor(), id.device()));
            }
            core.registerDriver(drv);
            for (PciDriver.DeviceId id : ids) {
                try {
                    core.newId(drv.name(), String.format("%x %x", id.vendor(), id.device()));
                } catch (DriverException e) {
                    // the same ID twice in ids=: the second is ignored, as pci_add_dynid's EEXIST is
                }
            }
        }
        for (String p : info.post()) load(p, List.of());
    }

    /** rmmod: refuses while other modules use it (EBUSY, message names them); unbinds the driver's devices. */
    public void unload(String name) {
        String n = normalize(name);
        if (!loaded.contains(n)) throw Errno.ENOENT.exception("Module " + n + " is not currently loaded");
        List<String> users = usedBy(n);
        if (!users.isEmpty()) throw Errno.EBUSY.exception("Module " + n + " is in use by: " + String.join(" ", users));
        Info info = known.get(n);
        if (info.driver() != null) {
            for (PciDriver d : core.drivers()) if (n.equals(d.module())) core.unregisterDriver(d.name());
        }
        loaded.remove(n);
    }

    /** lsmod: newest first, "Module Size Used by". */
    public String lsmod() {
        StringBuilder sb = new StringBuilder("Module                  Size  Used by\n");
        for (String m : loaded.reversed()) {
            List<String> users = usedBy(m);
            sb.append(String.format("%-19s %8d  %d %s%n", m, known.get(m).size(), users.size(), String.join(",", users)));
        }
        return sb.toString();
    }

    /** /proc/modules: "name size refcount users, Live 0x0000000000000000". */
    public String procModules() {
        StringBuilder sb = new StringBuilder();
        for (String m : loaded.reversed()) {
            List<String> users = usedBy(m);
            sb.append(String.format("%s %d %d %s Live 0xffffffffa0000000%n", m, known.get(m).size(), users.size(),
                    users.isEmpty() ? "-" : String.join(",", users) + ","));
        }
        return sb.toString();
    }

    public List<String> loaded() { return List.copyOf(loaded); }
}

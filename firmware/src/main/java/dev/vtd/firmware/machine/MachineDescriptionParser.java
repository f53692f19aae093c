package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.Dmar;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.PciPath;
import dev.vtd.firmware.machine.MachineDescription.Ecam;
import dev.vtd.firmware.machine.MachineDescription.Firmware;
import dev.vtd.firmware.machine.MachineDescription.Hpet;
import dev.vtd.firmware.machine.MachineDescription.Iommu;
import dev.vtd.firmware.machine.MachineDescription.IoApic;
import dev.vtd.firmware.machine.MachineDescription.Kind;
import dev.vtd.firmware.machine.MachineDescription.MemoryRange;
import dev.vtd.firmware.machine.MachineDescription.Model;
import dev.vtd.firmware.machine.MachineDescription.PciNode;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PciSegment;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a machine description (see {@link MachineDescription} and docs/machine-yaml.md). */
final class MachineDescriptionParser {
    static final Set<String> TOP = Set.of("name", "description", "cpu", "firmware", "memory", "ecam",
            "host_address_width", "iommus", "ioapics", "hpet", "rmrrs", "atsrs", "rhsas", "pci");
    static final Set<String> CPU = Set.of("vendor", "model", "count", "flags");
    static final Set<String> FIRMWARE = Set.of("vtd", "intr_remap", "x2apic_opt_out", "dma_ctrl_platform_opt_in", "dmar");
    static final Set<String> DMAR = Set.of("address", "revision", "oem_id", "oem_table_id", "oem_revision",
            "creator_id", "creator_revision");
    static final Set<String> RANGE = Set.of("base", "size");
    static final Set<String> ECAM = Set.of("base", "buses");
    static final Set<String> IOMMU = Set.of("id", "base", "cap", "ecap", "version", "segment", "size",
            "include_pci_all", "scope", "ioapics", "hpets");
    static final Set<String> IOAPIC = Set.of("id", "base", "gsi_base", "source");
    static final Set<String> HPET = Set.of("id", "base", "source");
    static final Set<String> RMRR = Set.of("base", "end", "segment", "devices");
    static final Set<String> ATSR = Set.of("segment", "all_ports", "root_ports");
    static final Set<String> RHSA = Set.of("iommu", "proximity_domain");
    static final Set<String> NODE_COMMON = Set.of("id", "kind", "at", "children");
    static final Set<String> IDS = Set.of("vendor", "device", "class", "revision");

    /** "DD.F" on a bus. */
    private static final Pattern AT = Pattern.compile("([0-9a-fA-F]{1,2})\\.([0-7])");
    /** "BB:DD.F" or "SSSS:BB:DD.F". */
    private static final Pattern BDF = Pattern.compile("(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\\.([0-7])");
    private static final Pattern ID = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*");
    private static final long PAGE = 4096;

    private final String src;
    private final Map<String, PciNode> nodesById = new LinkedHashMap<>();
    private final Map<PciNode, PciNode> parents = new IdentityHashMap<>();
    private final Map<PciNode, PciNode> hosts = new IdentityHashMap<>();
    private final Map<PciFunction, PciTreeBuilder.Placed> placed = new HashMap<>();
    private PciHierarchy scratch;

    private MachineDescriptionParser(String source) {
        this.src = source;
    }

    static MachineDescription parse(String yaml, String source) {
        return new MachineDescriptionParser(source).description(yaml);
    }

    private MachineDescriptionException err(Node n, String field, String problem) {
        return YamlMap.error(src, n, field, problem);
    }

    private MachineDescription description(String yaml) {
        Node root;
        try {
            LoadSettings settings = LoadSettings.builder().setLabel(src).setAllowDuplicateKeys(false).build();
            Optional<Node> doc = new Compose(settings).composeString(yaml);
            if (doc.isEmpty()) throw new MachineDescriptionException(src, 1, "", "empty machine description");
            root = doc.get();
        } catch (MarkedYamlEngineException e) {
            int line = e.getProblemMark().or(e::getContextMark).map(Mark::getLine).orElse(-1) + 1;
            throw new MachineDescriptionException(src, line, "", "YAML syntax: " + oneLine(e.getProblem()));
        } catch (YamlEngineException e) {
            throw new MachineDescriptionException(src, 0, "", "YAML: " + oneLine(e.getMessage()));
        }
        YamlMap top = YamlMap.of(src, root, "", TOP);
        String name = top.requireString("name");
        if (!ID.matcher(name).matches()) throw top.error("name", "'" + name + "' is not a plain name (letters, digits, _ . -)");
        String description = top.string("description", "");
        Machine.CpuInfo cpu = cpu(top.map("cpu", CPU));
        Firmware firmware = firmware(top.map("firmware", FIRMWARE));
        List<MemoryRange> memory = memory(top);
        Ecam ecam = ecam(top.map("ecam", ECAM));
        int haw = top.integer("host_address_width", 39, 12, PhysicalMemory.MAX_ADDRESS_BITS);

        List<PciNode> pci = new ArrayList<>();
        List<Node> pciNodes = top.list("pci");
        for (int i = 0; i < pciNodes.size(); i++) pci.add(node(pciNodes.get(i), "pci[" + i + "]", null, null));
        checkRootBuses(pci, top);
        buildScratch(pci);

        List<IoApic> ioapics = ioapics(top);
        Hpet hpet = hpet(top.map("hpet", HPET));
        List<Iommu> iommus = new ArrayList<>();
        List<DmarStructure> drhds = iommus(top, iommus, ioapics, hpet);
        List<DmarStructure> structures = new ArrayList<>(drhds);
        structures.addAll(rmrrs(top));
        structures.addAll(atsrs(top));
        structures.addAll(rhsas(top, iommus));
        DmarTable dmar;
        try {
            dmar = new DmarTable(firmware.revision(), firmware.oemId(), firmware.oemTableId(), firmware.oemRevision(),
                    firmware.creatorId(), firmware.creatorRevision(), haw - 1, firmware.flags(), structures, List.of());
        } catch (IllegalArgumentException e) {
            throw err(root, "firmware.dmar", e.getMessage());
        }
        return new MachineDescription(src, name, description, cpu, firmware, memory, ecam, haw, iommus, ioapics,
                hpet, pci, dmar);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    // ------------------------------------------------------------------ scalars with context

    private Machine.CpuInfo cpu(YamlMap c) {
        if (c == null) return new Machine.CpuInfo("GenuineIntel", "Intel(R) CPU", 1, List.of("vmx"));
        String vendor = c.string("vendor", "GenuineIntel");
        String model = c.string("model", "Intel(R) CPU");
        int count = c.integer("count", 1, 1, 4096);
        List<String> flags = c.strings("flags");
        if (!flags.contains("vmx")) {
            throw YamlMap.error(src, c.has("flags") ? c.node("flags") : c.node(), c.field("flags"),
                    "must contain vmx (VT-x); VT-d is used together with it");
        }
        return new Machine.CpuInfo(vendor, model, count, List.copyOf(flags));
    }

    private Firmware firmware(YamlMap f) {
        boolean vtd = f == null || f.bool("vtd", true);
        int flags = 0;
        if (f != null) {
            if (f.bool("intr_remap", false)) flags |= Dmar.FLAG_INTR_REMAP;
            if (f.bool("x2apic_opt_out", false)) flags |= Dmar.FLAG_X2APIC_OPT_OUT;
            if (f.bool("dma_ctrl_platform_opt_in", false)) flags |= Dmar.FLAG_DMA_CTRL_PLATFORM_OPT_IN;
        }
        YamlMap d = f == null ? null : f.map("dmar", DMAR);
        if (d == null) return new Firmware(vtd, 0, Dmar.DEFAULT_REVISION, "VTD", "VTDMACH", 1, "VTD", 1, flags);
        return new Firmware(vtd, d.number("address", 0), d.integer("revision", Dmar.DEFAULT_REVISION, 0, 255),
                fixed(d, "oem_id", "VTD", Dmar.OEM_ID_LENGTH), fixed(d, "oem_table_id", "VTDMACH", Dmar.OEM_TABLE_ID_LENGTH),
                d.number("oem_revision", 1, 0, 0xFFFF_FFFFL), fixed(d, "creator_id", "VTD", Dmar.CREATOR_ID_LENGTH),
                d.number("creator_revision", 1, 0, 0xFFFF_FFFFL), flags);
    }

    private static String fixed(YamlMap m, String key, String dflt, int length) {
        String v = m.string(key, dflt);
        if (v.length() > length || !StandardCharsets.US_ASCII.newEncoder().canEncode(v)) {
            throw m.error(key, "'" + v + "' must be at most " + length + " ASCII characters");
        }
        return v;
    }

    private List<MemoryRange> memory(YamlMap top) {
        List<Node> items = top.list("memory");
        if (items.isEmpty()) throw YamlMap.error(src, top.node(), "memory", "required: at least one RAM range");
        List<MemoryRange> out = new ArrayList<>();
        PhysicalMemory.Builder check = PhysicalMemory.builder();
        for (int i = 0; i < items.size(); i++) {
            YamlMap r = YamlMap.of(src, items.get(i), "memory[" + i + "]", RANGE);
            long base = r.requireNumber("base");
            long size = r.requireNumber("size");
            try {
                check.ram(base, size);
            } catch (IllegalArgumentException e) {
                throw err(r.node(), r.path(), e.getMessage());
            }
            out.add(new MemoryRange(base, size));
        }
        return out;
    }

    private Ecam ecam(YamlMap e) {
        if (e == null) return null;
        long base = e.requireNumber("base");
        if (base % (1L << 20) != 0) throw e.error("base", "ECAM base must be 1 MiB aligned");
        return new Ecam(base, e.integer("buses", 256, 1, 256));
    }

    // ------------------------------------------------------------------ PCI tree

    private PciNode node(Node yaml, String field, PciNode parent, PciNode host) {
        YamlMap probe = YamlMap.of(src, yaml, field, Set.of("id", "kind", "at", "children", "vendor", "device",
                "class", "revision", "pcie", "segment", "bus", "last_bus", "intx_gsi_base", "secondary_bus",
                "model", "ports", "acs", "dma_mask", "msi", "ats"));
        String kindText = probe.requireString("kind");
        Kind kind = Kind.of(kindText);
        if (kind == null) {
            throw probe.error("kind", "'" + kindText + "' is not one of host-bridge, root-port, switch, downstream-port, "
                    + "pcie-pci-bridge, pci-bridge, device");
        }
        Model model = null;
        Set<String> allowed = new java.util.HashSet<>(NODE_COMMON);
        switch (kind) {
            case HOST_BRIDGE -> allowed.addAll(Set.of("vendor", "device", "revision", "pcie", "segment", "bus",
                    "last_bus", "intx_gsi_base"));
            case ROOT_PORT, DOWNSTREAM_PORT, PCIE_PCI_BRIDGE, PCI_BRIDGE, SWITCH -> {
                allowed.addAll(IDS);
                allowed.add("secondary_bus");
                if (kind == Kind.ROOT_PORT || kind == Kind.DOWNSTREAM_PORT) allowed.add("acs");
            }
            case DEVICE -> {
                allowed.add("model");
                String m = probe.requireString("model");
                model = Model.of(m);
                if (model == null) throw probe.error("model", "'" + m + "' is not one of i350, edu, copy-engine, gpu, generic");
                switch (model) {
                    case I350 -> allowed.addAll(Set.of("ports", "acs"));
                    case EDU -> allowed.addAll(Set.of("dma_mask", "ats"));
                    case COPY_ENGINE -> allowed.add("msi");
                    case GPU -> { }
                    case GENERIC -> {
                        allowed.addAll(IDS);
                        allowed.add("pcie");
                    }
                }
                allowed.remove("children");
            }
        }
        YamlMap n = YamlMap.of(src, yaml, field, allowed);
        String id = n.requireString("id");
        if (!ID.matcher(id).matches()) throw n.error("id", "'" + id + "' is not a plain name (letters, digits, _ . -)");
        if (nodesById.containsKey(id)) {
            throw n.error("id", "'" + id + "' is already used (line " + nodesById.get(id).line() + ")");
        }
        if (parent == null && kind != Kind.HOST_BRIDGE) {
            throw n.error("kind", "the top of the pci list holds host bridges (root buses), not " + kindText);
        }
        if (parent != null && kind == Kind.HOST_BRIDGE) throw n.error("kind", "a host bridge must be at the top of the pci list");
        if (kind == Kind.DOWNSTREAM_PORT && (parent == null || parent.kind() != Kind.SWITCH)) {
            throw n.error("kind", "a downstream-port sits on a switch's internal bus (under a kind: switch node)");
        }
        if (parent != null && parent.kind() == Kind.SWITCH && kind != Kind.DOWNSTREAM_PORT) {
            throw n.error("kind", "a switch's children are its downstream ports (kind: downstream-port)");
        }
        int device, function;
        String at = n.string("at", kind == Kind.HOST_BRIDGE ? "00.0" : null);
        if (at == null) throw YamlMap.error(src, n.node(), n.field("at"), "required (DD.F on the parent bus)");
        Matcher m = AT.matcher(at.trim());
        if (!m.matches() || Integer.parseInt(m.group(1), 16) > 31) {
            throw n.error("at", "'" + at + "' is not a device.function like 1c.0 (device 00-1f, function 0-7)");
        }
        device = Integer.parseInt(m.group(1), 16);
        function = Integer.parseInt(m.group(2));

        PciIds ids = ids(n, kind, model);
        boolean pcie = n.bool("pcie", kind == Kind.HOST_BRIDGE);
        int segment = n.integer("segment", 0, 0, 0xFFFF);
        int bus = n.integer("bus", 0, 0, 255);
        int lastBus = n.integer("last_bus", 255, 0, 255);
        if (kind == Kind.HOST_BRIDGE && lastBus < bus) throw n.error("last_bus", "is below bus " + bus);
        int gsiBase = n.integer("intx_gsi_base", -1, 0, 1 << 20);
        int secondary = n.integer("secondary_bus", -1, 1, 255);
        int ports = n.integer("ports", 4, 1, 4);
        // ACS: on by default for an i350's functions; a root or downstream port has it only when said.
        boolean acs = n.bool("acs", model == Model.I350);
        long dmaMask = n.number("dma_mask", EduDevice.DEFAULT_DMA_MASK);
        boolean msi = n.bool("msi", true);
        boolean ats = n.bool("ats", false);
        if (model == Model.I350 && function != 0) {
            throw n.error("at", "an i350 takes functions 0.." + (ports - 1) + " of its device: use DD.0");
        }
        // Children are made after this node is registered (ids and parents); records are immutable, so
        // build a placeholder first to give the children their parent.
        PciNode self = new PciNode(id, kind, model, device, function, ids, pcie, segment, bus, lastBus, gsiBase,
                secondary, ports, acs, dmaMask, msi, ats, List.of(), n.line(), field);
        nodesById.put(id, self);
        List<Node> kids = n.list("children");
        List<PciNode> children = new ArrayList<>();
        PciNode hostOf = host == null ? self : host;
        for (int i = 0; i < kids.size(); i++) {
            children.add(node(kids.get(i), field + ".children[" + i + "]", self, hostOf));
        }
        checkSlots(children, kids);
        PciNode full = new PciNode(id, kind, model, device, function, ids, pcie, segment, bus, lastBus, gsiBase,
                secondary, ports, acs, dmaMask, msi, ats, children, n.line(), field);
        nodesById.put(id, full);
        for (PciNode c : children) parents.put(c, full);
        return full;
    }

    /** Records each node's host bridge (whose root bus starts its scopes' paths). */
    private void relink(PciNode n, PciNode host) {
        hosts.put(n, host);
        for (PciNode c : n.children()) relink(c, host);
    }

    private PciIds ids(YamlMap n, Kind kind, Model model) {
        int[] d = switch (kind) {
            // Defaults: Xeon E5 v3 host bridge and root port; PLX PEX 8747 switch ports; ASMedia ASM1083
            // PCIe-to-PCI bridge (subtractive decode); QEMU's pci-bridge (1b36:0001) for a conventional bridge.
            case HOST_BRIDGE -> new int[] {0x8086, 0x2f00, 0x060000, 0x02};
            case ROOT_PORT -> new int[] {0x8086, 0x2f04, 0x060400, 0x02};
            case SWITCH, DOWNSTREAM_PORT -> new int[] {0x10b5, 0x8747, 0x060400, 0xca};
            case PCIE_PCI_BRIDGE -> new int[] {0x1b21, 0x1080, 0x060401, 0x04};
            case PCI_BRIDGE -> new int[] {0x1b36, 0x0001, 0x060400, 0x00};
            case DEVICE -> model == Model.GENERIC ? new int[] {-1, -1, -1, 0} : null;
        };
        if (d == null) return null;
        int vendor = n.integer("vendor", d[0], 0, 0xFFFF);
        int device = n.integer("device", d[1], 0, 0xFFFF);
        int cls = n.integer("class", d[2], 0, 0xFFFFFF);
        int rev = n.integer("revision", d[3], 0, 0xFF);
        if (vendor < 0) throw YamlMap.error(src, n.node(), n.field("vendor"), "required for a generic device");
        if (device < 0) throw YamlMap.error(src, n.node(), n.field("device"), "required for a generic device");
        if (cls < 0) throw YamlMap.error(src, n.node(), n.field("class"), "required for a generic device");
        return PciIds.of(vendor, device, cls, rev);
    }

    /** Two nodes on one bus at the same device.function, or function n without function 0. */
    private void checkSlots(List<PciNode> children, List<Node> yaml) {
        Map<Integer, PciNode> taken = new HashMap<>();
        for (int i = 0; i < children.size(); i++) {
            PciNode c = children.get(i);
            for (int f = 0; f < c.functionCount(); f++) {
                int devfn = c.device() << 3 | (c.function() + f);
                PciNode other = taken.putIfAbsent(devfn, c);
                if (other != null) {
                    throw err(yaml.get(i), c.field() + ".at", String.format("%02x.%x is already taken by '%s' (line %d)",
                            c.device(), c.function() + f, other.id(), other.line()));
                }
            }
        }
        for (int i = 0; i < children.size(); i++) {
            PciNode c = children.get(i);
            if (c.function() != 0 && !taken.containsKey(c.device() << 3)) {
                throw err(yaml.get(i), c.field() + ".at", String.format(
                        "%02x.%x has no function 0 on device %02x (a multi-function device starts at function 0)",
                        c.device(), c.function(), c.device()));
            }
        }
    }

    private void checkRootBuses(List<PciNode> hostsList, YamlMap top) {
        if (hostsList.isEmpty()) throw YamlMap.error(src, top.node(), "pci", "required: at least one host bridge");
        for (PciNode h : hostsList) relink(h, h);
        for (int i = 0; i < hostsList.size(); i++) {
            for (int j = 0; j < i; j++) {
                PciNode a = hostsList.get(i), b = hostsList.get(j);
                if (a.segment() == b.segment() && a.bus() <= b.lastBus() && b.bus() <= a.lastBus()) {
                    throw new MachineDescriptionException(src, a.line(), a.field() + ".bus", String.format(
                            "root bus range %02x-%02x overlaps '%s' (%02x-%02x, line %d)", a.bus(), a.lastBus(), b.id(),
                            b.bus(), b.lastBus(), b.line()));
                }
            }
        }
    }

    /** Assembles the tree once on a scratch hierarchy: catches what the models refuse, numbers the buses. */
    private void buildScratch(List<PciNode> roots) {
        scratch = new PciHierarchy();
        try {
            PciTreeBuilder.populate(roots, scratch, new VirtualClock(), (n, d) -> d, placed);
        } catch (PciTreeBuilder.NodeException e) {
            throw new MachineDescriptionException(src, e.node.line(), e.node.field(), e.getMessage());
        }
        for (PciSegment s : scratch.segments()) s.enumerate();
    }

    // ------------------------------------------------------------------ interrupt sources

    private int[] bdf(YamlMap m, String key) {
        String v = m.requireString(key);
        Matcher b = BDF.matcher(v.trim());
        if (!b.matches() || Integer.parseInt(b.group(3), 16) > 31) {
            throw m.error(key, "'" + v + "' is not a bus:device.function like f0:1f.0");
        }
        return new int[] {Integer.parseInt(b.group(2), 16), Integer.parseInt(b.group(3), 16), Integer.parseInt(b.group(4))};
    }

    private List<IoApic> ioapics(YamlMap top) {
        List<IoApic> out = new ArrayList<>();
        List<Node> items = top.list("ioapics");
        for (int i = 0; i < items.size(); i++) {
            YamlMap a = YamlMap.of(src, items.get(i), "ioapics[" + i + "]", IOAPIC);
            int id = (int) a.number("id", -1, 0, 255);
            if (id < 0) throw YamlMap.error(src, a.node(), a.field("id"), "required (the I/O APIC ID)");
            for (IoApic o : out) if (o.id() == id) throw a.error("id", "I/O APIC ID " + id + " is listed twice");
            int[] s = bdf(a, "source");
            out.add(new IoApic(id, a.number("base", 0xFEC0_0000L), a.integer("gsi_base", 0, 0, 1 << 20), s[0], s[1], s[2]));
        }
        return out;
    }

    private Hpet hpet(YamlMap h) {
        if (h == null) return null;
        int[] s = bdf(h, "source");
        return new Hpet(h.integer("id", 0, 0, 255), h.number("base", 0xFED0_0000L), s[0], s[1], s[2]);
    }

    // ------------------------------------------------------------------ references to devices

    private record Target(PciNode node, int function) {}

    /** The function(s) a reference names: a node id (all its functions) or a BB:DD.F address. */
    private List<Target> resolve(String ref, Node where, String field, int segment) {
        Matcher b = BDF.matcher(ref.trim());
        if (b.matches()) {
            int seg = b.group(1) == null ? segment : Integer.parseInt(b.group(1), 16);
            PciSegment s = scratch.segment(seg);
            int dev = Integer.parseInt(b.group(3), 16);
            PciFunction f = s == null || dev > 31 ? null
                    : s.lookup(Integer.parseInt(b.group(2), 16), dev << 3 | Integer.parseInt(b.group(4)));
            PciTreeBuilder.Placed p = f == null ? null : placed.get(f);
            if (p == null) throw err(where, field, "no PCI function at " + ref + " in this machine's tree");
            return List.of(new Target(p.node(), p.function()));
        }
        PciNode n = nodesById.get(ref);
        if (n == null) {
            List<String> ids = new ArrayList<>(nodesById.keySet());
            String known = ids.size() > 24 ? String.join(", ", ids.subList(0, 24)) + ", ..." : String.join(", ", ids);
            throw err(where, field, "no PCI node '" + ref + "' (ids: " + known + ")");
        }
        List<Target> out = new ArrayList<>();
        for (int f = 0; f < n.functionCount(); f++) out.add(new Target(n, n.function() + f));
        return out;
    }

    /** Start bus = the root bus; path = (device, function) of every node from the root bus down (VT-d 8.3.1). */
    private DeviceScope scope(Target t) {
        List<PciPath> path = new ArrayList<>();
        path.add(new PciPath(t.node().device(), t.function()));
        for (PciNode p = parents.get(t.node()); p != null && p.kind() != Kind.HOST_BRIDGE; p = parents.get(p)) {
            path.addFirst(new PciPath(p.device(), p.function()));
        }
        PciNode host = hosts.get(t.node());
        int type = t.node().kind().isBridge() ? DeviceScope.TYPE_PCI_SUB_HIERARCHY : DeviceScope.TYPE_PCI_ENDPOINT;
        return new DeviceScope(type, 0, 0, host.bus(), path);
    }

    private int segmentOf(Target t) {
        return hosts.get(t.node()).segment();
    }

    private List<DeviceScope> deviceScopes(YamlMap m, String key, int segment, Map<String, String> claimed,
                                           String owner, boolean rootPortsOnly) {
        List<DeviceScope> out = new ArrayList<>();
        List<Node> items = m.list(key);
        for (int i = 0; i < items.size(); i++) {
            String field = m.field(key) + "[" + i + "]";
            String ref = YamlMap.scalar(src, items.get(i), field);
            for (Target t : resolve(ref, items.get(i), field, segment)) {
                if (segmentOf(t) != segment) {
                    throw err(items.get(i), field, "'" + ref + "' is on segment " + segmentOf(t) + ", not " + segment);
                }
                if (rootPortsOnly && t.node().kind() != Kind.ROOT_PORT) {
                    throw err(items.get(i), field, "'" + ref + "' is a " + t.node().kind().yamlName + ", not a root-port");
                }
                if (claimed != null) {
                    String key2 = t.node().id() + "." + t.function();
                    String prev = claimed.putIfAbsent(key2, owner);
                    if (prev != null) throw err(items.get(i), field, "'" + ref + "' is already in " + prev + "'s scope");
                }
                out.add(scope(t));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ DMAR structures

    private List<DmarStructure> iommus(YamlMap top, List<Iommu> out, List<IoApic> ioapics, Hpet hpet) {
        List<DmarStructure> drhds = new ArrayList<>();
        Map<String, String> claimed = new HashMap<>();
        Map<Integer, String> includeAll = new HashMap<>();
        List<Node> items = top.list("iommus");
        for (int i = 0; i < items.size(); i++) {
            YamlMap u = YamlMap.of(src, items.get(i), "iommus[" + i + "]", IOMMU);
            String id = u.string("id", "dmar" + i);
            for (Iommu o : out) if (o.id().equals(id)) throw u.error("id", "'" + id + "' is already used");
            long base = u.requireNumber("base");
            if (base % PAGE != 0) throw u.error("base", String.format("0x%x is not 4 KiB aligned", base));
            for (Iommu o : out) {
                if (o.base() == base) throw u.error("base", String.format("0x%x is already %s's base", base, o.id()));
            }
            Cap cap = new Cap(u.hex("cap"));
            Ecap ecap = new Ecap(u.hex("ecap"));
            int version = version(u);
            int segment = u.integer("segment", 0, 0, 0xFFFF);
            int size = u.integer("size", 0, 0, 0xFF);
            boolean all = u.bool("include_pci_all", false);
            if (includeAll.containsKey(segment)) {
                throw u.error("base", "DRHDs of segment " + segment + " follow its INCLUDE_PCI_ALL unit "
                        + includeAll.get(segment) + ", which must be the last (VT-d 8.3)");
            }
            if (all && u.has("scope")) {
                throw u.error("scope", "an include_pci_all unit lists no PCI devices, only ioapics and hpets (VT-d 8.3)");
            }
            if (all) includeAll.put(segment, id);
            List<DeviceScope> scopes = new ArrayList<>();
            List<String> apicRefs = u.strings("ioapics");
            for (int k = 0; k < apicRefs.size(); k++) {
                Node where = u.list("ioapics").get(k);
                long apicId = YamlMap.number(src, where, u.field("ioapics") + "[" + k + "]");
                IoApic a = ioapics.stream().filter(x -> x.id() == apicId).findFirst().orElse(null);
                if (a == null) throw err(where, u.field("ioapics") + "[" + k + "]", "no I/O APIC with id " + apicId + " in ioapics");
                scopes.add(DeviceScope.ioapic(a.id(), a.sourceBus(), a.sourceDevice(), a.sourceFunction()));
            }
            List<String> hpetRefs = u.strings("hpets");
            for (int k = 0; k < hpetRefs.size(); k++) {
                Node where = u.list("hpets").get(k);
                long hpetId = YamlMap.number(src, where, u.field("hpets") + "[" + k + "]");
                if (hpet == null || hpet.id() != hpetId) throw err(where, u.field("hpets") + "[" + k + "]", "no hpet with id " + hpetId);
                scopes.add(DeviceScope.hpet(hpet.id(), hpet.sourceBus(), hpet.sourceDevice(), hpet.sourceFunction()));
            }
            scopes.addAll(deviceScopes(u, "scope", segment, claimed, id, false));
            if (!all && scopes.isEmpty()) {
                throw YamlMap.error(src, u.node(), u.field("scope"), "a unit without include_pci_all needs a scope");
            }
            try {
                drhds.add(new DmarStructure.Drhd(all ? DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL : 0, size, segment, base, scopes));
            } catch (IllegalArgumentException e) {
                throw err(u.node(), u.path(), e.getMessage());
            }
            out.add(new Iommu(id, base, cap, ecap, version, segment, size, all));
        }
        return drhds;
    }

    /** VER as "major.minor" (1.0) or the register value (0x10). */
    private static int version(YamlMap u) {
        if (!u.has("version")) return 0x10;
        String v = u.string("version", "");
        Matcher m = Pattern.compile("(\\d{1,2})[.:](\\d)").matcher(v.trim());
        if (m.matches() && Integer.parseInt(m.group(1)) < 16) return Integer.parseInt(m.group(1)) << 4 | Integer.parseInt(m.group(2));
        long raw = YamlMap.parseNumber(v);
        if (raw < 0 || raw > 0xFF) throw u.error("version", "'" + v + "' is not a version like 1.0 (or the VER byte 0x10)");
        return (int) raw;
    }

    private List<DmarStructure> rmrrs(YamlMap top) {
        List<DmarStructure> out = new ArrayList<>();
        List<Node> items = top.list("rmrrs");
        for (int i = 0; i < items.size(); i++) {
            YamlMap r = YamlMap.of(src, items.get(i), "rmrrs[" + i + "]", RMRR);
            long base = r.requireNumber("base");
            long end = r.requireNumber("end");
            // VT-d 8.4: base 4 KiB aligned, limit such that (limit + 1) is 4 KiB aligned.
            if (base % PAGE != 0) throw r.error("base", String.format("0x%x is not 4 KiB aligned", base));
            if ((end + 1) % PAGE != 0 || end < base) {
                throw r.error("end", String.format("0x%x must be the last byte of a 4 KiB page at or above base", end));
            }
            int segment = r.integer("segment", 0, 0, 0xFFFF);
            List<DeviceScope> scopes = deviceScopes(r, "devices", segment, null, null, false);
            if (scopes.isEmpty()) throw YamlMap.error(src, r.node(), r.field("devices"), "an RMRR names at least one device");
            out.add(new DmarStructure.Rmrr(segment, base, end, scopes));
        }
        return out;
    }

    private List<DmarStructure> atsrs(YamlMap top) {
        List<DmarStructure> out = new ArrayList<>();
        List<Node> items = top.list("atsrs");
        for (int i = 0; i < items.size(); i++) {
            YamlMap a = YamlMap.of(src, items.get(i), "atsrs[" + i + "]", ATSR);
            int segment = a.integer("segment", 0, 0, 0xFFFF);
            boolean all = a.bool("all_ports", false);
            if (all && a.has("root_ports")) throw a.error("root_ports", "all_ports: true lists no root ports (VT-d 8.5)");
            List<DeviceScope> scopes = deviceScopes(a, "root_ports", segment, null, null, true);
            if (!all && scopes.isEmpty()) throw YamlMap.error(src, a.node(), a.field("root_ports"), "required unless all_ports: true");
            out.add(new DmarStructure.Atsr(all ? DmarStructure.Atsr.FLAG_ALL_PORTS : 0, segment, scopes));
        }
        return out;
    }

    private List<DmarStructure> rhsas(YamlMap top, List<Iommu> iommus) {
        List<DmarStructure> out = new ArrayList<>();
        List<Node> items = top.list("rhsas");
        for (int i = 0; i < items.size(); i++) {
            YamlMap r = YamlMap.of(src, items.get(i), "rhsas[" + i + "]", RHSA);
            String unit = r.requireString("iommu");
            Iommu u = iommus.stream().filter(x -> x.id().equals(unit)).findFirst().orElse(null);
            if (u == null) {
                throw r.error("iommu", "no iommu '" + unit + "' (ids: "
                        + String.join(", ", iommus.stream().map(Iommu::id).toList()) + ")");
            }
            out.add(new DmarStructure.Rhsa(u.base(), r.number("proximity_domain", 0, 0, 0xFFFF_FFFFL)));
        }
        return out;
    }
}

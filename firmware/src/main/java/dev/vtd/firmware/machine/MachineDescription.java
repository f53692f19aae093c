package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.pci.PciIds;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A machine as a YAML file describes it (schema in docs/machine-yaml.md), parsed and checked as a
 * whole: every reference resolved, the PCI tree assembled once on a scratch hierarchy, and the ACPI
 * DMAR table generated from the units, I/O APICs, HPET, RMRRs, ATSRs and RHSAs it lists. A
 * description either loads completely or fails with one {@link MachineDescriptionException} naming
 * file, line and field; {@link #builder()} then makes as many identical machines as wanted.
 *
 * <p>Top-level keys:
 * <pre>
 * name, description                      text
 * cpu: {vendor, model, count, flags}     flags must contain vmx (VT-x)
 * firmware: {vtd, intr_remap, x2apic_opt_out, dma_ctrl_platform_opt_in,
 *            dmar: {address, revision, oem_id, oem_table_id, oem_revision, creator_id, creator_revision}}
 * memory: [{base, size}]                 numbers: decimal, 0x hex, or with K/M/G/T (2G, 512M)
 * ecam: {base, buses}                    PCIe enhanced configuration window (optional)
 * host_address_width: 12..52             DMAR HAW and the units' physical address width
 * iommus: [{id, base, cap, ecap, version, segment, size, include_pci_all, scope, ioapics, hpets}]
 * ioapics: [{id, base, gsi_base, source}]   id = I/O APIC ID; source = requester BB:DD.F
 * hpet: {id, base, source}
 * rmrrs: [{base, end, segment, devices}]
 * atsrs: [{segment, all_ports, root_ports}]
 * rhsas: [{iommu, proximity_domain}]
 * pci: [host-bridge nodes, each with children]
 * </pre>
 * Device references (scope, devices, root_ports) are PCI node ids or BB:DD.F addresses; a bridge
 * becomes a sub-hierarchy scope, anything else an endpoint scope with start bus = the root bus and
 * the path of (device, function) hops from it (VT-d spec 8.3.1).
 */
public record MachineDescription(String source, String name, String description, Machine.CpuInfo cpu,
                                 Firmware firmware, List<MemoryRange> memory, Ecam ecam, int hostAddressWidth,
                                 List<Iommu> iommus, List<IoApic> ioapics, Hpet hpet, List<PciNode> pci,
                                 DmarTable dmar) {
    public MachineDescription {
        memory = List.copyOf(memory);
        iommus = List.copyOf(iommus);
        ioapics = List.copyOf(ioapics);
        pci = List.copyOf(pci);
    }

    /** BIOS settings and the DMAR table header. */
    public record Firmware(boolean vtd, long dmarAddress, int revision, String oemId, String oemTableId,
                           long oemRevision, String creatorId, long creatorRevision, int flags) {}

    public record MemoryRange(long base, long size) {
        public long end() { return base + size - 1; }
    }

    public record Ecam(long base, int buses) {}

    /** A remapping unit (one DRHD): its register base, capabilities and name (dmar0, ...). */
    public record Iommu(String id, long base, Cap cap, Ecap ecap, int version, int segment, int size,
                       boolean includePciAll) {
        /** "1:0" as Linux prints VER. */
        public String versionText() {
            return (version >>> 4) + ":" + (version & 0xF);
        }
    }

    /** An I/O APIC: its APIC ID, MMIO base, first GSI and the requester ID its interrupts carry. */
    public record IoApic(int id, long base, int gsiBase, int sourceBus, int sourceDevice, int sourceFunction) {}

    /** The MSI-capable HPET block: its number, MMIO base and requester ID. */
    public record Hpet(int id, long base, int sourceBus, int sourceDevice, int sourceFunction) {}

    /** What a PCI node is. */
    public enum Kind {
        HOST_BRIDGE("host-bridge"), ROOT_PORT("root-port"), SWITCH("switch"), DOWNSTREAM_PORT("downstream-port"),
        PCIE_PCI_BRIDGE("pcie-pci-bridge"), PCI_BRIDGE("pci-bridge"), DEVICE("device");

        public final String yamlName;

        Kind(String yamlName) {
            this.yamlName = yamlName;
        }

        /** Functions with a type 1 header: a scope naming one covers everything below it. */
        public boolean isBridge() {
            return this != HOST_BRIDGE && this != DEVICE;
        }

        static Kind of(String s) {
            for (Kind k : values()) if (k.yamlName.equals(s)) return k;
            return null;
        }
    }

    /** Device models a {@code kind: device} node can be. */
    public enum Model {
        I350("i350"), EDU("edu"), COPY_ENGINE("copy-engine"), GPU("gpu"), GENERIC("generic");

        public final String yamlName;

        Model(String yamlName) {
            this.yamlName = yamlName;
        }

        static Model of(String s) {
            for (Model m : values()) if (m.yamlName.equals(s.toLowerCase(Locale.ROOT))) return m;
            return null;
        }
    }

    /**
     * One node of the PCI tree.
     *
     * @param ids          identity of host bridges, bridges and generic devices (null for built-in models)
     * @param segment      host bridge: PCI segment
     * @param bus          host bridge: root bus number
     * @param lastBus      host bridge: last bus number it decodes
     * @param intxGsiBase  host bridge: INTx lines routed round-robin from this GSI (-1: unrouted)
     * @param secondaryBus bridge: pinned secondary bus number (-1: as enumeration assigns)
     * @param ports        i350: number of ports (functions)
     * @param ats          edu: a PCI Express function with an ATS capability and device-TLB
     */
    public record PciNode(String id, Kind kind, Model model, int device, int function, PciIds ids, boolean pcie,
                          int segment, int bus, int lastBus, int intxGsiBase, int secondaryBus, int ports,
                          boolean acs, long dmaMask, boolean msi, boolean ats, List<PciNode> children, int line,
                          String field) {
        public PciNode {
            children = List.copyOf(children);
        }

        /** Number of functions the node occupies (DD.0 .. DD.n-1 for a multi-port NIC). */
        public int functionCount() {
            return model == Model.I350 ? ports : 1;
        }
    }

    /** Parses a description; {@code source} names it in error messages. */
    public static MachineDescription parse(String yaml, String source) {
        return MachineDescriptionParser.parse(yaml, source);
    }

    /** Reads and parses a YAML file. */
    public static MachineDescription load(Path file) {
        String text;
        try {
            text = dev.vtd.platform.io.UserFiles.readText(file, dev.vtd.platform.io.UserFiles.TEXT_LIMIT);
        } catch (dev.vtd.platform.io.UserFiles.Problem e) {
            throw new MachineDescriptionException(file.toString(), 0, "", e.getMessage());
        }
        return parse(text, file.toString());
    }

    /** The unit description with this register base, or null. */
    public Iommu iommuAt(long base) {
        for (Iommu u : iommus) if (u.base() == base) return u;
        return null;
    }

    /** A builder for this machine (a fresh one each call). */
    public MachineBuilder builder() {
        MachineBuilder b = new MachineBuilder(name).description(description).cpu(cpu)
                .vtdEnabledInBios(firmware.vtd()).dmar(dmar, firmware.dmarAddress());
        for (MemoryRange r : memory) b.ram(r.base(), r.size());
        if (ecam != null) b.ecam(ecam.base(), ecam.buses());
        for (Iommu u : iommus) {
            RemappingUnit.Config c = RemappingUnit.Config.of(u.cap(), u.ecap()).withName(u.id())
                    .withHostAddressWidth(hostAddressWidth);
            b.unit(u.base(), new RemappingUnit.Config(c.name(), u.version(), c.cap(), c.ecap(), c.hostAddressWidth(),
                    c.iotlbEntries(), c.iotlbWays(), c.contextCacheEntries()));
        }
        for (IoApic io : ioapics) b.ioapic(io.id(), io.base(), io.gsiBase());
        if (hpet != null) b.hpet(hpet.id(), hpet.base());
        b.pci(ctx -> PciTreeBuilder.populate(pci, ctx.pci(), ctx.clock(), ctx::register, null));
        return b;
    }
}

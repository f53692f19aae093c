package dev.vtd.cli;

import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.kernel.host.Host;
import dev.vtd.platform.iommu.reach.IsolationAudit;
import dev.vtd.platform.iommu.reach.RangeSet;
import dev.vtd.platform.iommu.reach.ReachEnumerator;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.vmm.GuestMemory;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.vfio.VfioPciDevice;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The isolation audit of a live host: every remapping unit's reach read from its tables in memory
 * ({@link ReachEnumerator}), each range labelled by who owns it according to what the kernel and the VMM
 * allocated (a VM's RAM from its memory slots, the firmware's RMRRs, host RAM, the translation structures, the
 * MSI window), and checked against {@link IsolationAudit}'s policy. Reads memory and registers only.
 */
public final class Audit {
    private Audit() {
    }

    /** Audits {@code host}; {@code vmm} may be null (no hypervisor started). */
    public static IsolationAudit.Report run(Host host, Vmm vmm) {
        Machine m = host.machine();
        PhysicalMemory mem = m.memory();
        List<ReachEnumerator.UnitReach> units = new ArrayList<>();
        for (Machine.Unit u : m.units()) units.add(ReachEnumerator.of(u.hardware(), mem));
        RangeSet.Builder ram = new RangeSet.Builder();
        for (PhysicalMemory.Region r : mem.regions()) ram.add(r.base(), r.size(), RangeSet.R | RangeSet.W);
        RangeSet.Builder rmrr = new RangeSet.Builder();
        DmarTable dmar = m.dmar();
        if (dmar != null) {
            for (DmarStructure.Rmrr r : dmar.structuresOf(DmarStructure.Rmrr.class)) {
                if (Long.compareUnsigned(r.limit(), r.base()) >= 0) rmrr.add(r.base(), r.limit() - r.base() + 1, RangeSet.R | RangeSet.W);
            }
        }
        List<IsolationAudit.Tenant> tenants = new ArrayList<>();
        Map<String, String> vmOf = new HashMap<>();
        if (vmm != null) {
            for (VirtualMachine vm : vmm.vms()) {
                if (vm.destroyed()) continue;
                RangeSet.Builder b = new RangeSet.Builder();
                for (GuestMemory.Slot s : vm.memory().slots()) b.add(s.hpa(), s.size(), RangeSet.R | RangeSet.W);
                tenants.add(new IsolationAudit.Tenant(vm.name(), b.build()));
                for (VirtualMachine.Assigned a : vm.assigned()) {
                    if (a.device() instanceof VfioPciDevice d) vmOf.put(d.hostFunction().name(), vm.name());
                }
            }
        }
        Map<Long, IsolationAudit.Requester> requesters = new HashMap<>();
        for (PciDevice d : host.kernel().pci().devices()) {
            Machine.Unit u = m.unitFor(d.function());
            if (u == null) continue;
            int idx = m.units().indexOf(u);
            long key = (long) idx << 16 | d.function().dma().requesterId();
            String driver = d.driver() == null ? null : d.driver().name();
            requesters.putIfAbsent(key, new IsolationAudit.Requester(d.name(), driver, vmOf.get(d.function().name())));
        }
        return IsolationAudit.audit(units, ram.build(), tenants, rmrr.build(),
                (unit, sid) -> requesters.getOrDefault((long) unit << 16 | sid, IsolationAudit.Requester.UNKNOWN));
    }

    /** Prints the report as text or JSON; returns the exit status (0 clean, 1 policy broken). */
    public static int print(Host host, IsolationAudit.Report r, boolean json, PrintWriter out) {
        if (json) {
            printJson(host, r, out);
        } else {
            printText(host, r, out);
        }
        out.flush();
        return r.clean() ? 0 : 1;
    }

    private static String rid(int sid) {
        return sid < 0 ? "any" : String.format("%02x:%02x.%d", sid >>> 8, (sid >>> 3) & 0x1F, sid & 7);
    }

    private static String who(IsolationAudit.Requester q) {
        if (!q.known()) return "no device";
        return q.device() + " (driver " + (q.driver() == null ? "none" : q.driver()) + (q.vm() == null ? ", host" : ", vm " + q.vm()) + ")";
    }

    private static String unitName(Host host, int i) {
        Machine.Unit u = host.machine().units().get(i);
        return u.hardware().config().name() + " at 0x" + Long.toHexString(u.registerBase());
    }

    private static void printText(Host host, IsolationAudit.Report r, PrintWriter out) {
        int lastUnit = -1;
        List<String> offending = new ArrayList<>();
        for (IsolationAudit.Entry e : r.entries()) {
            if (e.unit() != lastUnit) {
                out.println("unit " + unitName(host, e.unit()));
                lastUnit = e.unit();
            }
            ReachEnumerator.Mapping m = e.mapping();
            out.printf("  %s%s %s: %s, domain %d%n", rid(m.sourceId()), m.withPasid() ? " pasid " + m.pasid() : "",
                    who(e.requester()), m.translation(), m.domainId());
            if (e.pieces().isEmpty()) out.println("    (nothing)");
            for (IsolationAudit.Piece p : e.pieces()) {
                out.printf("    %s %s %s%s%n", range(p.range()), p.range().permString(), p.owner(), p.violation() ? "  VIOLATION" : "");
                if (p.violation()) offending.add(rid(m.sourceId()) + (m.withPasid() ? " pasid " + m.pasid() : "")
                        + " reaches " + range(p.range()) + " " + p.range().permString() + " (" + p.owner() + ")");
            }
        }
        if (!r.complete()) out.println("audit: incomplete: a unit's tables are larger than the walk's bound");
        if (r.clean()) {
            out.println("audit: clean: every device reaches only its own VM's or its own driver's memory");
        } else {
            out.println("audit: policy broken (" + offending.size() + " range(s)):");
            for (String o : offending) out.println("  " + o);
        }
    }

    static String range(RangeSet.Range x) {
        return String.format("0x%x-0x%x", x.base(), x.end() - 1);
    }

    private static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    private static void printJson(Host host, IsolationAudit.Report r, PrintWriter out) {
        StringBuilder b = new StringBuilder();
        b.append("{\"clean\":").append(r.clean()).append(",\"complete\":").append(r.complete()).append(",\"entries\":[");
        boolean first = true;
        for (IsolationAudit.Entry e : r.entries()) {
            if (!first) b.append(',');
            first = false;
            ReachEnumerator.Mapping m = e.mapping();
            b.append("{\"unit\":").append(q(unitName(host, e.unit()))).append(",\"rid\":").append(q(rid(m.sourceId())))
                    .append(",\"pasid\":").append(m.withPasid() ? Integer.toString(m.pasid()) : "null")
                    .append(",\"device\":").append(q(e.requester().device())).append(",\"driver\":").append(q(e.requester().driver()))
                    .append(",\"vm\":").append(q(e.requester().vm())).append(",\"translation\":").append(q(m.translation()))
                    .append(",\"domain\":").append(m.domainId()).append(",\"ranges\":[");
            boolean f2 = true;
            for (IsolationAudit.Piece p : e.pieces()) {
                if (!f2) b.append(',');
                f2 = false;
                b.append("{\"base\":").append(q("0x" + Long.toHexString(p.range().base())))
                        .append(",\"end\":").append(q("0x" + Long.toHexString(p.range().end() - 1)))
                        .append(",\"read\":").append(p.range().readable()).append(",\"write\":").append(p.range().writable())
                        .append(",\"owner\":").append(q(p.owner())).append(",\"violation\":").append(p.violation()).append('}');
            }
            b.append("]}");
        }
        b.append("]}");
        out.println(b);
    }
}

package dev.vtd.kernel.shell;

import dev.vtd.kernel.drivers.PciDevice;
import dev.vtd.platform.pci.PciRegs;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * lspci -t: the bus tree drawn as pciutils draws it. Bridges (header type 1) claim the buses from their secondary
 * to their subordinate number; each device goes on the bus of the deepest bridge whose range holds its bus, the
 * rest on buses of the host bridge, labelled [domain:bus] when there is more than one. One line buffer is
 * reused: after each printed line, '+' and '|' become '|' and everything else a space.
 */
final class LspciTree {
    private LspciTree() {}

    private static final class Bridge {
        final PciDevice dev;
        final int domain, secondary, subordinate;
        final List<Bus> buses = new ArrayList<>();
        final List<Bridge> children = new ArrayList<>();

        Bridge(PciDevice dev, int domain, int secondary, int subordinate) {
            this.dev = dev;
            this.domain = domain;
            this.secondary = secondary;
            this.subordinate = subordinate;
        }
    }

    private record Bus(int domain, int number, List<PciDevice> devices) {}

    static void print(PrintWriter out, List<PciDevice> devs, boolean verbose, boolean numeric, boolean both) {
        Bridge host = new Bridge(null, -1, 0, 0xFF);
        List<Bridge> bridges = new ArrayList<>();
        for (PciDevice d : devs) {
            int ht = d.function().configRead(PciRegs.HEADER_TYPE, 1) & 0x7F;
            if (ht == PciRegs.HEADER_TYPE_BRIDGE || ht == 2) {
                bridges.add(new Bridge(d, d.iommuDev().segment(), d.function().configRead(PciRegs.SECONDARY_BUS, 1),
                        d.function().configRead(PciRegs.SUBORDINATE_BUS, 1)));
            }
        }
        // Each bridge hangs below the deepest other bridge whose range holds the bridge's own bus.
        for (Bridge b : bridges) {
            Bridge parent = host;
            for (Bridge c : bridges) {
                if (c != b && holds(c, b.domain, b.dev.iommuDev().bus())
                        && (parent == host || c.subordinate - c.secondary < parent.subordinate - parent.secondary)) {
                    parent = c;
                }
            }
            parent.children.add(b);
        }
        for (PciDevice d : devs) insert(host, d);
        StringBuilder line = new StringBuilder();
        bridge(out, host, host, line, verbose, numeric, both);
    }

    private static boolean holds(Bridge b, int domain, int bus) {
        return b.domain == domain && b.secondary <= bus && bus <= b.subordinate;
    }

    private static boolean childHolds(Bridge b, int dom, int bus) {
        for (Bridge c : b.children) if (holds(c, dom, bus)) return true;
        return false;
    }

    private static void insert(Bridge b, PciDevice d) {
        int dom = d.iommuDev().segment(), busNo = d.iommuDev().bus();
        for (Bus bus : b.buses) {
            // Below a bridge, lspci draws one bus for the whole secondary..subordinate range (an SR-IOV VF on a
            // higher bus number sits with the PF).
            if (bus.domain() == dom && (bus.number() == busNo || b.dev != null && !childHolds(b, dom, busNo))) {
                bus.devices().add(d);
                return;
            }
        }
        for (Bridge c : b.children) {
            if (holds(c, dom, busNo)) {
                insert(c, d);
                return;
            }
        }
        Bus bus = new Bus(dom, busNo, new ArrayList<>());
        bus.devices().add(d);
        b.buses.add(bus);
    }

    private static void printIt(PrintWriter out, StringBuilder line) {
        out.println(line);
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            line.setCharAt(i, c == '+' || c == '|' ? '|' : ' ');
        }
    }

    private static void bridge(PrintWriter out, Bridge host, Bridge b, StringBuilder line, boolean v, boolean n, boolean nn) {
        line.append('-');
        if (b.buses.isEmpty()) {
            printIt(out, line);
        } else if (b.buses.size() == 1) {
            Bus u = b.buses.getFirst();
            if (b == host) line.append(String.format("[%04x:%02x]-", u.domain(), u.number()));
            bus(out, host, u, line, v, n, nn);
        } else {
            int p = line.length();
            for (int i = 0; i < b.buses.size(); i++) {
                Bus u = b.buses.get(i);
                line.setLength(p);
                line.append(String.format("%s-[%04x:%02x]-", i == b.buses.size() - 1 ? "\\" : "+", u.domain(), u.number()));
                bus(out, host, u, line, v, n, nn);
            }
        }
    }

    private static void bus(PrintWriter out, Bridge host, Bus bus, StringBuilder line, boolean v, boolean n, boolean nn) {
        int p = line.length();
        if (bus.devices().size() == 1) {
            line.append("--");
            device(out, host, bus.devices().getFirst(), line, v, n, nn);
            return;
        }
        for (int i = 0; i < bus.devices().size(); i++) {
            line.setLength(p);
            line.append(i == bus.devices().size() - 1 ? "\\-" : "+-");
            device(out, host, bus.devices().get(i), line, v, n, nn);
        }
    }

    private static void device(PrintWriter out, Bridge host, PciDevice d, StringBuilder line, boolean v, boolean n, boolean nn) {
        line.append(String.format("%02x.%x", d.iommuDev().device(), d.iommuDev().function()));
        Bridge b = find(host, d);
        if (b != null) {
            line.append(b.secondary == b.subordinate ? String.format("-[%02x]-", b.secondary)
                    : String.format("-[%02x-%02x]-", b.secondary, b.subordinate));
            bridge(out, host, b, line, v, n, nn);
            return;
        }
        if (v) {
            var ids = d.function().ids();
            String name = PciNames.deviceName(ids.vendorId(), ids.deviceId());
            if (n) name = String.format("%04x:%04x", ids.vendorId(), ids.deviceId());
            else if (nn) name = name.replaceFirst(" Device [0-9a-f]{4}$", " Device") + String.format(" [%04x:%04x]", ids.vendorId(), ids.deviceId());
            line.append("  ").append(name);
        }
        printIt(out, line);
    }

    private static Bridge find(Bridge b, PciDevice d) {
        for (Bridge c : b.children) {
            if (c.dev == d) return c;
            Bridge r = find(c, d);
            if (r != null) return r;
        }
        return null;
    }
}

package dev.vtd.firmware.machine;

import dev.vtd.firmware.machine.MachineDescription.PciNode;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.devices.CopyEngine;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.devices.GpuDevice;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.HostBridge;
import dev.vtd.platform.pci.IntxRouter;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciSegment;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Builds the PCI hierarchy a description's tree names, with the platform's device models. */
final class PciTreeBuilder {
    private PciTreeBuilder() {}

    /** Where a model goes when it is made: {@link MachineBuilder.Context#register}. */
    @FunctionalInterface
    interface Registrar {
        Object register(String name, Object device);
    }

    /** A built function and the node (and function number within it) it came from. */
    record Placed(PciNode node, int function) {}

    /**
     * Adds every host bridge's root bus and the nodes below it. {@code index}, if not null, receives
     * each physical function with its node. Model errors come back as IllegalArgumentException
     * wrapped with the node's line and field.
     */
    static void populate(List<PciNode> roots, PciHierarchy pci, VirtualClock clock, Registrar registrar,
                         Map<PciFunction, Placed> index) {
        for (PciNode h : roots) {
            PciSegment seg = pci.segment(h.segment());
            if (seg == null) seg = pci.addSegment(h.segment());
            PciBus root = at(h, () -> pci.segment(h.segment()).addRootBus(h.bus(), h.lastBus()));
            if (h.intxGsiBase() >= 0) seg.setIntxRouter(IntxRouter.roundRobin(h.intxGsiBase()));
            HostBridge hb = new HostBridge(h.id(), h.ids().vendorId(), h.ids().deviceId(), h.ids().revision(), h.pcie());
            add(root, h, 0, hb, index);
            children(root, h.children(), clock, registrar, index);
        }
    }

    private interface Step<T> {
        T run();
    }

    private static <T> T at(PciNode n, Step<T> s) {
        try {
            return s.run();
        } catch (IllegalArgumentException e) {
            throw new NodeException(n, e.getMessage());
        }
    }

    /** A model refused a node: carries the node so the parser can name its line and field. */
    static final class NodeException extends RuntimeException {
        final PciNode node;

        NodeException(PciNode node, String message) {
            super(message);
            this.node = node;
        }
    }

    private static <F extends PciFunction> F add(PciBus bus, PciNode n, int fnOffset, F f, Map<PciFunction, Placed> index) {
        F added = at(n, () -> bus.add(n.device(), n.function() + fnOffset, f));
        if (index != null) index.put(added, new Placed(n, n.function() + fnOffset));
        return added;
    }

    private static void children(PciBus bus, List<PciNode> nodes, VirtualClock clock, Registrar registrar,
                                 Map<PciFunction, Placed> index) {
        List<PciNode> sorted = nodes.stream()
                .sorted(Comparator.comparingInt(n -> n.device() << 3 | n.function())).toList();
        for (PciNode n : sorted) {
            switch (n.kind()) {
                case ROOT_PORT -> bridge(bus, n, PciBridge.rootPort(n.id(), n.ids()), clock, registrar, index);
                case DOWNSTREAM_PORT -> bridge(bus, n, new PciBridge(n.id(), n.ids(), PciBridge.Kind.SWITCH_DOWNSTREAM),
                        clock, registrar, index);
                case SWITCH -> bridge(bus, n, new PciBridge(n.id(), n.ids(), PciBridge.Kind.SWITCH_UPSTREAM),
                        clock, registrar, index);
                case PCIE_PCI_BRIDGE -> bridge(bus, n, PciBridge.pcieToPci(n.id(), n.ids()), clock, registrar, index);
                case PCI_BRIDGE -> bridge(bus, n, PciBridge.pciToPci(n.id(), n.ids()), clock, registrar, index);
                case DEVICE -> device(bus, n, clock, registrar, index);
                case HOST_BRIDGE -> throw new NodeException(n, "a host bridge must be at the top of the pci list");
            }
        }
    }

    private static void bridge(PciBus bus, PciNode n, PciBridge b, VirtualClock clock, Registrar registrar,
                               Map<PciFunction, Placed> index) {
        if (n.secondaryBus() > 0) at(n, () -> b.pinBusNumbers(n.secondaryBus(), -1));
        if (n.acs() && (n.kind() == MachineDescription.Kind.ROOT_PORT || n.kind() == MachineDescription.Kind.DOWNSTREAM_PORT)) {
            b.addCapability(new dev.vtd.platform.pci.AcsCapability(dev.vtd.platform.pci.AcsCapability.LINUX_ISOLATION));
        }
        add(bus, n, 0, b, index);
        children(b.secondaryBus(), n.children(), clock, registrar, index);
    }

    /**
     * ATS is a PCI Express protocol (PCIe base spec 10.1): a conventional PCI bus on the way to the
     * root cannot carry translation requests, so an ATS function must not sit below one.
     */
    private static void requirePcieToTheRoot(PciBus bus, PciNode n) {
        for (PciBridge b = bus.upstream(); b != null; b = b.bus() == null ? null : b.bus().upstream()) {
            if (b.kind() == PciBridge.Kind.PCIE_TO_PCI || b.kind() == PciBridge.Kind.PCI_TO_PCI) {
                throw new NodeException(n, "ats: true needs a PCI Express path to the root; '" + b.name()
                        + "' leads to a conventional PCI bus");
            }
        }
    }

    private static void device(PciBus bus, PciNode n, VirtualClock clock, Registrar registrar,
                               Map<PciFunction, Placed> index) {
        switch (n.model()) {
            case I350 -> {
                I350Nic nic = at(n, () -> new I350Nic(n.id(), clock, n.ports(), I350Nic.VENDOR_ID, 0x0001, n.acs()));
                registrar.register(n.id(), nic);
                List<PciFunction> fns = nic.functions();
                for (int i = 0; i < fns.size(); i++) add(bus, n, i, fns.get(i), index);
            }
            case EDU -> {
                if (n.ats()) requirePcieToTheRoot(bus, n);
                EduDevice edu = at(n, () -> n.ats() ? EduDevice.withAts(n.id(), clock, n.dmaMask(), bus.upstream() == null)
                        : new EduDevice(n.id(), clock, n.dmaMask()));
                registrar.register(n.id(), edu);
                add(bus, n, 0, edu.function(), index);
            }
            case COPY_ENGINE -> {
                CopyEngine ce = new CopyEngine(n.id(), clock, n.msi());
                registrar.register(n.id(), ce);
                add(bus, n, 0, ce.function(), index);
            }
            case GPU -> {
                GpuDevice gpu = new GpuDevice(n.id(), clock);
                registrar.register(n.id(), gpu);
                add(bus, n, 0, gpu.function(), index);
            }
            case GENERIC -> {
                PciFunction f = new PciFunction(n.id(), n.ids(), n.pcie());
                registrar.register(n.id(), f);
                add(bus, n, 0, f, index);
            }
        }
    }
}

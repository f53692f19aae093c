package dev.vtd.platform.pci;

import dev.vtd.platform.bus.DmaPort;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A PCI segment (group): one 256-bus number space with one or more root buses (host bridges),
 * reached through configuration mechanism #1 and/or an ECAM window. Owns the segment's DMA routing
 * (requester ID to the remapping unit whose DMAR device scope covers it) and INTx routing.
 */
public final class PciSegment {
    private final PciHierarchy hierarchy;
    private final int number;
    private final List<PciBus> roots = new ArrayList<>();
    private volatile IntFunction<DmaPort> dmaRouter = rid -> null;
    private volatile IntxRouter intxRouter = (bus, dev, pin) -> -1;

    PciSegment(PciHierarchy hierarchy, int number) {
        this.hierarchy = hierarchy;
        this.number = number;
    }

    public PciHierarchy hierarchy() {
        return hierarchy;
    }

    public int number() {
        return number;
    }

    /** Adds a root bus decoding bus numbers [number, lastBus] (a host bridge's bus range). */
    public synchronized PciBus addRootBus(int busNumber, int lastBus) {
        if (busNumber < 0 || lastBus > 255 || lastBus < busNumber) {
            throw new IllegalArgumentException("root bus range " + busNumber + "-" + lastBus);
        }
        for (PciBus r : roots) {
            if (busNumber <= r.lastBusNumber() && r.number() <= lastBus) {
                throw new IllegalArgumentException("root bus range " + busNumber + "-" + lastBus + " overlaps " + r);
            }
        }
        PciBus b = new PciBus(this, busNumber, lastBus);
        roots.add(b);
        return b;
    }

    /** Adds root bus 0 decoding all 256 bus numbers. */
    public PciBus addRootBus() {
        return addRootBus(0, 255);
    }

    public synchronized List<PciBus> rootBuses() {
        return List.copyOf(roots);
    }

    public PciBus rootBus(int busNumber) {
        for (PciBus r : rootBuses()) if (r.number() == busNumber) return r;
        return null;
    }

    // ---- configuration access --------------------------------------------------------------

    /** The function (physical or virtual) a configuration request for bus/devfn reaches, or null. */
    public PciFunction lookup(int bus, int devfn) {
        bus &= 0xFF;
        devfn &= 0xFF;
        for (PciBus r : rootBuses()) {
            if (bus >= r.number() && bus <= r.lastBusNumber()) return r.route(bus, devfn, 0);
        }
        return null;
    }

    public PciFunction lookup(int rid) {
        return lookup(rid >>> 8, rid & 0xFF);
    }

    /** A configuration read; no function there reads all ones (master abort, PCIe base spec 2.3.2). */
    public int configRead(int bus, int devfn, int offset, int size) {
        PciFunction f = lookup(bus, devfn);
        if (size != 1 && size != 2) return f == null || size != 4 ? -1 : f.configRead(offset, size);
        if (f == null) return (1 << (8 * size)) - 1;
        return f.configRead(offset, size);
    }

    /** A configuration write; to nothing it is dropped. */
    public void configWrite(int bus, int devfn, int offset, int size, int value) {
        PciFunction f = lookup(bus, devfn);
        if (f != null) f.configWrite(offset, size, value);
    }

    public List<PciFunction> allFunctions() {
        List<PciFunction> l = new ArrayList<>();
        for (PciBus r : rootBuses()) l.addAll(r.allFunctions());
        return l;
    }

    // ---- enumeration -----------------------------------------------------------------------

    /**
     * Firmware-style bus numbering: depth first from every root bus, each bridge in device/function
     * order gets primary = its bus, secondary = the next free number (or its pinned number), and
     * subordinate = the last number used below it, reserving the bus numbers that the VFs of
     * SR-IOV devices below need with TotalVFs enabled (SR-IOV spec 2.1.2). Bridges that no longer
     * fit below the root bus's last number are left with bus numbers 0 (unconfigured).
     */
    public void enumerate() {
        for (PciBus r : rootBuses()) number(r, r.number() + 1, r.lastBusNumber(), 0);
        hierarchy.topologyChanged();
    }

    /** Numbers the bridges below {@code bus}; returns the next free bus number. */
    private int number(PciBus bus, int next, int limit, int depth) {
        next = Math.max(next, vfBusLimit(bus) + 1);
        for (PciBridge br : bus.bridges()) {
            int sec = br.pinnedSecondary() > 0 ? br.pinnedSecondary() : next;
            if (sec > limit || depth > 255) {
                br.setBusNumbers(0, 0, 0);
                continue;
            }
            br.setBusNumbers(bus.number(), sec, limit);
            int after = number(br.secondaryBus(), sec + 1, limit, depth + 1);
            int sub = Math.max(after - 1, Math.max(sec, br.pinnedSubordinate()));
            sub = Math.min(sub, limit);
            br.setBusNumbers(bus.number(), sec, sub);
            next = Math.max(next, sub + 1);
        }
        return next;
    }

    /** The highest bus number a VF of an SR-IOV function on this bus can take (or the bus's own). */
    private static int vfBusLimit(PciBus bus) {
        int max = bus.number();
        for (PciFunction f : bus.functions()) {
            SriovCapability s = f.sriov();
            if (s != null && s.totalVfs() > 0) {
                int last = f.rid() + s.firstVfOffset() + (s.totalVfs() - 1) * s.vfStride();
                max = Math.max(max, Math.min(255, last >>> 8));
            }
        }
        return max;
    }

    // ---- DMA and INTx routing ---------------------------------------------------------------

    /**
     * Sets where upstream requests go, by the requester ID the root complex sees: the DmaPort of
     * the remapping unit whose device scope covers it (machine assembly resolves DMAR scopes to
     * this), or memory. A null result master-aborts the request.
     */
    public void setDmaRouter(IntFunction<DmaPort> byRequesterId) {
        dmaRouter = byRequesterId == null ? rid -> null : byRequesterId;
    }

    /** Routes every requester ID to one port. */
    public void setDmaTarget(DmaPort port) {
        setDmaRouter(rid -> port);
    }

    DmaPort dmaTarget(int rid) {
        return dmaRouter.apply(rid);
    }

    public void setIntxRouter(IntxRouter router) {
        intxRouter = router == null ? (bus, dev, pin) -> -1 : router;
    }

    /**
     * The GSI a function's INTx pin reaches: the pin is swizzled at every bridge on the way up
     * (using the device number below the bridge), then routed at the root bus by the slot of the
     * topmost device. -1 if the function has no pin, is detached or the pin is unrouted.
     */
    public int intxGsi(PciFunction f) {
        int pin = f.interruptPin();
        if (pin < 1 || pin > 4 || f.isVirtualFunction()) return -1;
        PciFunction dev = f;
        for (int depth = 0; depth < 256; depth++) {
            PciBus b = dev.bus();
            if (b == null) return -1;
            if (b.isRoot()) return intxRouter.gsi(b.number(), dev.deviceNumber(), pin);
            pin = IntxRouter.swizzle(dev.deviceNumber(), pin);
            dev = b.upstream();
        }
        return -1;
    }
}

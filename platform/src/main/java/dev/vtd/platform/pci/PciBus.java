package dev.vtd.platform.pci;

import java.util.ArrayList;
import java.util.List;

/**
 * A PCI bus segment: up to 32 devices of up to 8 functions. A root bus has a fixed number; a
 * secondary bus takes its number from its bridge's Secondary Bus Number register.
 */
public final class PciBus {
    private final PciSegment segment;
    private final PciBridge upstream;
    private final int rootNumber;
    private final int rootLastBus;
    private final PciFunction[] functions = new PciFunction[256];

    PciBus(PciSegment segment, int number, int lastBus) {
        this.segment = segment;
        this.upstream = null;
        this.rootNumber = number;
        this.rootLastBus = lastBus;
    }

    PciBus(PciBridge upstream) {
        this.segment = null;
        this.upstream = upstream;
        this.rootNumber = -1;
        this.rootLastBus = -1;
    }

    public PciSegment segment() {
        if (segment != null) return segment;
        PciBus b = upstream.bus();
        return b == null ? null : b.segment();
    }

    /** The bridge above, or null for a root bus. */
    public PciBridge upstream() {
        return upstream;
    }

    public boolean isRoot() {
        return upstream == null;
    }

    /** The bus number: fixed for a root bus, else the bridge's Secondary Bus Number (0 = unconfigured). */
    public int number() {
        return upstream == null ? rootNumber : upstream.secondaryBusNumber();
    }

    /** The last bus number a root bus decodes (the host bridge's bus range). */
    public int lastBusNumber() {
        return upstream == null ? rootLastBus : upstream.subordinateBusNumber();
    }

    /** Attaches one function at device.function. Function 0 must come first for a multi-function device. */
    public synchronized <F extends PciFunction> F add(int device, int function, F f) {
        if (device < 0 || device > 31 || function < 0 || function > 7) {
            throw new IllegalArgumentException("device " + device + " function " + function);
        }
        int devfn = PciRegs.devfn(device, function);
        if (functions[devfn] != null) {
            throw new IllegalArgumentException(String.format("%02x.%x already holds %s", device, function, functions[devfn].name()));
        }
        if (f.bus != null || f.isVirtualFunction()) throw new IllegalArgumentException(f.name() + " already attached");
        for (PciBridge up = upstream; up != null; up = up.bus == null ? null : up.bus.upstream) {
            if (up == f) throw new IllegalArgumentException(f.name() + " cannot sit below itself");
        }
        if (function != 0 && functions[PciRegs.devfn(device, 0)] == null) {
            throw new IllegalArgumentException(String.format("%02x.%x: function 0 must exist first", device, function));
        }
        f.bus = this;
        f.devfn = devfn;
        functions[devfn] = f;
        if (function != 0) {
            // Header Type bit 7 marks a multi-function device (PCI Local Bus spec 6.2.1).
            for (int i = 0; i < 8; i++) {
                PciFunction g = functions[PciRegs.devfn(device, i)];
                if (g != null) g.config().setBits(PciRegs.HEADER_TYPE, 1, PciRegs.HEADER_TYPE_MULTIFUNCTION, true);
            }
        }
        f.seal();
        PciSegment s = segment();
        if (s != null) s.hierarchy().topologyChanged();
        return f;
    }

    /** Attaches the functions of a (multi-function) device as functions 0, 1, ... */
    public void addDevice(int device, List<? extends PciFunction> fns) {
        for (int i = 0; i < fns.size(); i++) add(device, i, fns.get(i));
    }

    /** The physical function at devfn, or null. */
    public synchronized PciFunction function(int devfn) {
        return devfn >= 0 && devfn < 256 ? functions[devfn] : null;
    }

    /** Physical functions in devfn order. */
    public synchronized List<PciFunction> functions() {
        List<PciFunction> l = new ArrayList<>();
        for (PciFunction f : functions) if (f != null) l.add(f);
        return l;
    }

    public List<PciBridge> bridges() {
        List<PciBridge> l = new ArrayList<>();
        for (PciFunction f : functions()) if (f instanceof PciBridge b) l.add(b);
        return l;
    }

    /**
     * Routes a configuration request for (busNumber, devfn) arriving at this bus: type 0 if it is
     * this bus's number, else forwarded to the bridge that claims the bus; a request no bridge
     * claims may still address a VF of an SR-IOV device here whose RID lies on that bus.
     */
    PciFunction route(int busNumber, int devfn, int depth) {
        if (depth > 256) return null;
        int number = number();
        if (busNumber == number) {
            PciFunction f = function(devfn);
            return f != null ? f : virtualFunction(PciRegs.rid(busNumber, devfn));
        }
        for (PciBridge b : bridges()) {
            if (b.claimsBus(busNumber)) return b.secondaryBus().route(busNumber, devfn, depth + 1);
        }
        return virtualFunction(PciRegs.rid(busNumber, devfn));
    }

    private PciFunction virtualFunction(int rid) {
        for (PciFunction f : functions()) {
            SriovCapability s = f.sriov();
            if (s != null) {
                PciFunction vf = s.virtualFunctionByRid(rid);
                if (vf != null) return vf;
            }
        }
        return null;
    }

    /** Every function at or below this bus, VFs included, in depth-first order. */
    public List<PciFunction> allFunctions() {
        List<PciFunction> out = new ArrayList<>();
        collect(out, 0);
        return out;
    }

    private void collect(List<PciFunction> out, int depth) {
        if (depth > 256) return;
        for (PciFunction f : functions()) {
            out.add(f);
            if (f.sriov() != null) out.addAll(f.sriov().virtualFunctions());
            if (f instanceof PciBridge b) b.secondaryBus().collect(out, depth + 1);
        }
    }

    /** A conventional reset of every function on and below this bus. */
    void resetAll() {
        for (PciFunction f : functions()) {
            f.reset();
            if (f instanceof PciBridge b) b.secondaryBus().resetAll();
        }
    }

    @Override
    public String toString() {
        return upstream == null ? String.format("root bus %02x", rootNumber)
                : String.format("bus %02x (below %s)", number(), upstream.name());
    }
}

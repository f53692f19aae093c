package dev.vtd.vmm;

import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.guest.GuestKernel;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.vfio.VfioContainer;
import dev.vtd.vmm.vfio.VfioGroup;
import dev.vtd.vmm.vfio.VfioPciDevice;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A virtual machine: vCPUs pinned to host CPUs, guest RAM in host RAM that is not identity-mapped, a guest PCI
 * bus (00:00.0 host bridge, assigned devices), one VFIO container for its assigned devices (all guest RAM mapped
 * GPA -> HPA when the first group joins), and the guest kernel running inside.
 */
public final class VirtualMachine {
    /** -smp, -m, and whether interrupts may be posted to vCPUs when the hardware can. */
    public record Config(String name, int vcpus, long memoryBytes, boolean postedInterrupts) {
        public Config {
            if (vcpus < 1 || vcpus > 255) throw new VmmException("Invalid SMP CPUs " + vcpus);
            if (memoryBytes < (1L << 20)) throw new VmmException("ram size too small");
        }

        public static Config of(String name, int vcpus, long memoryBytes) {
            return new Config(name, vcpus, memoryBytes, true);
        }
    }

    /** An assigned device with its guest address. */
    public record Assigned(VfioPciDevice device, int devfn, DeviceRequest request) {}

    private final Vmm vmm;
    private final Host host;
    private final int domainId;
    private final Config config;
    private final GuestMemory memory;
    private final List<Long> hostRanges = new ArrayList<>();
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final long pidPage;
    private final TreeMap<Integer, GuestPciDevice> bus = new TreeMap<>();
    private final Map<Integer, Assigned> assigned = new TreeMap<>();
    private final VfioContainer container;
    private final GuestKernel guest;
    private boolean running, destroyed, memoryMapped;
    private final dev.vtd.vmm.exits.VmExits exits = new dev.vtd.vmm.exits.VmExits();
    private final dev.vtd.vmm.emulated.VirtualIoApic ioapic = new dev.vtd.vmm.emulated.VirtualIoApic(this::inject);
    /** Depth of VM exits being handled on this VM's behalf (an injection then rides the VM entry that ends it). */
    private final ThreadLocal<int[]> inExit = ThreadLocal.withInitial(() -> new int[1]);

    VirtualMachine(Vmm vmm, int domainId, Config config) {
        this.vmm = vmm;
        this.host = vmm.host();
        this.domainId = domainId;
        this.config = config;
        List<GuestMemory.Slot> slots = new ArrayList<>();
        try {
            for (long[] r : GuestMemory.layout(config.memoryBytes())) {
                long hpa = host.ram().allocate(r[1]);
                hostRanges.add(hpa);
                slots.add(new GuestMemory.Slot(r[0], hpa, r[1]));
            }
        } catch (VmmException e) {
            for (long h : hostRanges) host.ram().free(h);
            throw e;
        }
        this.memory = new GuestMemory(host.machine().memory(), slots);
        this.pidPage = host.pages().allocPage();
        for (int i = 0; i < config.vcpus(); i++) {
            int hostCpu = (1 + i) % host.cpuCount();
            // NDST (9.12): the x2APIC ID, or the xAPIC ID in bits 15:8 when IRTA.EIME = 0.
            int ndst = host.interrupts().x2apicMode() ? hostCpu
                    : dev.vtd.platform.iommu.ir.PostedInterruptDescriptor.xapicNdst(hostCpu);
            vcpus.add(new Vcpu(i, hostCpu, host.machine().memory(), pidPage + 64L * i, vmm.notificationVector(), ndst, exits));
        }
        bus.put(0, new HostBridgeDevice());
        this.container = new VfioContainer(host);
        this.guest = new GuestKernel(this);
    }

    public String name() { return config.name(); }
    public int domainId() { return domainId; }
    public Config config() { return config; }
    public GuestMemory memory() { return memory; }
    public List<Vcpu> vcpus() { return List.copyOf(vcpus); }
    public Host host() { return host; }
    public VfioContainer container() { return container; }
    public GuestKernel guest() { return guest; }
    public boolean running() { return running; }
    public dev.vtd.vmm.exits.VmExits exits() { return exits; }
    public dev.vtd.vmm.emulated.VirtualIoApic ioapic() { return ioapic; }

    /** Adds a function the VMM emulates (QEMU's {@code -device e1000}) at a guest slot, before start or as a hotplug. */
    public synchronized void addEmulated(int devfn, GuestPciDevice d) {
        if (bus.containsKey(devfn & 0xFF)) throw new VmmException(String.format("guest slot 00:%02x.%d is in use",
                (devfn & 0xFF) >>> 3, devfn & 7));
        bus.put(devfn & 0xFF, d);
        if (running) guest.deviceAdded(devfn & 0xFF);
    }

    /**
     * The VMM injects {@code vector} into the vCPU with {@code apicId} (SDM 27.6: event injection on VM entry).
     * Raised while the VMM handles one of this VM's exits, it rides that exit's VM entry; raised from elsewhere
     * (an I/O thread receiving a packet), the VMM first kicks the running vCPU out with an IPI: one
     * external-interrupt exit.
     */
    public void inject(int apicId, int vector) {
        Vcpu c = vcpuByApicId(apicId);
        if (c == null) return;
        if (inExit.get()[0] == 0) exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EXTERNAL_INTERRUPT);
        exits.injected(vector);
        c.lapic().deliver(vector, false);
    }
    public boolean destroyed() { return destroyed; }

    public Vcpu vcpuByApicId(int apicId) {
        for (Vcpu v : vcpus) if (v.apicId() == apicId) return v;
        return vcpus.getFirst();
    }

    // ---- devices ----------------------------------------------------------------------------------------

    /**
     * Assigns a host device (cold before {@link #start()}, or hot afterwards through {@link #hotplug}): its group
     * joins the container (all guest RAM mapped on the first), the device is opened and placed at its guest slot.
     */
    public synchronized Assigned assign(DeviceRequest req) {
        if (destroyed) throw new VmmException("VM '" + name() + "' is not running");
        PciFunction f = host.pci().find(req.host());
        String name = f == null ? normalize(req.host()) : f.address();
        if (f == null) {
            throw new AssignmentException(null, "vfio " + name + ": no iommu_group found: No such file or directory");
        }
        if (req.id() != null) {
            for (Assigned a : assigned.values()) {
                if (req.id().equals(a.request().id())) throw new VmmException("Duplicate ID '" + req.id() + "' for device");
            }
        }
        for (Assigned a : assigned.values()) {
            if (a.device().hostFunction() == f) {
                throw new AssignmentException(null, "vfio " + name + ": device is already attached");
            }
        }
        int devfn = pickDevfn(req);
        VfioGroup g = vmm.vfio().group(f);
        container.addGroup(g, name);
        VfioPciDevice d;
        try {
            d = vmm.vfio().open(container, f, req.id(), req.driver(), req.romBar(), this::vcpuByApicId,
                    config.postedInterrupts());
        } catch (VmmException e) {
            if (!groupInUse(g)) container.removeGroup(g);
            throw e;
        }
        if (!memoryMapped) {
            for (GuestMemory.Slot s : memory.slots()) {
                container.mapDma(s.gpa(), s.hpa(), s.size(), VfioContainer.READ | VfioContainer.WRITE);
            }
            memoryMapped = true;
        }
        Assigned a = new Assigned(d, devfn, req);
        assigned.put(devfn, a);
        bus.put(devfn, d);
        return a;
    }

    private static String normalize(String addr) {
        return addr.matches("[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]") ? "0000:" + addr.toLowerCase() : addr;
    }

    private int pickDevfn(DeviceRequest req) {
        if (req.slot() >= 0) {
            int devfn = (req.slot() << 3) | req.function();
            if (req.slot() > 31 || req.function() > 7) throw new VmmException("Property 'addr' out of range");
            if (bus.containsKey(devfn)) {
                throw new AssignmentException(null, String.format(
                        "PCI: slot %d function %d not available for %s, in use by %s", req.slot(), req.function(),
                        req.driver(), bus.get(devfn) instanceof VfioPciDevice v ? v.driverName() : "i440FX"));
            }
            return devfn;
        }
        for (int slot = 2; slot < 32; slot++) if (!bus.containsKey(slot << 3)) return slot << 3;
        throw new VmmException("PCI: no slot/function available for " + req.driver() + ", all in use");
    }

    private boolean groupInUse(VfioGroup g) {
        for (Assigned a : assigned.values()) if (vmm.vfio().group(a.device().hostFunction()) == g) return true;
        return false;
    }

    /** Removes a device: guest driver gone first (hot), then interrupts, reset, and the group leaves the container. */
    synchronized void unassign(Assigned a) {
        assigned.remove(a.devfn());
        bus.remove(a.devfn());
        a.device().release();
        VfioGroup g = vmm.vfio().group(a.device().hostFunction());
        if (!groupInUse(g)) {
            container.removeGroup(g);
            if (container.groups().isEmpty()) memoryMapped = false;
        }
    }

    public synchronized List<Assigned> assigned() { return List.copyOf(assigned.values()); }

    public synchronized Assigned byId(String id) {
        for (Assigned a : assigned.values()) if (id.equals(a.request().id())) return a;
        return null;
    }

    /** device_add on a running VM: the device is assigned, then the guest's hotplug driver finds it. */
    public Assigned hotplug(DeviceRequest req) {
        Assigned a = assign(req);
        if (running) guest.deviceAdded(a.devfn());
        return a;
    }

    /** device_del: the guest releases the device, then the VMM tears it down. */
    public void unplug(String id) {
        Assigned a = byId(id);
        if (a == null) throw new VmmException("Device '" + id + "' not found");
        if (running) guest.deviceRemoved(a.devfn());
        unassign(a);
    }

    /** Why live migration is impossible now (empty: it is possible). */
    public synchronized List<String> migrationBlockers() {
        List<String> out = new ArrayList<>();
        for (Assigned a : assigned.values()) {
            String type = "pci-assign".equals(a.request().driver()) ? "kvm-pci-assign" : "vfio-pci";
            out.add(String.format("State blocked by non-migratable device '0000:00:%02x.%d/%s'", a.devfn() >>> 3,
                    a.devfn() & 7, type));
        }
        return out;
    }

    // ---- guest accesses ---------------------------------------------------------------------------------

    public synchronized int configRead(int devfn, int offset, int size) {
        GuestPciDevice d = bus.get(devfn & 0xFF);
        if (d == null) return size == 4 ? -1 : (1 << (8 * size)) - 1;
        return d.configRead(offset, size);
    }

    public synchronized void configWrite(int devfn, int offset, int size, int value) {
        GuestPciDevice d = bus.get(devfn & 0xFF);
        if (d != null) d.configWrite(offset, size, value);
    }

    public synchronized GuestPciDevice device(int devfn) {
        return bus.get(devfn & 0xFF);
    }

    public synchronized Map<Integer, GuestPciDevice> pciBus() {
        return new TreeMap<>(bus);
    }

    /** A guest MMIO access (EPT violation on an MMIO GPA): the BAR that claims it, or all ones. */
    public long mmioRead(long gpa, int size) {
        if (dev.vtd.vmm.emulated.VirtualIoApic.claims(gpa)) {
            exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EPT_MISCONFIG);
            return ioapic.read(gpa - dev.vtd.vmm.emulated.VirtualIoApic.BASE, size);
        }
        GuestPciDevice d;
        int bar = -1;
        synchronized (this) {
            d = null;
            for (GuestPciDevice x : bus.values()) {
                for (int i = 0; i < 6; i++) {
                    long base = x.guestBarAddress(i), sz = x.barSize(i);
                    if (base != 0 && gpa >= base && gpa - base < sz) { d = x; bar = i; break; }
                }
                if (d != null) break;
            }
        }
        if (d == null) return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        if (!d.trapped()) return d.barRead(bar, gpa - d.guestBarAddress(bar), size);
        exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EPT_MISCONFIG);
        int[] depth = inExit.get();
        depth[0]++;
        try {
            return d.barRead(bar, gpa - d.guestBarAddress(bar), size);
        } finally {
            depth[0]--;
        }
    }

    public void mmioWrite(long gpa, int size, long value) {
        if (dev.vtd.vmm.emulated.VirtualIoApic.claims(gpa)) {
            exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EPT_MISCONFIG);
            ioapic.write(gpa - dev.vtd.vmm.emulated.VirtualIoApic.BASE, size, value);
            return;
        }
        GuestPciDevice d = null;
        int bar = -1;
        synchronized (this) {
            for (GuestPciDevice x : bus.values()) {
                for (int i = 0; i < 6; i++) {
                    long base = x.guestBarAddress(i), sz = x.barSize(i);
                    if (base != 0 && gpa >= base && gpa - base < sz) { d = x; bar = i; break; }
                }
                if (d != null) break;
            }
        }
        if (d == null) return;
        if (!d.trapped()) {
            d.barWrite(bar, gpa - d.guestBarAddress(bar), size, value);
            return;
        }
        exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EPT_MISCONFIG);
        int[] depth = inExit.get();
        depth[0]++;
        try {
            d.barWrite(bar, gpa - d.guestBarAddress(bar), size, value);
        } finally {
            depth[0]--;
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------

    /** Boots the guest kernel (it enumerates its bus and binds its drivers). */
    public void start() {
        if (running) return;
        running = true;
        guest.boot();
    }

    /** Stops the VM: devices released and returned to the host, memory and descriptors freed. */
    public synchronized void destroy() {
        if (destroyed) return;
        running = false;
        for (Assigned a : List.copyOf(assigned.values())) unassign(a);
        for (long h : hostRanges) host.ram().free(h);
        host.pages().freePage(pidPage);
        destroyed = true;
        vmm.removed(this);
    }
}

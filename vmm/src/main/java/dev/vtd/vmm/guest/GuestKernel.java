package dev.vtd.vmm.guest;

import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.GuestMemory;
import dev.vtd.vmm.GuestPciDevice;
import dev.vtd.vmm.Vcpu;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.host.PciNames;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guest's kernel, as far as devices go: it enumerates its PCI bus through configuration accesses, sizes and
 * assigns BARs in its PCI hole (from 0xc0000000), binds drivers (igb for the I350, igbvf for its VFs, edu for QEMU's edu device),
 * gives them DMA memory (guest-physical pages) and interrupt vectors, and takes interrupts from its vCPUs'
 * virtual LAPICs. Its own dmesg records probe and removal.
 */
public final class GuestKernel {
    public static final long MMIO_BASE = 0xC000_0000L;
    public static final long DMA_POOL_BASE = 0x0100_0000L;     // 16 MiB: below any 28-bit edu DMA mask
    public static final int FIRST_VECTOR = 0x41;

    private final VirtualMachine vm;
    private final Map<Integer, GuestDriver> drivers = new TreeMap<>();
    private final Map<Integer, GuestDriver> vectors = new HashMap<>();
    private final List<String> dmesg = new ArrayList<>();
    private long nextPage = DMA_POOL_BASE;
    private long nextMmio = MMIO_BASE;
    private int nextVector = FIRST_VECTOR;
    private long interruptsTaken;

    public GuestKernel(VirtualMachine vm) {
        this.vm = vm;
    }

    public VirtualMachine vm() { return vm; }
    public GuestMemory memory() { return vm.memory(); }
    public List<String> dmesg() { return List.copyOf(dmesg); }
    public long interruptsTaken() { return interruptsTaken; }

    void log(String line) {
        dmesg.add(line);
    }

    /** Enumerates bus 0 and binds drivers. */
    public void boot() {
        for (int devfn = 0; devfn < 256; devfn++) {
            if ((cfgRead(devfn, PciRegs.VENDOR_ID, 2) & 0xFFFF) != 0xFFFF) deviceAdded(devfn);
        }
    }

    /** A new function (boot or hotplug): BARs assigned, decode enabled, a driver bound if one matches. */
    public void deviceAdded(int devfn) {
        if (drivers.containsKey(devfn)) return;
        int vendor = cfgRead(devfn, PciRegs.VENDOR_ID, 2), device = cfgRead(devfn, PciRegs.DEVICE_ID, 2);
        if (vendor == 0xFFFF) return;
        assignBars(devfn);
        GuestDriver d = null;
        if (vendor == I350Nic.VENDOR_ID && device == I350Nic.DEVICE_ID) d = new IgbDriver(this, devfn, false);
        else if (vendor == I350Nic.VENDOR_ID && device == I350Nic.VF_DEVICE_ID) d = new IgbDriver(this, devfn, true);
        else if (vendor == EduDevice.VENDOR_ID && device == EduDevice.DEVICE_ID) d = new EduDriver(this, devfn);
        else if (vendor == dev.vtd.vmm.emulated.E1000.VENDOR_ID && device == dev.vtd.vmm.emulated.E1000.DEVICE_ID)
            d = new E1000Driver(this, devfn);
        else if (vendor == dev.vtd.vmm.virtio.VirtioNetPci.VENDOR && device == dev.vtd.vmm.virtio.VirtioNetPci.DEVICE)
            d = new VirtioNetDriver(this, devfn);
        if (d == null) return;
        log(String.format("pci 0000:00:%02x.%d: [%04x:%04x] bound to %s", devfn >>> 3, devfn & 7, vendor, device, d.name()));
        drivers.put(devfn, d);
        d.probe();
    }

    /** The function is going away (hot-unplug): its driver lets go first. */
    public void deviceRemoved(int devfn) {
        GuestDriver d = drivers.remove(devfn);
        if (d == null) return;
        d.remove();
        vectors.values().removeIf(x -> x == d);
        log(String.format("pci 0000:00:%02x.%d: removed (%s)", devfn >>> 3, devfn & 7, d.name()));
    }

    private void assignBars(int devfn) {
        cfgWrite(devfn, PciRegs.COMMAND, 2, 0);
        for (int i = 0; i < 6; i++) {
            int reg = PciRegs.BAR0 + 4 * i;
            int orig = cfgRead(devfn, reg, 4);
            if ((orig & PciRegs.BAR_IO) != 0) continue;
            cfgWrite(devfn, reg, 4, -1);
            int probe = cfgRead(devfn, reg, 4);
            boolean is64 = (orig & 0x6) == PciRegs.BAR_MEM_TYPE_64;
            long mask = probe & ~0xFL;
            if (is64) {
                cfgWrite(devfn, reg + 4, 4, -1);
                mask |= (long) cfgRead(devfn, reg + 4, 4) << 32;
            } else {
                mask |= 0xFFFF_FFFF_0000_0000L;
            }
            if ((mask & 0xFFFF_FFFFL) == 0) continue;
            long size = -mask;
            long at = (nextMmio + size - 1) & -size;
            nextMmio = at + size;
            cfgWrite(devfn, reg, 4, (int) at);
            if (is64) {
                cfgWrite(devfn, reg + 4, 4, (int) (at >>> 32));
                i++;
            }
        }
        cfgWrite(devfn, PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
    }

    public GuestDriver driver(int devfn) {
        return drivers.get(devfn);
    }

    /** The first bound driver of a type, or null. */
    public <T extends GuestDriver> T driver(Class<T> type) {
        for (GuestDriver d : drivers.values()) if (type.isInstance(d)) return type.cast(d);
        return null;
    }

    // ---- services for drivers -----------------------------------------------------------------------------

    public int cfgRead(int devfn, int off, int size) {
        return vm.configRead(devfn, off, size);
    }

    public void cfgWrite(int devfn, int off, int size, int value) {
        vm.configWrite(devfn, off, size, value);
    }

    /** The offset of a capability in the function's list, or -1. */
    public int findCapability(int devfn, int id) {
        int off = cfgRead(devfn, PciRegs.CAPABILITIES_PTR, 1) & 0xFC;
        for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
            if (cfgRead(devfn, off, 1) == id) return off;
            off = cfgRead(devfn, off + 1, 1) & 0xFC;
        }
        return -1;
    }

    public long barAddress(int devfn, int bar) {
        GuestPciDevice d = vm.device(devfn);
        return d == null ? 0 : d.guestBarAddress(bar);
    }

    public long readl(long gpa) { return vm.mmioRead(gpa, 4); }
    public void writel(long gpa, long v) { vm.mmioWrite(gpa, 4, v); }

    /** Contiguous guest-physical pages for DMA (dma_alloc_coherent without an IOMMU in the guest: GPA = bus address). */
    public long allocPages(int n) {
        long at = nextPage;
        nextPage += (long) n << 12;
        return at;
    }

    /** A vector for a driver's interrupt; returns it. */
    public int allocVector(GuestDriver d) {
        int v = nextVector++;
        vectors.put(v, d);
        return v;
    }

    /** The boot vCPU's APIC ID, where drivers aim their interrupts. */
    public Vcpu bootCpu() {
        return vm.vcpus().getFirst();
    }

    /** Every vCPU takes its requested interrupts and runs their handlers. */
    public int handleInterrupts() {
        int n = 0;
        for (Vcpu c : vm.vcpus()) {
            for (int v = c.lapic().take(); v >= 0; v = c.lapic().take()) {
                GuestDriver d = vectors.get(v);
                interruptsTaken++;
                n++;
                if (d != null) d.interrupt(v);
            }
        }
        return n;
    }

    /** lspci -nn inside the guest. */
    public List<String> lspci() {
        List<String> out = new ArrayList<>();
        for (int devfn : vm.pciBus().keySet()) {
            int vendor = cfgRead(devfn, PciRegs.VENDOR_ID, 2), device = cfgRead(devfn, PciRegs.DEVICE_ID, 2);
            int cls = (cfgRead(devfn, PciRegs.REVISION_ID, 4) >>> 8) & 0xFF_FFFF;
            int rev = cfgRead(devfn, PciRegs.REVISION_ID, 1);
            out.add(PciNames.lspciLine(String.format("00:%02x.%d", devfn >>> 3, devfn & 7), vendor, device, cls, rev));
        }
        return out;
    }
}

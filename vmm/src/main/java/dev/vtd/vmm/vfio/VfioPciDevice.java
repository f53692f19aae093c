package dev.vtd.vmm.vfio;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.interrupt.InterruptMessage;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.ir.MsiMessage;
import dev.vtd.platform.pci.Bar;
import dev.vtd.platform.pci.MsiCapability;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.GuestPciDevice;
import dev.vtd.vmm.Vcpu;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostInterrupts;

import java.util.List;
import java.util.function.IntFunction;

/**
 * A host PCI function assigned to a guest through vfio-pci, as QEMU's vfio-pci device presents it.
 * <ul>
 * <li>Configuration space: reads and writes go to the host function, except what VFIO and QEMU virtualize: a
 * VF's vendor and device ID, the BARs (the guest sees and sizes its own addresses), the expansion ROM BAR, the interrupt line, and the MSI and
 * MSI-X capabilities (the guest's messages are never written to the device).</li>
 * <li>BARs: a guest access at guest BAR + offset is trapped and forwarded to host BAR + offset, except the
 * MSI-X table, which is emulated (PCI Local Bus 3.0, 6.8.2).</li>
 * <li>Interrupts: each guest message enabled and unmasked gets an IRTE on the device's remapping unit: in posted
 * format (VT-d 9.11) naming the target vCPU's posted-interrupt descriptor when the unit has CAP.PI, else in
 * remapped format (9.10) to a host vector on the vCPU's host CPU whose handler injects the guest vector. Both
 * verify the requester ID (SVT = 01b). The host message then uses the remappable format with that handle
 * (5.1.2.2).</li>
 * <li>{@link #release()}: interrupts torn down (IRTEs cleared, their cache lines invalidated), the function
 * reset (FLR) with its host BARs restored, bus mastering off.</li>
 * </ul>
 */
public final class VfioPciDevice implements GuestPciDevice {
    private static final int BAR_END = PciRegs.BAR0 + 24;

    /** One routed guest interrupt. */
    private record Route(int irte, int hostCpu, int hostVector, boolean posted) {}

    private final Host host;
    private final PciFunction fn;
    private final String id;
    private final String driverName;
    private final boolean romBar;
    private final IntFunction<Vcpu> vcpuByApicId;
    private final boolean postedAllowed;
    private final HostInterrupts.Table irt;
    private final long[] guestBar = new long[6];
    private final int[] hostBarRegs = new int[6];
    private int interruptLine;
    // Emulated MSI capability.
    private final MsiCapability msi;
    private long msiAddress;
    private int msiData, msiControl;
    private Route msiRoute;
    // Emulated MSI-X capability and table.
    private final MsixCapability msix;
    private final int msixTableBar;
    private final long msixTableOffset;
    private final int[] msixTable;
    private int msixControl;
    private final Route[] msixRoutes;
    private long interruptsRouted;
    private boolean released;

    VfioPciDevice(Host host, PciFunction fn, String id, String driverName, boolean romBar,
                  IntFunction<Vcpu> vcpuByApicId, boolean postedAllowed) {
        this.host = host;
        this.fn = fn;
        this.id = id;
        this.driverName = driverName;
        this.romBar = romBar;
        this.vcpuByApicId = vcpuByApicId;
        this.postedAllowed = postedAllowed;
        Machine.Unit unit = host.machine().unitFor(fn);
        this.irt = unit == null ? null : host.interrupts().table(unit);
        for (int i = 0; i < 6; i++) hostBarRegs[i] = fn.configRead(PciRegs.BAR0 + 4 * i, 4);
        this.msi = fn.msi();
        if (msi != null) msiControl = fn.configRead(msi.offset() + MsiCapability.CONTROL, 2) & ~MsiCapability.CTL_ENABLE;
        this.msix = fn.msix();
        if (msix != null) {
            int table = fn.configRead(msix.offset() + MsixCapability.TABLE, 4);
            msixTableBar = table & 7;
            msixTableOffset = table & ~7L & 0xFFFF_FFFFL;
            msixTable = new int[msix.vectors() * 4];
            for (int v = 0; v < msix.vectors(); v++) msixTable[v * 4 + 3] = MsixCapability.VECTOR_CONTROL_MASK;
            msixRoutes = new Route[msix.vectors()];
            msixControl = fn.configRead(msix.offset() + MsixCapability.CONTROL, 2) & MsixCapability.CTL_TABLE_SIZE_MASK;
        } else {
            msixTableBar = -1;
            msixTableOffset = 0;
            msixTable = new int[0];
            msixRoutes = new Route[0];
        }
        // vfio_pci_enable: memory decode on, so trapped BAR accesses reach the device.
        fn.configWrite(PciRegs.COMMAND, 2, (fn.command() | PciRegs.CMD_MEMORY_SPACE) & ~PciRegs.CMD_BUS_MASTER);
    }

    public PciFunction hostFunction() { return fn; }
    @Override public String id() { return id; }
    public String driverName() { return driverName; }
    public long interruptsRouted() { return interruptsRouted; }

    @Override
    public String describe() {
        return "host " + fn.address().substring(5) + " (" + driverName + ")";
    }

    // ---- configuration space --------------------------------------------------------------------------

    private boolean inMsi(int off) {
        return msi != null && off >= msi.offset() && off < msi.offset() + msi.length();
    }

    private boolean inMsixControl(int off) {
        return msix != null && off >= msix.offset() + MsixCapability.CONTROL && off < msix.offset() + 4;
    }

    private int emulatedDword(int dw) {
        if (dw >= PciRegs.BAR0 && dw < BAR_END) return barRegister((dw - PciRegs.BAR0) / 4);
        if (dw == PciRegs.EXPANSION_ROM) return 0;
        // A VF's Vendor and Device ID read FFFFh (SR-IOV 1.1, 3.4.1.1-2); VFIO presents the real ones.
        if (dw == PciRegs.VENDOR_ID && fn.isVirtualFunction()) return fn.ids().vendorId() | fn.ids().deviceId() << 16;
        if (dw == PciRegs.INTERRUPT_LINE) return (fn.configRead(dw, 4) & ~0xFF) | interruptLine;
        int value = fn.configRead(dw, 4);
        if (msi != null && inMsi(dw) || msi != null && inMsi(dw + 3)) {
            int base = msi.offset();
            for (int b = 0; b < 4; b++) {
                int off = dw + b;
                if (!inMsi(off) || off < base + MsiCapability.CONTROL) continue;
                int rel = off - base;
                int byteVal;
                if (rel < 4) byteVal = (msiControl >>> (8 * (rel - 2))) & 0xFF;
                else if (rel < 8) byteVal = (int) (msiAddress >>> (8 * (rel - 4))) & 0xFF;
                else if (rel < 12 && msi.dataOffset() == 0x0C) byteVal = (int) (msiAddress >>> (32 + 8 * (rel - 8))) & 0xFF;
                else if (rel >= msi.dataOffset() && rel < msi.dataOffset() + 2) byteVal = (msiData >>> (8 * (rel - msi.dataOffset()))) & 0xFF;
                else continue;
                value = (value & ~(0xFF << (8 * b))) | (byteVal << (8 * b));
            }
        }
        if (msix != null && dw == msix.offset()) value = (value & 0xFFFF) | (msixControl << 16);
        return value;
    }

    private int barRegister(int i) {
        Bar b = fn.bar(i);
        if (b == null) {
            Bar lower = i > 0 ? fn.bar(i - 1) : null;
            if (lower != null && lower.type() == Bar.Type.MEMORY64) return (int) (guestBar[i - 1] >>> 32);
            return 0;
        }
        return (int) guestBar[i] | typeBits(b);
    }

    /**
     * The BAR's low type bits as the guest sees them. A VF's BAR registers read zero on the device (SR-IOV 1.1,
     * 3.4.1.11: its BARs live in the PF's VF BARn), so VFIO presents each from the resource's type.
     */
    private static int typeBits(Bar b) {
        return switch (b.type()) {
            case IO -> PciRegs.BAR_IO;
            case MEMORY32 -> b.prefetchable() ? PciRegs.BAR_MEM_PREFETCHABLE : 0;
            case MEMORY64 -> PciRegs.BAR_MEM_TYPE_64 | (b.prefetchable() ? PciRegs.BAR_MEM_PREFETCHABLE : 0);
        };
    }

    @Override
    public int configRead(int offset, int size) {
        if (offset < 0 || size < 1 || size > 4 || offset + size > 256) return -1;
        int v = emulatedDword(offset & ~3) >>> (8 * (offset & 3));
        return size == 4 ? v : v & ((1 << (8 * size)) - 1);
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        if (released || offset < 0 || size < 1 || size > 4 || offset + size > 256) return;
        int dw = offset & ~3;
        int shift = 8 * (offset & 3);
        int mask = (size == 4 ? -1 : (1 << (8 * size)) - 1) << shift;
        int merged = (emulatedDword(dw) & ~mask) | ((value << shift) & mask);
        if (dw >= PciRegs.BAR0 && dw < BAR_END) {
            writeBar((dw - PciRegs.BAR0) / 4, merged);
        } else if (dw == PciRegs.EXPANSION_ROM) {
            return;                                      // rombar=0 or not: the ROM is not exposed
        } else if (dw == PciRegs.INTERRUPT_LINE) {
            interruptLine = merged & 0xFF;
        } else if (dw == PciRegs.COMMAND) {
            int allowed = PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER | PciRegs.CMD_INTX_DISABLE;
            int cmd = (fn.command() & ~allowed) | (merged & allowed) | PciRegs.CMD_MEMORY_SPACE;
            fn.configWrite(PciRegs.COMMAND, 2, cmd);
        } else if (msi != null && (inMsi(dw) || inMsi(dw + 3))) {
            writeMsi(dw, merged);
        } else if (msix != null && inMsixControl(dw + 2)) {
            writeMsixControl(merged >>> 16);
        } else if (dw >= 0x40) {
            fn.configWrite(offset, size, value);       // other capabilities pass through (PM, PCIe control)
        }
    }

    private void writeBar(int i, int value) {
        Bar b = fn.bar(i);
        if (b == null) {
            Bar lower = i > 0 ? fn.bar(i - 1) : null;
            if (lower != null && lower.type() == Bar.Type.MEMORY64) {
                long m = ~(lower.size() - 1);
                guestBar[i - 1] = ((guestBar[i - 1] & 0xFFFF_FFFFL) | ((long) value << 32)) & m;
            }
            return;
        }
        long sizeMask = ~(b.size() - 1);
        long hi = guestBar[i] & ~0xFFFF_FFFFL;
        guestBar[i] = (hi | (value & 0xFFFF_FFFFL)) & sizeMask & ~0xFL;
    }

    @Override
    public long guestBarAddress(int bar) {
        Bar b = fn.bar(bar);
        return b == null || !b.isMemory() ? 0 : guestBar[bar];
    }

    @Override
    public long barSize(int bar) {
        Bar b = fn.bar(bar);
        return b == null ? 0 : b.size();
    }

    // ---- BARs -------------------------------------------------------------------------------------------

    private boolean inMsixTable(int bar, long off) {
        return msix != null && bar == msixTableBar && off >= msixTableOffset
                && off - msixTableOffset < (long) msix.vectors() * MsixCapability.ENTRY_SIZE;
    }

    private SystemBus bus() {
        return host.machine().bus();
    }

    @Override
    public long barRead(int bar, long offset, int size) {
        Bar b = fn.bar(bar);
        if (released || b == null || !b.isMemory() || offset < 0 || offset + size > b.size()) return -1L;
        if (inMsixTable(bar, offset)) {
            int idx = (int) ((offset - msixTableOffset) >>> 2);
            long v = msixTable[idx] & 0xFFFF_FFFFL;
            if (size == 8 && idx + 1 < msixTable.length) v |= (long) msixTable[idx + 1] << 32;
            return size >= 4 ? v : (v >>> (8 * (offset & 3))) & ((1L << (8 * size)) - 1);
        }
        return bus().read(b.address() + offset, size);
    }

    @Override
    public void barWrite(int bar, long offset, int size, long value) {
        Bar b = fn.bar(bar);
        if (released || b == null || !b.isMemory() || offset < 0 || offset + size > b.size()) return;
        if (inMsixTable(bar, offset)) {
            if ((offset & 3) != 0 || (size != 4 && size != 8)) return;
            int idx = (int) ((offset - msixTableOffset) >>> 2);
            writeMsixTable(idx, (int) value);
            if (size == 8 && idx + 1 < msixTable.length) writeMsixTable(idx + 1, (int) (value >>> 32));
            return;
        }
        bus().write(b.address() + offset, size, value);
    }

    // ---- MSI ----------------------------------------------------------------------------------------------

    private void writeMsi(int dw, int merged) {
        int base = msi.offset();
        for (int b = 0; b < 4; b++) {
            int rel = dw + b - base;
            int byteVal = (merged >>> (8 * b)) & 0xFF;
            if (rel == 2) msiControl = (msiControl & ~0x71) | (byteVal & 0x71);   // enable, MME
            else if (rel >= 4 && rel < 8) {
                long m = 0xFFL << (8 * (rel - 4));
                msiAddress = (msiAddress & ~m) | ((long) byteVal << (8 * (rel - 4)) & m) & ~3L;
            } else if (rel >= 8 && rel < 12 && msi.dataOffset() == 0x0C) {
                long m = 0xFFL << (32 + 8 * (rel - 8));
                msiAddress = (msiAddress & ~m) | ((long) byteVal << (32 + 8 * (rel - 8)));
            } else if (rel >= msi.dataOffset() && rel < msi.dataOffset() + 2) {
                int m = 0xFF << (8 * (rel - msi.dataOffset()));
                msiData = (msiData & ~m) | (byteVal << (8 * (rel - msi.dataOffset())));
            }
        }
        boolean enable = (msiControl & MsiCapability.CTL_ENABLE) != 0;
        if (msiRoute != null) {
            unroute(msiRoute);
            msiRoute = null;
        }
        if (enable) {
            msiRoute = route(msiAddress, msiData);
            MsiMessage hm = hostMessage(msiRoute, msiAddress, msiData);
            fn.configWrite(base + MsiCapability.ADDRESS_LO, 4, (int) hm.address());
            if (msi.dataOffset() == 0x0C) fn.configWrite(base + 8, 4, (int) (hm.address() >>> 32));
            fn.configWrite(base + msi.dataOffset(), 2, hm.data());
        }
        int hostCtl = fn.configRead(base + MsiCapability.CONTROL, 2);
        fn.configWrite(base + MsiCapability.CONTROL, 2, enable ? hostCtl | MsiCapability.CTL_ENABLE
                : hostCtl & ~MsiCapability.CTL_ENABLE);
    }

    // ---- MSI-X --------------------------------------------------------------------------------------------

    private boolean msixActive() {
        return (msixControl & MsixCapability.CTL_ENABLE) != 0 && (msixControl & MsixCapability.CTL_FUNCTION_MASK) == 0;
    }

    private void writeMsixControl(int value) {
        int writable = MsixCapability.CTL_ENABLE | MsixCapability.CTL_FUNCTION_MASK;
        msixControl = (msixControl & ~writable) | (value & writable);
        for (int v = 0; v < msixRoutes.length; v++) syncMsixVector(v);
        int hostCtl = fn.configRead(msix.offset() + MsixCapability.CONTROL, 2);
        boolean enable = (msixControl & MsixCapability.CTL_ENABLE) != 0;
        fn.configWrite(msix.offset() + MsixCapability.CONTROL, 2, enable ? hostCtl | MsixCapability.CTL_ENABLE
                : hostCtl & ~MsixCapability.CTL_ENABLE);
    }

    private void writeMsixTable(int idx, int value) {
        int field = idx & 3;
        int writable = switch (field) {
            case 0 -> 0xFFFF_FFFC;
            case 3 -> MsixCapability.VECTOR_CONTROL_MASK;
            default -> -1;
        };
        msixTable[idx] = (msixTable[idx] & ~writable) | (value & writable);
        syncMsixVector(idx >>> 2);
    }

    /** Routes an unmasked vector of an enabled function, or takes the route down; writes the host entry. */
    private void syncMsixVector(int v) {
        long guestAddr = (msixTable[v * 4] & 0xFFFF_FFFFL) | (long) msixTable[v * 4 + 1] << 32;
        int guestData = msixTable[v * 4 + 2];
        boolean want = msixActive() && (msixTable[v * 4 + 3] & MsixCapability.VECTOR_CONTROL_MASK) == 0
                && (guestAddr & MsiMessage.HEAD_MASK) == MsiMessage.INTERRUPT_BASE;
        Route r = msixRoutes[v];
        long entry = hostBarAddress(msixTableBar) + msixTableOffset + (long) v * MsixCapability.ENTRY_SIZE;
        if (r != null) {
            bus().write(entry + MsixCapability.ENTRY_VECTOR_CONTROL, 4, MsixCapability.VECTOR_CONTROL_MASK);
            unroute(r);
            msixRoutes[v] = null;
        }
        if (!want) return;
        r = route(guestAddr, guestData);
        msixRoutes[v] = r;
        MsiMessage hm = hostMessage(r, guestAddr, guestData);
        bus().write(entry + MsixCapability.ENTRY_ADDR_LO, 4, hm.address() & 0xFFFF_FFFFL);
        bus().write(entry + MsixCapability.ENTRY_ADDR_HI, 4, hm.address() >>> 32);
        bus().write(entry + MsixCapability.ENTRY_DATA, 4, hm.data() & 0xFFFF_FFFFL);
        bus().write(entry + MsixCapability.ENTRY_VECTOR_CONTROL, 4, 0);
    }

    private long hostBarAddress(int bar) {
        Bar b = fn.bar(bar);
        return b == null ? 0 : b.address();
    }

    // ---- interrupt routing --------------------------------------------------------------------------------

    private Route route(long guestAddr, int guestData) {
        InterruptMessage gm = InterruptMessage.fromMsi(guestAddr, guestData);
        Vcpu vcpu = vcpuByApicId.apply(gm.destination());
        int guestVector = gm.vector();
        interruptsRouted++;
        if (irt == null) {
            int hv = host.interrupts().allocateVector(vcpu.hostCpu(), x -> vcpu.injectFromHost(guestVector));
            return new Route(-1, vcpu.hostCpu(), hv, false);
        }
        int index = irt.allocate();
        int sid = fn.dma().requesterId();
        if (postedAllowed && irt.postedSupported()) {
            irt.set(index, Irte.postedEntry(guestVector, vcpu.pidAddress(), false)
                    .withSourceValidation(Irte.SVT_SID, 0, sid));
            return new Route(index, vcpu.hostCpu(), -1, true);
        }
        int hv = host.interrupts().allocateVector(vcpu.hostCpu(), x -> vcpu.injectFromHost(guestVector));
        int dst = irt.extendedInterruptMode() ? vcpu.hostCpu() : Irte.xapicDestination(vcpu.hostCpu());
        irt.set(index, Irte.remapped(hv, dst, false, false, false, InterruptMessage.DM_FIXED)
                .withSourceValidation(Irte.SVT_SID, 0, sid));
        return new Route(index, vcpu.hostCpu(), hv, false);
    }

    /** The message the device really sends: remappable format with the IRTE handle (SHV = 1, subhandle 0). */
    private static MsiMessage hostMessage(Route r, long guestAddr, int guestData) {
        if (r.irte() < 0) {
            return MsiMessage.compatibility(r.hostCpu(), r.hostVector(), false, false, InterruptMessage.DM_FIXED, false);
        }
        return MsiMessage.remappable(r.irte(), true, 0);
    }

    private void unroute(Route r) {
        if (r.irte() >= 0) irt.free(r.irte());
        if (r.hostVector() >= 0) host.interrupts().freeVector(r.hostCpu(), r.hostVector());
    }

    /** Interrupt routes in place (IRTEs or host vectors), for checks. */
    public int activeRoutes() {
        int n = msiRoute != null ? 1 : 0;
        for (Route r : msixRoutes) if (r != null) n++;
        return n;
    }

    /** True if any route uses a posted-format IRTE. */
    public boolean postsInterrupts() {
        if (msiRoute != null && msiRoute.posted()) return true;
        for (Route r : msixRoutes) if (r != null && r.posted()) return true;
        return false;
    }

    // ---- release ------------------------------------------------------------------------------------------

    /** Tears down interrupts, resets the function (FLR) and restores its host BARs with bus mastering off. */
    public void release() {
        if (released) return;
        for (int v = 0; v < msixRoutes.length; v++) {
            if (msixRoutes[v] != null) {
                unroute(msixRoutes[v]);
                msixRoutes[v] = null;
            }
        }
        if (msiRoute != null) {
            unroute(msiRoute);
            msiRoute = null;
        }
        released = true;
        fn.reset();
        for (int i = 0; i < 6; i++) fn.configWrite(PciRegs.BAR0 + 4 * i, 4, hostBarRegs[i]);
        fn.configWrite(PciRegs.COMMAND, 2, 0);
    }

    public boolean released() { return released; }

    /** The functions VFIO would also have to reset with this one (the rest of its slot), for messages. */
    public List<PciFunction> slotPeers() {
        return fn.bus() == null ? List.of() : fn.bus().functions().stream()
                .filter(f -> f != fn && f.deviceNumber() == fn.deviceNumber()).toList();
    }
}

package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.bus.PortIoDevice;

import java.util.ArrayList;
import java.util.List;

import static dev.vtd.platform.pci.PciRegs.*;

/**
 * One PCI function: its configuration space (type 0 header here, type 1 in {@link PciBridge}), its
 * BARs with the device's register handlers behind them, its capabilities, its bus-master DMA view
 * ({@link #dma()}) and its interrupt outputs (INTx level, MSI, MSI-X).
 *
 * <p>A device model builds its functions before attaching them to a {@link PciBus}: identity,
 * BARs ({@link #addMemoryBar}, {@link #addIoBar}) and capabilities ({@link #addCapability}). At
 * attach time the configuration space is sealed and its contents become the reset defaults.
 */
public class PciFunction {
    /** Functions with config space reads that say "nothing here". */
    public static final int ALL_ONES = -1;

    private final String name;
    protected final ConfigSpace cfg;
    private final PciIds ids;
    private final Bar[] bars = new Bar[6];
    private final List<Capability> caps = new ArrayList<>();
    private byte[] defaults;
    private int nextCapOffset = 0x40;
    private int lastCapOffset = -1;
    private int lastExtCapOffset = -1;
    private final PciDma dma = new PciDma(this);
    private Runnable resetHandler;

    // Attachment.
    PciBus bus;
    int devfn = -1;

    // Virtual function attachment (SR-IOV): the PF and the VF number.
    final PciFunction physicalFunction;
    final int vfIndex;

    // INTx state.
    private boolean intxLevel;
    int assertedGsi = -1;

    private MsiCapability msi;
    private MsixCapability msix;
    private PcieCapability pcie;
    private SriovCapability sriov;
    private PowerManagementCapability pm;
    private AtsCapability ats;

    /** A conventional (256-byte) or PCI Express (4 KiB) function with a type 0 header. */
    public PciFunction(String name, PciIds ids, boolean pcieExtendedConfig) {
        this(name, ids, pcieExtendedConfig, HEADER_TYPE_NORMAL, null, -1);
    }

    protected PciFunction(String name, PciIds ids, boolean pcieExtendedConfig, int headerType,
                          PciFunction physicalFunction, int vfIndex) {
        this.name = name;
        this.ids = ids;
        this.physicalFunction = physicalFunction;
        this.vfIndex = vfIndex;
        cfg = new ConfigSpace(pcieExtendedConfig ? ConfigSpace.EXTENDED_SIZE : ConfigSpace.CONVENTIONAL_SIZE);
        boolean vf = physicalFunction != null;
        // SR-IOV spec 3.4.1.1-2: a VF's Vendor and Device ID read FFFFh.
        cfg.set16(VENDOR_ID, vf ? 0xFFFF : ids.vendorId());
        cfg.set16(DEVICE_ID, vf ? 0xFFFF : ids.deviceId());
        // SR-IOV spec 3.4.1.3: in a VF only Bus Master Enable is implemented.
        cfg.rw(COMMAND, 2, vf ? CMD_BUS_MASTER
                : CMD_IO_SPACE | CMD_MEMORY_SPACE | CMD_BUS_MASTER | CMD_PARITY_ERROR_RESPONSE | CMD_SERR | CMD_INTX_DISABLE);
        cfg.w1c(STATUS, 2, STS_ERRORS_W1C);
        cfg.set8(REVISION_ID, ids.revision());
        cfg.set(CLASS_PROG, 3, ids.classCode());
        cfg.rw(CACHE_LINE_SIZE, 1, vf ? 0 : 0xFF);
        cfg.set8(HEADER_TYPE, headerType);
        if (headerType == HEADER_TYPE_NORMAL) {
            cfg.set16(SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId());
            cfg.set16(SUBSYSTEM_ID, ids.subsystemId());
        }
        cfg.rw(INTERRUPT_LINE, 1, vf ? 0 : 0xFF);
    }

    // ---- identity ------------------------------------------------------------------------

    public String name() {
        return name;
    }

    public PciIds ids() {
        return ids;
    }

    public ConfigSpace config() {
        return cfg;
    }

    public boolean isBridge() {
        return false;
    }

    public boolean isVirtualFunction() {
        return physicalFunction != null;
    }

    /** The PF of a VF, or null. */
    public PciFunction physicalFunction() {
        return physicalFunction;
    }

    public int vfIndex() {
        return vfIndex;
    }

    /** The bus this function (or, for a VF, its PF) is attached to; null if detached. */
    public PciBus bus() {
        return physicalFunction != null ? physicalFunction.bus() : bus;
    }

    public boolean attached() {
        return bus() != null;
    }

    /** Device/function number on its bus (for a VF: from its routing ID). */
    public int devfn() {
        return physicalFunction != null ? rid() & 0xFF : devfn;
    }

    public int deviceNumber() {
        return devfn() >>> 3;
    }

    public int functionNumber() {
        return devfn() & 7;
    }

    /**
     * The function's routing ID: bus << 8 | devfn; for a VF, PF RID + First VF Offset + n * VF Stride
     * (SR-IOV spec 2.1.2), which may fall on a higher bus number than the PF's.
     */
    public int rid() {
        if (physicalFunction != null) {
            SriovCapability s = physicalFunction.sriov;
            return (physicalFunction.rid() + s.firstVfOffset() + vfIndex * s.vfStride()) & 0xFFFF;
        }
        PciBus b = bus;
        return b == null ? -1 : PciRegs.rid(b.number(), devfn);
    }

    public PciSegment segment() {
        PciBus b = bus();
        return b == null ? null : b.segment();
    }

    /** "ssss:bb:dd.f". */
    public String address() {
        PciSegment s = segment();
        return s == null ? name + "(detached)" : String.format("%04x:%s", s.number(), bdf(rid()));
    }

    @Override
    public String toString() {
        return name + "@" + address();
    }

    // ---- construction (before attach) ------------------------------------------------------

    private void checkBuilding() {
        if (defaults != null) throw new IllegalStateException(name + ": function already attached");
    }

    /** Adds a memory BAR (size a power of two, at least 16); a 64-bit BAR also takes index + 1. */
    public Bar addMemoryBar(int index, long size, boolean is64, boolean prefetchable, MmioDevice handler) {
        checkBuilding();
        Bar b = defineBar(index, is64 ? Bar.Type.MEMORY64 : Bar.Type.MEMORY32, size, prefetchable);
        b.setMmio(handler);
        return b;
    }

    /** Adds an I/O BAR (size a power of two, 4 to 256 bytes). */
    public Bar addIoBar(int index, int size, PortIoDevice handler) {
        checkBuilding();
        Bar b = defineBar(index, Bar.Type.IO, size, false);
        b.setIo(handler);
        return b;
    }

    private Bar defineBar(int index, Bar.Type type, long size, boolean prefetchable) {
        int maxIndex = isBridge() ? 1 : 5;
        boolean is64 = type == Bar.Type.MEMORY64;
        if (index < 0 || index + (is64 ? 1 : 0) > maxIndex || bars[index] != null || (is64 && bars[index + 1] != null)) {
            throw new IllegalArgumentException(name + ": BAR" + index + " not available");
        }
        long min = type == Bar.Type.IO ? 4 : 16;
        if (Long.bitCount(size) != 1 || size < min || (type == Bar.Type.MEMORY32 && size > 1L << 31)
                || (type == Bar.Type.IO && size > 256)) {
            throw new IllegalArgumentException(name + ": BAR" + index + " size 0x" + Long.toHexString(size));
        }
        Bar b = new Bar(this, index, type, size, prefetchable);
        bars[index] = b;
        if (physicalFunction == null) {
            int reg = BAR0 + 4 * index;
            long mask = ~(size - 1);
            cfg.set32(reg, b.typeBits());
            cfg.rw(reg, 4, (int) mask & (type == Bar.Type.IO ? ~0x3 : ~0xF));
            if (is64) cfg.rw(reg + 4, 4, (int) (mask >>> 32));
        }
        return b;
    }

    /** For a VF: sets the register handler behind a BAR that the PF's SR-IOV capability defines. */
    public void setBarHandler(int index, MmioDevice handler) {
        Bar b = bar(index);
        if (b == null || !b.isMemory()) throw new IllegalArgumentException(name + ": no memory BAR" + index);
        b.setMmio(handler);
    }

    /** Used by the SR-IOV capability to give a VF the BAR shape of the PF's VF BARs. */
    void defineVfBar(int index, Bar.Type type, long size, boolean prefetchable) {
        defineBar(index, type, size, prefetchable);
    }

    public Bar bar(int index) {
        return index >= 0 && index < 6 ? bars[index] : null;
    }

    public List<Bar> bars() {
        List<Bar> l = new ArrayList<>();
        for (Bar b : bars) if (b != null) l.add(b);
        return l;
    }

    /** Adds a capability at the next free (dword-aligned) offset in the conventional area. */
    public <C extends Capability> C addCapability(C cap) {
        return addCapability(cap, -1);
    }

    /** Adds a capability at a given offset (-1: next free); extended ones go to 0x100 and up. */
    public <C extends Capability> C addCapability(C cap, int at) {
        checkBuilding();
        if (cap.extended()) {
            if (cfg.size() < ConfigSpace.EXTENDED_SIZE) {
                throw new IllegalArgumentException(name + ": extended capability needs PCIe config space");
            }
            int off = at >= 0 ? at : (lastExtCapOffset < 0 ? EXT_CAP_START : nextExtFree());
            checkRange(cap, off, EXT_CAP_START, ConfigSpace.EXTENDED_SIZE);
            if (lastExtCapOffset < 0 && off != EXT_CAP_START) {
                throw new IllegalArgumentException(name + ": first extended capability must be at 0x100");
            }
            cfg.set32(off, (cap.id() & 0xFFFF) | (cap.version() & 0xF) << 16);
            if (lastExtCapOffset >= 0) {
                int h = cfg.get32(lastExtCapOffset);
                cfg.set32(lastExtCapOffset, (h & 0xFFFFF) | off << 20);
            }
            lastExtCapOffset = off;
            cap.bind(this, off);
        } else {
            int off = at >= 0 ? at : nextCapOffset;
            checkRange(cap, off, 0x40, ConfigSpace.CONVENTIONAL_SIZE);
            cfg.set8(off, cap.id());
            cfg.set8(off + 1, 0);
            if (lastCapOffset < 0) cfg.set8(CAPABILITIES_PTR, off);
            else cfg.set8(lastCapOffset + 1, off);
            lastCapOffset = off;
            nextCapOffset = Math.max(nextCapOffset, (off + cap.length() + 3) & ~3);
            cfg.setBits(STATUS, 2, STS_CAP_LIST, true);
            cap.bind(this, off);
        }
        caps.add(cap);
        switch (cap) {
            case MsiCapability m -> msi = m;
            case MsixCapability m -> msix = m;
            case PcieCapability p -> pcie = p;
            case SriovCapability s -> sriov = s;
            case PowerManagementCapability p -> pm = p;
            case AtsCapability a -> ats = a;
            default -> { }
        }
        return cap;
    }

    private int nextExtFree() {
        int end = 0;
        for (Capability c : caps) if (c.extended()) end = Math.max(end, c.offset() + c.length());
        return (end + 3) & ~3;
    }

    private void checkRange(Capability cap, int off, int lo, int hi) {
        if ((off & 3) != 0 || off < lo || off + cap.length() > hi) {
            throw new IllegalArgumentException(String.format("%s: capability 0x%x at 0x%x does not fit", name, cap.id(), off));
        }
        for (Capability c : caps) {
            if (c.extended() == cap.extended() && c.covers(off, cap.length())) {
                throw new IllegalArgumentException(String.format("%s: capability at 0x%x overlaps 0x%x", name, off, c.offset()));
            }
        }
    }

    /** Sets the INTx pin (1 = INTA .. 4 = INTD, 0 = none). */
    public void setInterruptPin(int pin) {
        checkBuilding();
        if (pin < 0 || pin > 4) throw new IllegalArgumentException("interrupt pin " + pin);
        cfg.set8(INTERRUPT_PIN, pin);
    }

    /** What the device does on a function reset (FLR, bus reset), after config space was restored. */
    public void setResetHandler(Runnable r) {
        resetHandler = r;
    }

    /** Freezes the layout: the current contents become the reset defaults. */
    void seal() {
        if (defaults != null) return;
        for (Capability c : caps) c.attached();
        defaults = snapshot();
    }

    private byte[] snapshot() {
        byte[] b = new byte[cfg.size()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) cfg.get8(i);
        return b;
    }

    // ---- capabilities ----------------------------------------------------------------------

    public List<Capability> capabilities() {
        return List.copyOf(caps);
    }

    public MsiCapability msi() {
        return msi;
    }

    public MsixCapability msix() {
        return msix;
    }

    public PcieCapability pcie() {
        return pcie;
    }

    public SriovCapability sriov() {
        return sriov;
    }

    public PowerManagementCapability powerManagement() {
        return pm;
    }

    /** The ATS capability (with the function's device-TLB), or null for a function without ATS. */
    public AtsCapability ats() {
        return ats;
    }

    public boolean isPcie() {
        return pcie != null;
    }

    // ---- guest config access ---------------------------------------------------------------

    /** A configuration read as the host bridge delivers it (already routed to this function). */
    public int configRead(int offset, int size) {
        return cfg.read(offset, size);
    }

    /** A configuration write: attributes applied, then side effects (decode, resets, capabilities). */
    public void configWrite(int offset, int size, int value) {
        if (!cfg.write(offset, size, value)) return;
        headerWritten(offset, size);
        for (Capability c : caps) {
            if (c.covers(offset, size)) c.written(offset, size);
        }
        PciSegment s = segment();
        if (s != null) s.hierarchy().configChanged(this, offset, size);
    }

    /** Hook for the type 1 header. */
    protected void headerWritten(int offset, int size) {
        if (offset <= COMMAND + 1 && offset + size > COMMAND) updateIntx();
    }

    // ---- command/status --------------------------------------------------------------------

    public int command() {
        return cfg.get16(COMMAND);
    }

    public boolean busMasterEnabled() {
        return (command() & CMD_BUS_MASTER) != 0;
    }

    /** Memory decode: Memory Space Enable (for a VF: the PF's VF MSE) and power state D0. */
    public boolean memoryDecodeEnabled() {
        if (physicalFunction != null) {
            return physicalFunction.sriov.vfMemorySpaceEnabled() && physicalFunction.memoryPowered();
        }
        return (command() & CMD_MEMORY_SPACE) != 0 && memoryPowered();
    }

    public boolean ioDecodeEnabled() {
        return physicalFunction == null && (command() & CMD_IO_SPACE) != 0 && memoryPowered();
    }

    private boolean memoryPowered() {
        return pm == null || pm.powerState() == 0;
    }

    /** Sets RW1C status bits as the function's hardware does (e.g. Received Master Abort). */
    public void setStatusBits(int bits) {
        cfg.setBits(STATUS, 2, bits, true);
    }

    public int status() {
        return cfg.get16(STATUS);
    }

    // ---- BAR addresses ---------------------------------------------------------------------

    long barAddress(Bar b) {
        if (physicalFunction != null) return physicalFunction.sriov.vfBarAddress(b.index(), vfIndex);
        int reg = BAR0 + 4 * b.index();
        long lo = cfg.get32(reg) & 0xFFFF_FFFFL;
        return switch (b.type()) {
            case IO -> lo & ~0x3L & 0xFFFF_FFFFL;
            case MEMORY32 -> lo & ~0xFL;
            case MEMORY64 -> (lo & ~0xFL) | ((long) cfg.get32(reg + 4) << 32);
        };
    }

    /** CPU read of a BAR: the MSI-X table and PBA are decoded first, then the device's handler. */
    public long barRead(Bar b, long offset, int size) {
        MsixCapability x = msix;
        if (x != null && x.claims(b.index(), offset, size)) return x.barRead(b.index(), offset, size);
        MmioDevice h = b.mmioHandler();
        if (h == null) return allOnes(size);
        return h.read(offset, size);
    }

    public void barWrite(Bar b, long offset, int size, long value) {
        MsixCapability x = msix;
        if (x != null && x.claims(b.index(), offset, size)) {
            x.barWrite(b.index(), offset, size, value);
            return;
        }
        MmioDevice h = b.mmioHandler();
        if (h != null) h.write(offset, size, value);
    }

    static long allOnes(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    // ---- DMA and interrupts ----------------------------------------------------------------

    /** The function's bus-master view: DMA stamped with its (possibly aliased) requester ID. */
    public PciDma dma() {
        return dma;
    }

    /** All requester IDs this function's DMA may carry (own RID first), as Linux's pci_for_each_dma_alias. */
    public List<Integer> dmaAliases() {
        return dma.aliases();
    }

    /** Drives the function's INTx output (level-triggered). Interrupt Status follows it; Interrupt Disable gates it. */
    public void setIntx(boolean asserted) {
        synchronized (this) {
            intxLevel = asserted;
            cfg.setBits(STATUS, 2, STS_INTERRUPT, asserted);
        }
        updateIntx();
    }

    public synchronized boolean intxLevel() {
        return intxLevel;
    }

    public int interruptPin() {
        return cfg.get8(INTERRUPT_PIN);
    }

    /** The INTx output as the platform sees it. */
    public synchronized boolean intxAsserted() {
        return intxLevel && interruptPin() != 0 && (command() & CMD_INTX_DISABLE) == 0;
    }

    void updateIntx() {
        PciSegment s = segment();
        if (s != null) s.hierarchy().intxChanged(this);
    }

    /**
     * Signals interrupt vector {@code vector} the way the function is configured: MSI-X if enabled,
     * else MSI if enabled (both need Bus Master Enable); returns false if neither is enabled, in
     * which case the device should use INTx.
     */
    public boolean signalMessage(int vector) {
        if (msix != null && msix.enabled()) {
            msix.signal(vector);
            return true;
        }
        if (msi != null && msi.enabled()) {
            msi.signal(vector);
            return true;
        }
        return false;
    }

    // ---- reset -----------------------------------------------------------------------------

    /**
     * Function-level reset (PCIe base spec 6.6.2) or the reset of a conventional reset/bus reset:
     * configuration registers return to their defaults, capabilities drop their state, the device
     * model resets, INTx deasserts.
     */
    public void reset() {
        if (defaults != null) {
            for (int i = 0; i < defaults.length; i++) cfg.set8(i, defaults[i]);
        }
        for (Capability c : caps) c.reset();
        synchronized (this) {
            intxLevel = false;
        }
        Runnable r = resetHandler;
        if (r != null) r.run();
        updateIntx();
        PciSegment s = segment();
        if (s != null) s.hierarchy().configChanged(this, 0, cfg.size());
    }
}

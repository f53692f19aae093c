package dev.vtd.platform.pci;

import java.util.ArrayList;
import java.util.List;

/**
 * Single Root I/O Virtualization capability (SR-IOV spec 1.1, 3.3). Setting VF Enable with NumVFs
 * = n instantiates VFs 0..n-1 (clamped to TotalVFs), VF k having routing ID PF RID + First VF
 * Offset + k * VF Stride (2.1.2; it may lie on a higher bus number, which the VF then answers
 * config requests for). VF BARn registers work like BARs with the per-VF size (at least the System
 * Page Size); VF k's BAR n starts at VF BARn + k * size (2.1.1.1). VF memory decode follows VF MSE.
 *
 * <p>The device model shapes each VF when it appears ({@link VfListener#vfCreated}: capabilities,
 * BAR handlers) and drops it when VF Enable is cleared or the PF resets.
 */
public final class SriovCapability extends ExtendedCapability {
    public static final int CAPABILITIES = 0x04;
    public static final int CONTROL = 0x08;
    public static final int STATUS = 0x0A;
    public static final int INITIAL_VFS = 0x0C;
    public static final int TOTAL_VFS = 0x0E;
    public static final int NUM_VFS = 0x10;
    public static final int FUNCTION_DEPENDENCY_LINK = 0x12;
    public static final int FIRST_VF_OFFSET = 0x14;
    public static final int VF_STRIDE = 0x16;
    public static final int VF_DEVICE_ID = 0x1A;
    public static final int SUPPORTED_PAGE_SIZES = 0x1C;
    public static final int SYSTEM_PAGE_SIZE = 0x20;
    public static final int VF_BAR0 = 0x24;
    public static final int VF_MIGRATION_STATE = 0x3C;

    public static final int CTL_VF_ENABLE = 1 << 0;
    public static final int CTL_VF_MIGRATION_ENABLE = 1 << 1;
    public static final int CTL_VF_MIGRATION_INTERRUPT = 1 << 2;
    public static final int CTL_VF_MSE = 1 << 3;
    public static final int CTL_ARI_CAPABLE_HIERARCHY = 1 << 4;
    /** 4K, 8K, 64K, 256K, 1M, 4M: what Intel NICs report. */
    public static final int DEFAULT_SUPPORTED_PAGE_SIZES = 0x553;

    /** How the device model gives a VF its behaviour. */
    public interface VfListener {
        /** A VF appeared: add capabilities and BAR handlers (it is not yet visible). */
        void vfCreated(int index, PciFunction vf);

        /** The VF disappeared (VF Enable cleared or PF reset). */
        default void vfRemoved(int index, PciFunction vf) {}
    }

    private record VfBar(int index, Bar.Type type, long size, boolean prefetchable) {}

    private final int initialVfs;
    private final int totalVfs;
    private final int firstVfOffset;
    private final int vfStride;
    private final int vfDeviceId;
    private final VfListener listener;
    private final List<VfBar> vfBars = new ArrayList<>();
    private volatile List<PciFunction> vfs = List.of();
    private int enabledNumVfs;
    private boolean created;

    public SriovCapability(int initialVfs, int totalVfs, int firstVfOffset, int vfStride, int vfDeviceId, VfListener listener) {
        if (totalVfs < 0 || totalVfs > 0xFFFF || initialVfs > totalVfs || (totalVfs > 1 && vfStride <= 0)
                || firstVfOffset <= 0 || firstVfOffset > 0xFFFF || vfStride > 0xFFFF) {
            throw new IllegalArgumentException("SR-IOV VF layout");
        }
        this.initialVfs = initialVfs;
        this.totalVfs = totalVfs;
        this.firstVfOffset = firstVfOffset;
        this.vfStride = vfStride;
        this.vfDeviceId = vfDeviceId & 0xFFFF;
        this.listener = listener;
    }

    /** Declares VF BAR {@code index} (per-VF size). Call before adding the capability. */
    public SriovCapability vfMemoryBar(int index, long size, boolean is64, boolean prefetchable) {
        if (cfg != null) throw new IllegalStateException("SR-IOV capability already installed");
        if (index < 0 || index + (is64 ? 1 : 0) > 5 || Long.bitCount(size) != 1 || size < 16) {
            throw new IllegalArgumentException("VF BAR" + index);
        }
        for (VfBar b : vfBars) {
            if (b.index == index || b.type == Bar.Type.MEMORY64 && b.index + 1 == index || is64 && index + 1 == b.index) {
                throw new IllegalArgumentException("VF BAR" + index + " overlaps VF BAR" + b.index);
            }
        }
        vfBars.add(new VfBar(index, is64 ? Bar.Type.MEMORY64 : Bar.Type.MEMORY32, size, prefetchable));
        return this;
    }

    @Override
    public int id() {
        return PciRegs.EXT_CAP_ID_SRIOV;
    }

    @Override
    public int length() {
        return 0x40;
    }

    @Override
    protected void initRegisters() {
        int o = offset;
        cfg.rw(o + CONTROL, 2, CTL_VF_ENABLE | CTL_VF_MSE | CTL_ARI_CAPABLE_HIERARCHY);
        cfg.w1c(o + STATUS, 2, 1);
        cfg.set16(o + INITIAL_VFS, initialVfs);
        cfg.set16(o + TOTAL_VFS, totalVfs);
        cfg.rw(o + NUM_VFS, 2, 0xFFFF);
        cfg.set16(o + FIRST_VF_OFFSET, firstVfOffset);
        cfg.set16(o + VF_STRIDE, vfStride);
        cfg.set16(o + VF_DEVICE_ID, vfDeviceId);
        cfg.set32(o + SUPPORTED_PAGE_SIZES, DEFAULT_SUPPORTED_PAGE_SIZES);
        cfg.set32(o + SYSTEM_PAGE_SIZE, 1);
        cfg.rw(o + SYSTEM_PAGE_SIZE, 4, DEFAULT_SUPPORTED_PAGE_SIZES);
        for (VfBar b : vfBars) {
            Bar probe = new Bar(function, b.index, b.type, b.size, b.prefetchable);
            cfg.set32(o + VF_BAR0 + 4 * b.index, probe.typeBits());
        }
        updateBarMasks();
    }

    @Override
    protected void attached() {
        // Function Dependency Link: this PF's own function number (no dependencies, 3.3.8).
        cfg.set8(offset + FUNCTION_DEPENDENCY_LINK, function.functionNumber());
    }

    private long effectiveSize(VfBar b) {
        return Math.max(b.size, systemPageSize());
    }

    private void updateBarMasks() {
        for (VfBar b : vfBars) {
            long mask = ~(effectiveSize(b) - 1);
            int reg = offset + VF_BAR0 + 4 * b.index;
            cfg.rw(reg, 4, (int) mask & ~0xF);
            if (b.type == Bar.Type.MEMORY64) cfg.rw(reg + 4, 4, (int) (mask >>> 32));
            // Re-apply the mask to the current value (bits that became read-only read 0).
            cfg.set32(reg, (cfg.get32(reg) & ((int) mask | 0xF)));
        }
    }

    // ---- register views --------------------------------------------------------------------

    public int initialVfs() {
        return initialVfs;
    }

    public int totalVfs() {
        return totalVfs;
    }

    public int firstVfOffset() {
        return firstVfOffset;
    }

    public int vfStride() {
        return vfStride;
    }

    public int vfDeviceId() {
        return vfDeviceId;
    }

    public int numVfs() {
        return cfg.get16(offset + NUM_VFS);
    }

    public boolean vfEnabled() {
        return (cfg.get16(offset + CONTROL) & CTL_VF_ENABLE) != 0;
    }

    public boolean vfMemorySpaceEnabled() {
        return (cfg.get16(offset + CONTROL) & CTL_VF_MSE) != 0 && vfEnabled();
    }

    /** System Page Size in bytes: 2^(12 + n) for the lowest bit n set (4 KiB if none). */
    public long systemPageSize() {
        int v = cfg.get32(offset + SYSTEM_PAGE_SIZE);
        return v == 0 ? 4096 : 4096L << Integer.numberOfTrailingZeros(v);
    }

    long vfBarAddress(int barIndex, int vfIndex) {
        for (VfBar b : vfBars) {
            if (b.index != barIndex) continue;
            int reg = offset + VF_BAR0 + 4 * barIndex;
            long base = cfg.get32(reg) & 0xFFFF_FFF0L;
            if (b.type == Bar.Type.MEMORY64) base |= (long) cfg.get32(reg + 4) << 32;
            return base + vfIndex * effectiveSize(b);
        }
        return 0;
    }

    /** The VF BAR stride (per-VF aperture) of VF BAR {@code index}, or 0 if there is none. */
    public long vfBarStride(int index) {
        for (VfBar b : vfBars) if (b.index == index) return effectiveSize(b);
        return 0;
    }

    /** The VFs currently enabled, VF 0 first. */
    public List<PciFunction> virtualFunctions() {
        return vfs;
    }

    PciFunction virtualFunctionByRid(int rid) {
        List<PciFunction> l = vfs;
        if (l.isEmpty()) return null;
        int first = function.rid() + firstVfOffset;
        int d = rid - first;
        if (d < 0) return null;
        int k = vfStride == 0 ? (d == 0 ? 0 : -1) : (d % vfStride == 0 ? d / vfStride : -1);
        return k >= 0 && k < l.size() ? l.get(k) : null;
    }

    // ---- transitions -----------------------------------------------------------------------

    @Override
    protected void written(int regOffset, int size) {
        boolean enable = vfEnabled();
        boolean active = created;
        if (active) {
            // NumVFs holds while VF Enable is set (3.3.10).
            cfg.set16(offset + NUM_VFS, enabledNumVfs);
        }
        if (enable && !active) {
            create();
        } else if (!enable && active) {
            destroy();
        } else if (!enable) {
            updateBarMasks();
        }
    }

    private void create() {
        int n = Math.min(numVfs(), totalVfs);
        enabledNumVfs = n;
        created = true;
        cfg.set16(offset + NUM_VFS, n);
        if (n == 0) return;
        PciIds pfIds = function.ids();
        PciIds ids = pfIds.withDeviceId(vfDeviceId);
        List<PciFunction> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            PciFunction vf = new PciFunction(function.name() + "-vf" + i, ids, cfg.size() > ConfigSpace.CONVENTIONAL_SIZE,
                    PciRegs.HEADER_TYPE_NORMAL, function, i);
            for (VfBar b : vfBars) vf.defineVfBar(b.index, b.type, b.size, b.prefetchable);
            if (listener != null) listener.vfCreated(i, vf);
            vf.seal();
            list.add(vf);
        }
        vfs = List.copyOf(list);
    }

    private void destroy() {
        List<PciFunction> old = vfs;
        vfs = List.of();
        enabledNumVfs = 0;
        created = false;
        for (PciFunction vf : old) {
            vf.setIntx(false);
            if (listener != null) listener.vfRemoved(vf.vfIndex(), vf);
        }
    }

    @Override
    protected void reset() {
        destroy();
        updateBarMasks();
    }
}

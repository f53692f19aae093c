package dev.vtd.vmm.virtio;

import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.GuestPciDevice;

import java.util.function.Consumer;

/**
 * A modern virtio-net PCI function as the VMM presents it (virtio 1.x, 4.1 "Virtio Over PCI Bus"):
 * 1AF4:1041, revision 01, one 64-bit memory BAR (BAR4) holding the common configuration at 0x0000, the ISR
 * status at 0x1000, the device configuration (MAC, status) at 0x2000, the notification area at 0x3000
 * (notify_off_multiplier 4) and the MSI-X table and PBA at 0x4000 and 0x4800; each located by a
 * vendor-specific capability (4.1.4). The data path is {@link VirtioNetBackend} (vhost-like). Every BAR
 * access by the guest traps to the VMM; a notification is one exit (an ioeventfd in KVM, still an exit).
 *
 * <p>Feature negotiation (2.2, 3.1.1): the device offers VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC and
 * VIRTIO_F_RING_EVENT_IDX; FEATURES_OK is refused (stays clear) if the driver accepts anything else or not
 * VERSION_1. The queues start on DRIVER_OK; writing 0 to device_status resets the device.
 */
public final class VirtioNetPci implements GuestPciDevice {
    public static final int VENDOR = 0x1AF4, DEVICE = 0x1041, REVISION = 0x01, CLASS = 0x020000, SUBSYSTEM = 0x1100;
    public static final int BAR = 4;
    public static final long BAR_SIZE = 0x8000;
    public static final int COMMON = 0x0000, ISR = 0x1000, DEVICE_CFG = 0x2000, NOTIFY = 0x3000, MSIX_TABLE = 0x4000,
            MSIX_PBA = 0x4800, NOTIFY_MULTIPLIER = 4;
    /** virtio_pci_cap cfg_type values (4.1.4). */
    public static final int CFG_COMMON = 1, CFG_NOTIFY = 2, CFG_ISR = 3, CFG_DEVICE = 4;
    /** Common configuration layout (4.1.4.3). */
    public static final int DEVICE_FEATURE_SELECT = 0x00, DEVICE_FEATURE = 0x04, DRIVER_FEATURE_SELECT = 0x08,
            DRIVER_FEATURE = 0x0C, MSIX_CONFIG = 0x10, NUM_QUEUES = 0x12, DEVICE_STATUS = 0x14, CONFIG_GENERATION = 0x15,
            QUEUE_SELECT = 0x16, QUEUE_SIZE = 0x18, QUEUE_MSIX_VECTOR = 0x1A, QUEUE_ENABLE = 0x1C, QUEUE_NOTIFY_OFF = 0x1E,
            QUEUE_DESC = 0x20, QUEUE_DRIVER = 0x28, QUEUE_DEVICE = 0x30, COMMON_LENGTH = 0x38;
    /** Device status bits (2.1). */
    public static final int ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, DEVICE_NEEDS_RESET = 64, FAILED = 128;
    public static final long F_MAC = 1L << 5, F_EVENT_IDX = 1L << 29, F_VERSION_1 = 1L << 32;
    public static final long OFFERED = F_MAC | F_EVENT_IDX | F_VERSION_1;
    public static final int NO_VECTOR = 0xFFFF, QUEUES = 2, MAX_QUEUE_SIZE = 256, MSIX_ENTRIES = 3;
    public static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};

    /** Where an MSI (address, data) the device writes goes: the VMM turns it into an injection. */
    public interface MsiSink {
        void signal(long address, int data);
    }

    private final byte[] config = new byte[256];
    private final DriverMemory guest;
    private final Consumer<byte[]> wire;
    private final MsiSink msi;
    private final Runnable intx;
    private final String id;
    private long bar4, barMask;
    private boolean sizingLo, sizingHi;
    private int command, msixControl;
    private int deviceFeatureSelect, driverFeatureSelect, status, queueSelect, msixConfig = NO_VECTOR, isr;
    private long driverFeatures;
    private final int[] qsize = new int[QUEUES], qvector = new int[QUEUES], qenable = new int[QUEUES];
    private final long[] qdesc = new long[QUEUES], qdriver = new long[QUEUES], qdevice = new long[QUEUES];
    private final int[] msixTable = new int[MSIX_ENTRIES * 4];
    private VirtioNetBackend backend;
    private int raising = -1;

    public VirtioNetPci(String id, DriverMemory guest, Consumer<byte[]> wire, MsiSink msi, Runnable intx) {
        this.id = id;
        this.guest = guest;
        this.wire = wire;
        this.msi = msi;
        this.intx = intx;
        reset();
        // Capabilities: MSI-X at 0x40, then virtio_pci_cap structures (common, ISR, device, notify).
        config[PciRegs.CAPABILITIES_PTR] = 0x40;
        config[0x40] = (byte) PciRegs.CAP_ID_MSIX;
        config[0x41] = 0x4C;
        put32(0x44, MSIX_TABLE | BAR);
        put32(0x48, MSIX_PBA | BAR);
        virtioCap(0x4C, 0x5C, 16, CFG_COMMON, COMMON, COMMON_LENGTH);
        virtioCap(0x5C, 0x6C, 16, CFG_ISR, ISR, 4);
        virtioCap(0x6C, 0x7C, 16, CFG_DEVICE, DEVICE_CFG, 8);
        virtioCap(0x7C, 0x00, 20, CFG_NOTIFY, NOTIFY, QUEUES * NOTIFY_MULTIPLIER);
        put32(0x7C + 16, NOTIFY_MULTIPLIER);
    }

    private void virtioCap(int at, int next, int len, int type, int offset, int length) {
        config[at] = 0x09;                        // vendor-specific
        config[at + 1] = (byte) next;
        config[at + 2] = (byte) len;
        config[at + 3] = (byte) type;
        config[at + 4] = BAR;
        put32(at + 8, offset);
        put32(at + 12, length);
    }

    private void put32(int at, int v) {
        for (int i = 0; i < 4; i++) config[at + i] = (byte) (v >>> (8 * i));
    }

    private void reset() {
        status = 0;
        driverFeatures = 0;
        deviceFeatureSelect = driverFeatureSelect = queueSelect = 0;
        msixConfig = NO_VECTOR;
        isr = 0;
        for (int q = 0; q < QUEUES; q++) {
            qsize[q] = MAX_QUEUE_SIZE;
            qvector[q] = NO_VECTOR;
            qenable[q] = 0;
            qdesc[q] = qdriver[q] = qdevice[q] = 0;
        }
        backend = null;
    }

    public VirtioNetBackend backend() { return backend; }

    public int status() { return status; }

    @Override public boolean trapped() { return true; }

    // ---- configuration space -----------------------------------------------------------------------------

    @Override
    public int configRead(int offset, int size) {
        if (offset < 0 || offset + size > 256) return -1;
        int dw = switch (offset & ~3) {
            case PciRegs.VENDOR_ID -> VENDOR | DEVICE << 16;
            case PciRegs.COMMAND -> command | PciRegs.STS_CAP_LIST << 16;
            case PciRegs.REVISION_ID -> REVISION | CLASS << 8;
            case PciRegs.BAR0 + 4 * BAR -> sizingLo ? (int) -BAR_SIZE | PciRegs.BAR_MEM_TYPE_64 : (int) bar4 | PciRegs.BAR_MEM_TYPE_64;
            case PciRegs.BAR0 + 4 * BAR + 4 -> sizingHi ? -1 : (int) (bar4 >>> 32);
            case PciRegs.SUBSYSTEM_VENDOR_ID -> VENDOR | SUBSYSTEM << 16;
            case PciRegs.INTERRUPT_LINE -> (config[PciRegs.INTERRUPT_LINE] & 0xFF) | 1 << 8;
            case 0x40 -> 0x11 | 0x4C << 8 | (msixControl | (MSIX_ENTRIES - 1)) << 16;
            default -> (config[offset & ~3] & 0xFF) | (config[(offset & ~3) + 1] & 0xFF) << 8
                    | (config[(offset & ~3) + 2] & 0xFF) << 16 | (config[(offset & ~3) + 3] & 0xFF) << 24;
        };
        return (int) ((dw >>> (8 * (offset & 3))) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1));
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        int bar = PciRegs.BAR0 + 4 * BAR;
        if (offset == PciRegs.COMMAND && size >= 2) command = value & (PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER
                | PciRegs.CMD_INTX_DISABLE);
        else if (offset == bar && size == 4) {
            sizingLo = value == -1;
            if (!sizingLo) bar4 = bar4 & 0xFFFF_FFFF_0000_0000L | Integer.toUnsignedLong(value) & -BAR_SIZE;
        } else if (offset == bar + 4 && size == 4) {
            sizingHi = value == -1;
            if (!sizingHi) bar4 = bar4 & 0xFFFF_FFFFL | (long) value << 32;
        } else if (offset == PciRegs.INTERRUPT_LINE && size == 1) config[PciRegs.INTERRUPT_LINE] = (byte) value;
        else if (offset == 0x42 && size == 2) msixControl = value & 0xC000;     // MSI-X Enable, Function Mask
    }

    @Override
    public long guestBarAddress(int bar) {
        return bar == BAR && (command & PciRegs.CMD_MEMORY_SPACE) != 0 ? bar4 : 0;
    }

    @Override public long barSize(int bar) { return bar == BAR ? BAR_SIZE : 0; }

    // ---- BAR4 ---------------------------------------------------------------------------------------------

    @Override
    public long barRead(int bar, long off, int size) {
        if (bar != BAR || off < 0 || off + size > BAR_SIZE) return -1L;
        if (off >= MSIX_TABLE && off < MSIX_TABLE + 16L * MSIX_ENTRIES && size == 4 && (off & 3) == 0)
            return Integer.toUnsignedLong(msixTable[(int) (off - MSIX_TABLE) / 4]);
        if (off >= MSIX_PBA && off < MSIX_PBA + 8) return 0;
        if (off == ISR && size >= 1) {
            int v = isr;
            isr = 0;                                          // read to clear (4.1.4.5)
            return v;
        }
        if (off >= DEVICE_CFG && off < DEVICE_CFG + 8) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                int at = (int) (off - DEVICE_CFG) + i;
                int b = at < 6 ? MAC[at] & 0xFF : at == 6 ? 1 : 0;   // status: VIRTIO_NET_S_LINK_UP
                v = v << 8 | b;
            }
            return v;
        }
        if (off < COMMON_LENGTH) return commonRead((int) off, size);
        return 0;
    }

    private long commonRead(int off, int size) {
        int q = queueSelect;
        boolean valid = q < QUEUES;
        return switch (off) {
            case DEVICE_FEATURE_SELECT -> deviceFeatureSelect;
            case DEVICE_FEATURE -> deviceFeatureSelect == 0 ? OFFERED & 0xFFFF_FFFFL : deviceFeatureSelect == 1 ? OFFERED >>> 32 : 0;
            case DRIVER_FEATURE_SELECT -> driverFeatureSelect;
            case DRIVER_FEATURE -> driverFeatureSelect == 0 ? driverFeatures & 0xFFFF_FFFFL
                    : driverFeatureSelect == 1 ? driverFeatures >>> 32 : 0;
            case MSIX_CONFIG -> msixConfig;
            case NUM_QUEUES -> QUEUES;
            case DEVICE_STATUS -> status;
            case CONFIG_GENERATION -> 0;
            case QUEUE_SELECT -> queueSelect;
            case QUEUE_SIZE -> valid ? qsize[q] : 0;              // 0: the queue does not exist (4.1.4.3.1)
            case QUEUE_MSIX_VECTOR -> valid ? qvector[q] : NO_VECTOR;
            case QUEUE_ENABLE -> valid ? qenable[q] : 0;
            case QUEUE_NOTIFY_OFF -> valid ? q : 0;
            case QUEUE_DESC -> valid ? part(qdesc[q], size, 0) : 0;
            case QUEUE_DESC + 4 -> valid ? qdesc[q] >>> 32 : 0;
            case QUEUE_DRIVER -> valid ? part(qdriver[q], size, 0) : 0;
            case QUEUE_DRIVER + 4 -> valid ? qdriver[q] >>> 32 : 0;
            case QUEUE_DEVICE -> valid ? part(qdevice[q], size, 0) : 0;
            case QUEUE_DEVICE + 4 -> valid ? qdevice[q] >>> 32 : 0;
            default -> 0;
        };
    }

    private static long part(long v, int size, int shift) {
        return size == 8 ? v : v >>> shift & 0xFFFF_FFFFL;
    }

    @Override
    public void barWrite(int bar, long off, int size, long value) {
        if (bar != BAR || off < 0 || off + size > BAR_SIZE) return;
        if (off >= MSIX_TABLE && off < MSIX_TABLE + 16L * MSIX_ENTRIES && size == 4 && (off & 3) == 0) {
            msixTable[(int) (off - MSIX_TABLE) / 4] = (int) value;
            return;
        }
        if (off >= NOTIFY && off < NOTIFY + (long) QUEUES * NOTIFY_MULTIPLIER) {
            notifyQueue((int) (off - NOTIFY) / NOTIFY_MULTIPLIER);
            return;
        }
        if (off < COMMON_LENGTH) commonWrite((int) off, size, value);
    }

    private void commonWrite(int off, int size, long v) {
        int q = queueSelect;
        boolean valid = q < QUEUES;
        boolean live = (status & DRIVER_OK) != 0;
        switch (off) {
            case DEVICE_FEATURE_SELECT -> deviceFeatureSelect = (int) v;
            case DRIVER_FEATURE_SELECT -> driverFeatureSelect = (int) v;
            case DRIVER_FEATURE -> {
                if ((status & FEATURES_OK) != 0) return;        // features are fixed after FEATURES_OK
                if (driverFeatureSelect == 0) driverFeatures = driverFeatures & 0xFFFF_FFFF_0000_0000L | v & 0xFFFF_FFFFL;
                else if (driverFeatureSelect == 1) driverFeatures = driverFeatures & 0xFFFF_FFFFL | (v & 0xFFFF_FFFFL) << 32;
            }
            case MSIX_CONFIG -> msixConfig = (int) v & 0xFFFF;
            case DEVICE_STATUS -> writeStatus((int) v & 0xFF);
            case QUEUE_SELECT -> queueSelect = (int) v & 0xFFFF;
            case QUEUE_SIZE -> {
                // A power of two no larger than the maximum (2.7: split queue sizes are powers of two).
                int s = (int) v & 0xFFFF;
                if (valid && !live && s > 0 && s <= MAX_QUEUE_SIZE && Integer.bitCount(s) == 1) qsize[q] = s;
            }
            case QUEUE_MSIX_VECTOR -> {
                if (valid) qvector[q] = (int) v & 0xFFFF;
            }
            case QUEUE_ENABLE -> {
                if (valid && !live && (v & 1) == 1) qenable[q] = 1;
            }
            case QUEUE_DESC -> { if (valid && !live) qdesc[q] = merge(qdesc[q], v, size); }
            case QUEUE_DESC + 4 -> { if (valid && !live) qdesc[q] = qdesc[q] & 0xFFFF_FFFFL | v << 32; }
            case QUEUE_DRIVER -> { if (valid && !live) qdriver[q] = merge(qdriver[q], v, size); }
            case QUEUE_DRIVER + 4 -> { if (valid && !live) qdriver[q] = qdriver[q] & 0xFFFF_FFFFL | v << 32; }
            case QUEUE_DEVICE -> { if (valid && !live) qdevice[q] = merge(qdevice[q], v, size); }
            case QUEUE_DEVICE + 4 -> { if (valid && !live) qdevice[q] = qdevice[q] & 0xFFFF_FFFFL | v << 32; }
            default -> { }
        }
    }

    private static long merge(long old, long v, int size) {
        return size == 8 ? v : old & 0xFFFF_FFFF_0000_0000L | v & 0xFFFF_FFFFL;
    }

    private void writeStatus(int v) {
        if (v == 0) {
            reset();
            return;
        }
        if ((v & FEATURES_OK) != 0 && (status & FEATURES_OK) == 0) {
            boolean ok = (driverFeatures & ~OFFERED) == 0 && (driverFeatures & F_VERSION_1) != 0;
            if (!ok) v &= ~FEATURES_OK;                       // 3.1.1: the device refuses the subset
        }
        if ((v & DRIVER_OK) != 0 && (status & DRIVER_OK) == 0) {
            if ((v & FEATURES_OK) == 0 || !start()) v = v & ~DRIVER_OK | DEVICE_NEEDS_RESET;
        }
        status = v | status & DEVICE_NEEDS_RESET;
    }

    private boolean start() {
        boolean eventIdx = (driverFeatures & F_EVENT_IDX) != 0;
        DeviceVirtqueue[] qs = new DeviceVirtqueue[QUEUES];
        for (int q = 0; q < QUEUES; q++) {
            if (qenable[q] == 0) return false;
            SplitLayout l;
            try {
                l = new SplitLayout(qsize[q], qdesc[q], qdriver[q], qdevice[q]);
            } catch (IllegalArgumentException e) {
                return false;                                  // misaligned or oversized rings: the device needs a reset
            }
            if (!guest.contains(l.desc(), 16L * l.size()) || !guest.contains(l.avail(), 6 + 2L * l.size())
                    || !guest.contains(l.used(), 6 + 8L * l.size())) return false;
            qs[q] = new DeviceVirtqueue(guest, l, eventIdx);
        }
        backend = new VirtioNetBackend(guest, qs[VirtioNetBackend.RX], qs[VirtioNetBackend.TX], wire, this::interrupt);
        return true;
    }

    private void notifyQueue(int q) {
        if (backend == null || q >= QUEUES) return;
        raising = q;
        try {
            backend.notify(q);
        } finally {
            raising = -1;
        }
    }

    /** A frame arrives from the host's network for the guest (the backend's RX path). */
    public boolean receive(byte[] frame) {
        if (backend == null) return false;
        raising = VirtioNetBackend.RX;
        try {
            return backend.receive(frame);
        } finally {
            raising = -1;
        }
    }

    /** The backend asks for an interrupt of the queue being served: its MSI-X vector, else INTx with ISR bit 0. */
    private void interrupt() {
        int q = raising < 0 ? VirtioNetBackend.RX : raising;
        int vec = qvector[q];
        if ((msixControl & 0x8000) != 0) {
            if (vec == NO_VECTOR || vec >= MSIX_ENTRIES || (msixControl & 0x4000) != 0) return;
            int e = vec * 4;
            if ((msixTable[e + 3] & 1) != 0) return;          // entry masked (pending bit not modelled)
            msi.signal(Integer.toUnsignedLong(msixTable[e]) | (long) msixTable[e + 1] << 32, msixTable[e + 2]);
            return;
        }
        isr |= 1;
        if ((command & PciRegs.CMD_INTX_DISABLE) == 0) intx.run();
    }

    @Override public String id() { return id; }

    @Override public String describe() { return "virtio-net (vhost-like backend)"; }
}

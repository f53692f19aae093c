package dev.vtd.vmm.guest;

import dev.vtd.platform.pci.PciRegs;
import dev.vtd.vmm.emulated.GuestDriverMemory;
import dev.vtd.vmm.virtio.DriverVirtqueue;
import dev.vtd.vmm.virtio.SplitLayout;
import dev.vtd.vmm.virtio.VirtioNetBackend;
import dev.vtd.vmm.virtio.VirtioNetPci;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest's virtio-net driver over modern virtio-pci, in the manner of Linux's virtio_pci_modern + virtio_net:
 * it finds the common, notify, ISR and device structures through the vendor capabilities (4.1.4), negotiates
 * VERSION_1, MAC and EVENT_IDX (3.1.1), sets up receive queue 0 and transmit queue 1 with an MSI-X vector
 * each, posts 16 KiB receive buffers, and per transmitted frame adds one chain (header + frame) and notifies
 * only when the device's avail_event asks for it.
 */
public final class VirtioNetDriver implements GuestDriver {
    public static final int QUEUE_SIZE = 256;
    public static final int BUF = 16_384;

    private final GuestKernel k;
    private final int devfn;
    private long common, notify, device;
    private int notifyMultiplier;
    private final int[] notifyOff = new int[2];
    private DriverVirtqueue rx, tx;
    private long rxBufs, txBufs;
    private int txNext;
    private final int[] vectors = {-1, -1};
    private boolean up, keep = true;
    private String failure;
    private long interrupts, rxFrames, txFrames, notifications;
    private final List<byte[]> received = new ArrayList<>();
    private final byte[] mac = new byte[6];

    public VirtioNetDriver(GuestKernel k, int devfn) {
        this.k = k;
        this.devfn = devfn;
    }

    @Override public String name() { return "virtio-pci"; }

    /** Why probing failed, or null. */
    public String failure() { return failure; }

    public byte[] mac() { return mac.clone(); }

    @Override
    public void probe() {
        int msix = -1;
        for (int at = k.cfgRead(devfn, PciRegs.CAPABILITIES_PTR, 1) & ~3, guard = 0; at != 0 && guard < 48; guard++) {
            int id = k.cfgRead(devfn, at, 1);
            if (id == PciRegs.CAP_ID_MSIX) msix = at;
            if (id == 0x09) {
                int type = k.cfgRead(devfn, at + 3, 1), bar = k.cfgRead(devfn, at + 4, 1);
                long addr = k.barAddress(devfn, bar) + Integer.toUnsignedLong(k.cfgRead(devfn, at + 8, 4));
                switch (type) {
                    case VirtioNetPci.CFG_COMMON -> common = addr;
                    case VirtioNetPci.CFG_DEVICE -> device = addr;
                    case VirtioNetPci.CFG_NOTIFY -> {
                        notify = addr;
                        notifyMultiplier = k.cfgRead(devfn, at + 16, 4);
                    }
                    default -> { }
                }
            }
            at = k.cfgRead(devfn, at + 1, 1) & ~3;
        }
        if (common == 0 || notify == 0 || msix < 0) {
            failure = "virtio-pci: missing capabilities";
            return;
        }
        w8(VirtioNetPci.DEVICE_STATUS, 0);
        w8(VirtioNetPci.DEVICE_STATUS, VirtioNetPci.ACKNOWLEDGE);
        w8(VirtioNetPci.DEVICE_STATUS, VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER);
        w32(VirtioNetPci.DEVICE_FEATURE_SELECT, 0);
        long offered = r32(VirtioNetPci.DEVICE_FEATURE);
        w32(VirtioNetPci.DEVICE_FEATURE_SELECT, 1);
        offered |= r32(VirtioNetPci.DEVICE_FEATURE) << 32;
        long want = offered & (VirtioNetPci.F_VERSION_1 | VirtioNetPci.F_MAC | VirtioNetPci.F_EVENT_IDX);
        w32(VirtioNetPci.DRIVER_FEATURE_SELECT, 0);
        w32(VirtioNetPci.DRIVER_FEATURE, want & 0xFFFF_FFFFL);
        w32(VirtioNetPci.DRIVER_FEATURE_SELECT, 1);
        w32(VirtioNetPci.DRIVER_FEATURE, want >>> 32);
        int st = VirtioNetPci.ACKNOWLEDGE | VirtioNetPci.DRIVER | VirtioNetPci.FEATURES_OK;
        w8(VirtioNetPci.DEVICE_STATUS, st);
        if ((r8(VirtioNetPci.DEVICE_STATUS) & VirtioNetPci.FEATURES_OK) == 0) {
            failure = "virtio-pci: device refused the features";
            w8(VirtioNetPci.DEVICE_STATUS, st | VirtioNetPci.FAILED);
            return;
        }
        boolean eventIdx = (want & VirtioNetPci.F_EVENT_IDX) != 0;
        if ((want & VirtioNetPci.F_MAC) != 0) for (int i = 0; i < 6; i++) mac[i] = (byte) k.vm().mmioRead(device + i, 1);
        // MSI-X: one vector per queue, aimed at the boot vCPU.
        int table = k.cfgRead(devfn, msix + 4, 4);
        long tableAt = k.barAddress(devfn, table & 7) + (table & ~7L & 0xFFFF_FFFFL);
        for (int q = 0; q < 2; q++) {
            vectors[q] = k.allocVector(this);
            long e = tableAt + 16L * q;
            k.writel(e, 0xFEE0_0000L | (long) k.bootCpu().apicId() << 12);
            k.writel(e + 4, 0);
            k.writel(e + 8, vectors[q]);
            k.writel(e + 12, 0);
        }
        k.cfgWrite(devfn, msix + 2, 2, 0x8000);
        DriverVirtqueue[] qs = new DriverVirtqueue[2];
        GuestDriverMemory mem = new GuestDriverMemory(k.memory());
        for (int q = 0; q < 2; q++) {
            w16(VirtioNetPci.QUEUE_SELECT, q);
            int max = (int) r16(VirtioNetPci.QUEUE_SIZE);
            int size = Math.min(max, QUEUE_SIZE);
            SplitLayout l = SplitLayout.contiguous(size, k.allocPages((int) ((SplitLayout.contiguous(size, 0).footprint() + 4095) >>> 12)));
            w16(VirtioNetPci.QUEUE_SIZE, size);
            w16(VirtioNetPci.QUEUE_MSIX_VECTOR, q);
            w64(VirtioNetPci.QUEUE_DESC, l.desc());
            w64(VirtioNetPci.QUEUE_DRIVER, l.avail());
            w64(VirtioNetPci.QUEUE_DEVICE, l.used());
            notifyOff[q] = (int) r16(VirtioNetPci.QUEUE_NOTIFY_OFF);
            w16(VirtioNetPci.QUEUE_ENABLE, 1);
            qs[q] = new DriverVirtqueue(mem, l, eventIdx);
        }
        rx = qs[VirtioNetBackend.RX];
        tx = qs[VirtioNetBackend.TX];
        rxBufs = k.allocPages(rx.layout().size() * BUF / 4096);
        txBufs = k.allocPages(tx.layout().size() * BUF / 4096);
        w8(VirtioNetPci.DEVICE_STATUS, st | VirtioNetPci.DRIVER_OK);
        if ((r8(VirtioNetPci.DEVICE_STATUS) & VirtioNetPci.DRIVER_OK) == 0) {
            failure = "virtio-pci: device did not accept DRIVER_OK";
            return;
        }
        for (int i = 0; i < rx.layout().size(); i++) postRx(i);
        if (rx.kickNeeded()) kick(VirtioNetBackend.RX);
        up = true;
        k.log(String.format("virtio_net virtio0 eth0: 0000:00:%02x.%d: link up, MAC %02x:%02x:%02x:%02x:%02x:%02x",
                devfn >>> 3, devfn & 7, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]));
    }

    private void postRx(int slot) {
        rx.add(List.of(new DriverVirtqueue.Buffer(rxBufs + (long) slot * BUF, BUF, true)), slot);
    }

    private void kick(int q) {
        notifications++;
        k.writel(notify + (long) notifyOff[q] * notifyMultiplier, q);
    }

    public void keepReceived(boolean keep) { this.keep = keep; }

    /** Transmits a frame: a zero header and the frame in one buffer, one chain, a notification if asked for. */
    public boolean send(byte[] frame) {
        if (!up || frame.length == 0 || frame.length > BUF - VirtioNetBackend.HDR_BYTES) return false;
        reclaimTx();
        if (tx.freeDescriptors() == 0) return false;
        long buf = txBufs + (long) txNext * BUF;
        byte[] data = new byte[VirtioNetBackend.HDR_BYTES + frame.length];
        System.arraycopy(frame, 0, data, VirtioNetBackend.HDR_BYTES, frame.length);
        k.memory().write(buf, data);
        tx.add(List.of(new DriverVirtqueue.Buffer(buf, data.length, false)), txNext);
        txNext = (txNext + 1) % tx.layout().size();
        if (tx.kickNeeded()) kick(VirtioNetBackend.TX);
        txFrames++;
        return true;
    }

    private void reclaimTx() {
        while (tx.poll() != null) { }
    }

    @Override
    public void interrupt(int v) {
        interrupts++;
        if (v == vectors[VirtioNetBackend.TX]) {
            reclaimTx();
            return;
        }
        boolean posted = false;
        for (DriverVirtqueue.Used u; (u = rx.poll()) != null; ) {
            int slot = (Integer) u.token();
            int len = (int) u.written() - VirtioNetBackend.HDR_BYTES;
            if (len > 0) {
                rxFrames++;
                if (keep) received.add(k.memory().read(rxBufs + (long) slot * BUF + VirtioNetBackend.HDR_BYTES, len));
            }
            postRx(slot);
            posted = true;
        }
        if (posted && rx.kickNeeded()) kick(VirtioNetBackend.RX);
    }

    @Override
    public void remove() {
        if (common != 0) w8(VirtioNetPci.DEVICE_STATUS, 0);
        up = false;
    }

    private long r8(int off) { return k.vm().mmioRead(common + off, 1); }
    private long r16(int off) { return k.vm().mmioRead(common + off, 2); }
    private long r32(int off) { return k.readl(common + off); }
    private void w8(int off, long v) { k.vm().mmioWrite(common + off, 1, v); }
    private void w16(int off, long v) { k.vm().mmioWrite(common + off, 2, v); }
    private void w32(int off, long v) { k.writel(common + off, v & 0xFFFF_FFFFL); }
    private void w64(int off, long v) {
        w32(off, v);
        w32(off + 4, v >>> 32);
    }

    public List<byte[]> received() { return List.copyOf(received); }

    /** The frames received since the last call, handed over. */
    public List<byte[]> takeReceived() {
        List<byte[]> out = List.copyOf(received);
        received.clear();
        return out;
    }
    public long interrupts() { return interrupts; }
    public long rxFrames() { return rxFrames; }
    public long txFrames() { return txFrames; }
    public long notifications() { return notifications; }
    public int vector(int queue) { return vectors[queue]; }
}

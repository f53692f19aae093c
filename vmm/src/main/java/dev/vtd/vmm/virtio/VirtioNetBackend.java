package dev.vtd.vmm.virtio;

import java.util.function.Consumer;

/**
 * The data path of a virtio-net device (virtio 1.x, 5.1) in the manner of vhost-net: the host side
 * of receive queue 0 and transmit queue 1. Every packet carries the 12-byte {@code struct
 * virtio_net_hdr} (5.1.6: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers);
 * no offloads are negotiated, so the device writes a zero header with num_buffers = 1 and ignores the
 * driver's. One copy per packet each way, between the guest's buffers and the host's network.
 *
 * <p>Counted exactly: packets, copies and bytes, notifications the driver sent (each one an exit
 * unless the device suppressed them), interrupts the device asked for (each one an injection).
 */
public final class VirtioNetBackend {
    public static final int HDR_BYTES = 12;
    public static final int RX = 0, TX = 1;
    /** Queue-notify exits and interrupts are what the VMM sees; the rest is the backend's work. */
    private long rxPackets, txPackets, rxDropped, copies, bytesCopied, kicks, interrupts;

    private final DriverMemory guest;
    private final DeviceVirtqueue rx, tx;
    private final Consumer<byte[]> wire;
    private final Runnable interrupt;

    public VirtioNetBackend(DriverMemory guest, DeviceVirtqueue rx, DeviceVirtqueue tx, Consumer<byte[]> wire,
                            Runnable interrupt) {
        this.guest = guest;
        this.rx = rx;
        this.tx = tx;
        this.wire = wire;
        this.interrupt = interrupt;
    }

    /** Why a queue broke (DEVICE_NEEDS_RESET, 2.1.2), or null. */
    public String broken() {
        return rx.broken() != null ? "receive queue: " + rx.broken() : tx.broken() != null ? "transmit queue: " + tx.broken() : null;
    }

    /** The driver notified queue {@code queue} (a write to its notify address: one exit). */
    public void notify(int queue) {
        kicks++;
        if (queue == TX) transmit();
    }

    /** Sends every chain the driver made available on the transmit queue. */
    public void transmit() {
        boolean any = false;
        // As vhost does: no notifications while draining; re-enabled (avail_event = the next index) when the
        // queue looks empty, then checked once more so a chain added in between is not missed (2.7.10).
        tx.suppressNotifications(true);
        for (DeviceVirtqueue.Chain c; (c = tx.pop()) != null || reenable(); ) {
            if (c == null) continue;
            long len = c.readableBytes();
            if (len >= HDR_BYTES && len - HDR_BYTES <= 65_535 + 14) {
                byte[] frame = new byte[(int) (len - HDR_BYTES)];
                if (gather(c, frame)) {
                    copies++;
                    bytesCopied += frame.length;
                    txPackets++;
                    wire.accept(frame);
                }
            }
            tx.push(c.head(), 0);
            any = true;
        }
        if (any && tx.needsInterrupt()) raise();
    }

    /** Re-enables transmit notifications; true if chains arrived meanwhile (keep draining with them off). */
    private boolean reenable() {
        tx.suppressNotifications(false);
        if (tx.pending() == 0) return false;
        tx.suppressNotifications(true);
        return true;
    }

    /** Copies the chain's readable bytes after the header into {@code frame}. */
    private boolean gather(DeviceVirtqueue.Chain c, byte[] frame) {
        long skip = HDR_BYTES;
        int at = 0;
        for (DeviceVirtqueue.Segment s : c.readable()) {
            long from = Math.min(skip, s.len());
            skip -= from;
            int n = (int) Math.min(s.len() - from, frame.length - at);
            if (n > 0 && !guest.read(s.addr() + from, frame, at, n)) return false;
            at += Math.max(n, 0);
        }
        return at == frame.length;
    }

    /**
     * A frame from the network: written, after a zero header with num_buffers = 1, into the next
     * receive chain; dropped if the driver has none or it is too small.
     */
    public boolean receive(byte[] frame) {
        DeviceVirtqueue.Chain c = rx.pop();
        if (c == null) {
            rx.suppressNotifications(false);               // out of buffers: ask to be told of the refill
            rxDropped++;
            return false;
        }
        byte[] data = new byte[HDR_BYTES + frame.length];
        data[10] = 1;                                      // num_buffers
        System.arraycopy(frame, 0, data, HDR_BYTES, frame.length);
        boolean ok = c.writableBytes() >= data.length && scatter(c, data);
        if (ok) {
            copies++;
            bytesCopied += frame.length;
            rxPackets++;
        } else {
            rxDropped++;
        }
        rx.push(c.head(), ok ? data.length : 0);
        if (rx.needsInterrupt()) raise();
        return ok;
    }

    private boolean scatter(DeviceVirtqueue.Chain c, byte[] data) {
        int at = 0;
        for (DeviceVirtqueue.Segment s : c.writable()) {
            int n = (int) Math.min(s.len(), data.length - at);
            if (n > 0 && !guest.write(s.addr(), data, at, n)) return false;
            at += n;
            if (at == data.length) return true;
        }
        return at == data.length;
    }

    private void raise() {
        interrupts++;
        interrupt.run();
    }

    public long rxPackets() { return rxPackets; }
    public long txPackets() { return txPackets; }
    public long rxDropped() { return rxDropped; }
    public long copies() { return copies; }
    public long bytesCopied() { return bytesCopied; }
    public long kicks() { return kicks; }
    public long interrupts() { return interrupts; }
}

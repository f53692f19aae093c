package dev.vtd.vmm.exits;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The VM exits of one VM by basic exit reason (Intel SDM vol. 3, appendix C), and the event injections
 * the VMM makes on VM entry (SDM 27.6). Counted exactly: every guest access the VMM must emulate is one
 * exit; an assigned device's BAR access (mapped into the guest by EPT) and a posted interrupt are none.
 */
public final class VmExits {
    /** The basic exit reasons vtd's guests take, with the SDM's numbers. */
    public enum Reason {
        EXTERNAL_INTERRUPT(1, "external interrupt"),
        IO_INSTRUCTION(30, "I/O instruction"),
        EPT_VIOLATION(48, "EPT violation"),
        EPT_MISCONFIG(49, "EPT misconfiguration (MMIO)");

        public final int number;
        public final String text;

        Reason(int number, String text) {
            this.number = number;
            this.text = text;
        }
    }

    private final AtomicLongArray counts = new AtomicLongArray(Reason.values().length);
    private final AtomicLongArray injected = new AtomicLongArray(256);

    public void exit(Reason r) {
        counts.incrementAndGet(r.ordinal());
    }

    /** The VMM injects an interrupt vector on the next VM entry (no exit of its own). */
    public void injected(int vector) {
        injected.incrementAndGet(vector & 0xFF);
    }

    public long count(Reason r) {
        return counts.get(r.ordinal());
    }

    public long total() {
        long n = 0;
        for (int i = 0; i < counts.length(); i++) n += counts.get(i);
        return n;
    }

    public long injections() {
        long n = 0;
        for (int i = 0; i < injected.length(); i++) n += injected.get(i);
        return n;
    }
}

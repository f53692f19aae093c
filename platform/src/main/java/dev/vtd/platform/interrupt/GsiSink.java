package dev.vtd.platform.interrupt;

/**
 * Level-triggered platform interrupt lines (global system interrupts), as PCI INTx reaches an
 * I/O APIC. The caller reports the line's resulting level: shared lines are wire-ORed before.
 */
@FunctionalInterface
public interface GsiSink {
    void setLevel(int gsi, boolean asserted);
}

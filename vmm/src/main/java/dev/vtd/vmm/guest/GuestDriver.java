package dev.vtd.vmm.guest;

/** A driver in the guest kernel, bound to one function of the guest's PCI bus. */
public interface GuestDriver {
    String name();

    /** Binds to the device: maps its BARs, programs it, enables its interrupts. */
    void probe();

    /** Unbinds: quiesces the device and stops using its interrupts (hot-unplug, shutdown). */
    void remove();

    /** The device's interrupt arrived on {@code vector}. */
    void interrupt(int vector);
}

package dev.vtd.vmm;

/** A function on the guest's PCI bus: configuration space and BARs as the guest accesses them. */
public interface GuestPciDevice {
    int configRead(int offset, int size);

    void configWrite(int offset, int size, int value);

    /** The guest-physical address programmed in BAR i (0 when unset or not a memory BAR), and its size. */
    long guestBarAddress(int bar);

    long barSize(int bar);

    long barRead(int bar, long offset, int size);

    void barWrite(int bar, long offset, int size, long value);

    /** The QEMU device id (id=), or null. */
    String id();

    /** True when the VMM emulates the function: every BAR access by the guest is a VM exit. */
    default boolean trapped() { return false; }

    /** What {@code info pci} prints after the BARs, e.g. the host address. */
    default String describe() { return ""; }
}

package dev.vtd.platform.pci;

/**
 * The platform's INTx routing at a root bus (what ACPI _PRT describes): which global system
 * interrupt a (device, pin) on the root bus drives, after the bridge swizzle below it. Pins are
 * 1 = INTA .. 4 = INTD. Returns -1 for an unrouted pin.
 */
@FunctionalInterface
public interface IntxRouter {
    int gsi(int rootBus, int device, int pin);

    /** GSI = first + ((device + pin - 1) mod 4): four lines shared round-robin, as PIRQ routing commonly is. */
    static IntxRouter roundRobin(int firstGsi) {
        return (bus, device, pin) -> firstGsi + ((device + pin - 1) & 3);
    }

    /** The standard swizzle across a bridge (PCI-to-PCI Bridge spec 9.1): pin of the device below, seen above. */
    static int swizzle(int device, int pin) {
        return ((pin - 1 + device) & 3) + 1;
    }
}

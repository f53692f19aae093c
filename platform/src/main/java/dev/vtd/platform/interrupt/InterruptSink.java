package dev.vtd.platform.interrupt;

/**
 * The platform's interrupt fabric as seen from the IOMMU's output side: an interrupt message in
 * compatibility (non-remapped) MSI format — address 0xFEEx_xxxx with destination ID, redirection
 * hint and destination mode; data with vector, delivery mode and trigger mode (Intel SDM 10.11).
 * Remapped interrupts are converted to this form (or to a posted-interrupt update) by the unit.
 */
public interface InterruptSink {
    void deliver(long address, int data);

    /**
     * A decoded interrupt, as interrupt remapping produces it (possibly with a 32-bit x2APIC
     * destination, or as a posted-interrupt notification). Sinks that only understand MSIs get it
     * in compatibility format, which carries the low 8 destination bits.
     */
    default void deliver(InterruptMessage m) {
        deliver(m.msiAddress(), m.msiData());
    }
}

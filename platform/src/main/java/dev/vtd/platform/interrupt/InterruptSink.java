package dev.vtd.platform.interrupt;

/**
 * The platform's interrupt fabric as seen from the IOMMU's output side: an interrupt message in
 * compatibility (non-remapped) MSI format — address 0xFEEx_xxxx with destination ID, redirection
 * hint and destination mode; data with vector, delivery mode and trigger mode (Intel SDM 10.11).
 * Remapped interrupts are converted to this form (or to a posted-interrupt update) by the unit.
 */
public interface InterruptSink {
    void deliver(long address, int data);
}

package dev.vtd.platform.interrupt;

/**
 * Where an interrupt source (an IOAPIC, an MSI-capable device) sends its interrupt requests: the
 * remapping unit owning it ({@code RemappingUnit::interruptRequest}), or the fabric directly.
 */
@FunctionalInterface
public interface InterruptRequestPort {
    void interruptRequest(int sourceId, long address, int data);
}

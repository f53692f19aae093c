package dev.vtd.platform.pci;

/** A PCI Express extended capability (header: ID 15:0, version 19:16, next offset 31:20). */
public abstract class ExtendedCapability extends Capability {
    @Override
    public final boolean extended() {
        return true;
    }
}

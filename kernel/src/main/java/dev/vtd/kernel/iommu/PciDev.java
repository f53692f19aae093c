package dev.vtd.kernel.iommu;

import java.util.List;

/**
 * A PCI function as the IOMMU layer sees it: segment, requester ID (bus << 8 | devfn), the other requester IDs
 * its DMA may carry (pci_for_each_dma_alias: e.g. a PCIe-to-PCI bridge's ID, or the quirk aliases of some
 * devices), and its DMA mask (the addresses it can emit; 32 bits unless its driver sets more).
 */
public record PciDev(int segment, int requesterId, List<Integer> dmaAliases, long dmaMask) {
    public static final long DEFAULT_DMA_MASK = 0xFFFF_FFFFL;

    public PciDev {
        if (segment < 0 || segment > 0xFFFF) throw new IllegalArgumentException("PCI segment " + segment);
        if (requesterId < 0 || requesterId > 0xFFFF) throw new IllegalArgumentException("requester ID " + requesterId);
        dmaAliases = List.copyOf(dmaAliases);
        for (int a : dmaAliases) {
            if (a < 0 || a > 0xFFFF) throw new IllegalArgumentException("DMA alias " + a);
        }
        if (dmaMask == 0 || (dmaMask & (dmaMask + 1)) != 0) {
            throw new IllegalArgumentException(String.format("DMA mask 0x%x is not of the form 2^n - 1", dmaMask));
        }
    }

    /** Segment 0, no aliases, 32-bit DMA mask. */
    public static PciDev of(int bus, int device, int function) {
        return new PciDev(0, (bus << 8) | (device << 3) | function, List.of(), DEFAULT_DMA_MASK);
    }

    public PciDev withDmaMask(long mask) {
        return new PciDev(segment, requesterId, dmaAliases, mask);
    }

    public PciDev withAliases(List<Integer> aliases) {
        return new PciDev(segment, requesterId, aliases, dmaMask);
    }

    public int bus() { return requesterId >>> 8; }
    public int device() { return (requesterId >>> 3) & 0x1F; }
    public int function() { return requesterId & 7; }

    /** Every requester ID a context entry is needed for: the device's own, then its aliases. */
    public List<Integer> requesterIds() {
        java.util.ArrayList<Integer> out = new java.util.ArrayList<>();
        out.add(requesterId);
        for (int a : dmaAliases) if (!out.contains(a)) out.add(a);
        return out;
    }

    /** {@code 0000:01:00.3} (dev_name). */
    public String name() {
        return String.format("%04x:%02x:%02x.%d", segment, bus(), device(), function());
    }

    /** {@code 01:00.3} as fault lines print it. */
    public String bdf() {
        return String.format("%02x:%02x.%d", bus(), device(), function());
    }
}

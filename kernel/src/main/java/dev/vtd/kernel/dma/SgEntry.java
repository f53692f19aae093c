package dev.vtd.kernel.dma;

/** One scatterlist element on the CPU side: a physically contiguous buffer. */
public record SgEntry(long physAddress, long length) {
    public SgEntry {
        if (length <= 0) throw new IllegalArgumentException("scatterlist entry of length " + length);
        if (physAddress < 0) throw new IllegalArgumentException(String.format("physical address 0x%x", physAddress));
    }
}

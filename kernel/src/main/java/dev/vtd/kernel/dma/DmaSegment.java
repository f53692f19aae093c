package dev.vtd.kernel.dma;

/** One DMA segment a mapped scatterlist gives the device (sg_dma_address, sg_dma_len). */
public record DmaSegment(long dmaAddress, long length) {}

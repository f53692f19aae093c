package dev.vtd.kernel.dma;

/** A coherent DMA buffer: where the CPU finds it and where the device reaches it. */
public record CoherentBuffer(long cpuAddress, long dmaAddress, long size) {}

package dev.vtd.platform.bus;

import java.lang.foreign.MemorySegment;

/**
 * What a DMA-capable device issues its upstream memory requests into: the remapping unit that
 * owns the device (per the DMAR device scopes), or, for a device no unit covers, physical memory
 * directly. Every request carries the requester ID (bus << 8 | devfn) the IOMMU sees.
 *
 * <p>A write of 4 bytes into the interrupt address range 0xFEEx_xxxx is an interrupt request (MSI),
 * not a memory write (VT-d spec 3.14 / 5.1).
 *
 * <p>Both methods return the number of bytes transferred before the first blocked page; a return
 * value smaller than {@code length} means the rest was aborted (and, through an IOMMU, a fault was
 * recorded). Bytes of an aborted read are left unchanged in {@code dst}.
 */
public interface DmaPort {
    long read(int requesterId, long address, MemorySegment dst, long dstOffset, long length);

    long write(int requesterId, long address, MemorySegment src, long srcOffset, long length);

    default boolean readFully(int requesterId, long address, byte[] dst) {
        return read(requesterId, address, MemorySegment.ofArray(dst), 0, dst.length) == dst.length;
    }

    default boolean writeFully(int requesterId, long address, byte[] src) {
        return write(requesterId, address, MemorySegment.ofArray(src), 0, src.length) == src.length;
    }

    /** Little-endian 32-bit write, as a device writes an MSI data word or a status dword. */
    default boolean writeInt(int requesterId, long address, int value) {
        byte[] b = {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)};
        return writeFully(requesterId, address, b);
    }
}

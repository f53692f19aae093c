package dev.vtd.platform.bus;

import java.lang.foreign.MemorySegment;

/**
 * The address-translation services a remapping unit offers an ATS-capable endpoint (VT-d spec
 * chapter 4, PCIe ATS/PRI): translation requests that fill a device-TLB, translated requests
 * that use its results, and page requests for pages a translation showed absent.
 */
public interface AtsPort {
    /** No PASID on the request. */
    int NO_PASID = -1;

    /**
     * A translation completion: on success the output page base, its size and the access it
     * allows (both false for a page that is not present: the endpoint may then ask for it with a
     * page request); {@code ok == false} when the request was blocked (Unsupported Request).
     */
    record Completion(boolean ok, long outputBase, long pageSize, boolean read, boolean write) {}

    /** A translation request (AT = 01b) for the page of {@code address}. */
    Completion translate(int requesterId, int pasid, long address, boolean write, boolean privileged, boolean execute);

    /** A translated read (AT = 10b) of host-physical memory; returns bytes moved (0 when blocked). */
    long readTranslated(int requesterId, long address, MemorySegment dst, long dstOffset, long length);

    /** A translated write (AT = 10b); returns bytes moved (0 when blocked). */
    long writeTranslated(int requesterId, long address, MemorySegment src, long srcOffset, long length);

    /**
     * A page request (PCIe PRI) for the page of {@code address}; the answer arrives later as a
     * page group response for {@code groupIndex}.
     */
    void pageRequest(int requesterId, int pasid, long address, boolean read, boolean write, boolean execute,
                     boolean privileged, boolean lastInGroup, int groupIndex);
}

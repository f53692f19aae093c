package dev.vtd.kernel.iommu;

import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An IOMMU domain: the address space a set of devices shares.
 * <ul>
 * <li>{@link Type#DMA} / {@link Type#DMA_FQ}: the kernel's DMA API translates through page tables with an IOVA
 * allocator; unmaps are invalidated at once (strict) or batched in a {@link FlushQueue} (lazy).</li>
 * <li>{@link Type#IDENTITY}: DMA address = physical address; a pass-through context (TT = 10b) when the unit
 * has ECAP.PT, else page tables identity-mapping all RAM (the old si_domain).</li>
 * <li>{@link Type#BLOCKED}: no context entry; every request faults.</li>
 * <li>{@link Type#UNMANAGED}: page tables the owner (VFIO, a VMM) maps and unmaps itself, always strictly.</li>
 * </ul>
 * A domain has a domain ID on each unit it is attached to (allocated on the first device there).
 */
public final class Domain {
    /** Linux's iommu_domain types. */
    public enum Type {
        BLOCKED("Blocked"), IDENTITY("Passthrough"), DMA("Translated"), DMA_FQ("Translated"), UNMANAGED("Unmanaged");

        private final String linuxName;

        Type(String linuxName) { this.linuxName = linuxName; }

        /** iommu_domain_type_str. */
        public String linuxName() { return linuxName; }
    }

    private static final class UnitRef {
        int did;
        int refs;
    }

    private final int number;
    private final Type type;
    private final PhysicalMemory memory;
    private final PageAllocator pages;
    private final PageTable pageTable;
    private final boolean hwPassThrough;
    private final int agaw;
    private final int gawBits;
    private final int superpageLevels;
    private final IovaAllocator iovad;
    private final FlushQueue flushQueue;
    private final Map<IntelIommu, UnitRef> units = new LinkedHashMap<>();
    private final Set<PciDev> devices = new LinkedHashSet<>();
    private boolean destroyed;

    Domain(int number, Type type, PhysicalMemory memory, PageAllocator pages, int agaw, int mgawBits,
           int superpageLevels, boolean hwPassThrough, VirtualClock clock, int fqSize, long fqTimeoutNs) {
        this.number = number;
        this.type = type;
        this.memory = memory;
        this.pages = pages;
        this.agaw = agaw;
        this.gawBits = Math.min(IntelIommu.agawToWidth(agaw), mgawBits);
        this.superpageLevels = superpageLevels;
        this.hwPassThrough = hwPassThrough;
        boolean paging = type != Type.BLOCKED && !hwPassThrough;
        this.pageTable = paging ? new PageTable(memory, pages, agaw + 2, superpageLevels) : null;
        boolean dma = type == Type.DMA || type == Type.DMA_FQ;
        this.iovad = dma ? new IovaAllocator(1) : null;
        this.flushQueue = type == Type.DMA_FQ ? new FlushQueue(this, clock, fqSize, fqTimeoutNs) : null;
    }

    public int number() { return number; }
    public Type type() { return type; }
    /** True for an identity domain done with pass-through contexts (no page tables). */
    public boolean hwPassThrough() { return hwPassThrough; }
    public int agaw() { return agaw; }
    /** Guest address width in bits: addresses up to 2^gaw - 1 can be mapped. */
    public int gawBits() { return gawBits; }
    public long apertureEnd() { return gawBits >= 64 ? -1L : (1L << gawBits) - 1; }
    public int superpageLevels() { return superpageLevels; }
    public PageTable pageTable() { return pageTable; }
    public IovaAllocator iovad() { return iovad; }
    public FlushQueue flushQueue() { return flushQueue; }
    public boolean strict() { return type != Type.DMA_FQ; }

    public synchronized Set<PciDev> devices() { return Set.copyOf(devices); }

    /** The domain ID this domain has on a unit, or -1 when not attached there. */
    public synchronized int domainId(IntelIommu unit) {
        UnitRef r = units.get(unit);
        return r == null ? -1 : r.did;
    }

    // ---- attachment bookkeeping (domain_attach_iommu / domain_detach_iommu) -------------------------------

    synchronized int attachUnit(IntelIommu unit, PciDev dev) {
        UnitRef r = units.get(unit);
        if (r == null) {
            r = new UnitRef();
            r.did = hwPassThrough ? IntelIommu.FLPT_DEFAULT_DID : unit.allocDid();
            units.put(unit, r);
        }
        r.refs++;
        devices.add(dev);
        return r.did;
    }

    synchronized void detachUnit(IntelIommu unit, PciDev dev) {
        devices.remove(dev);
        UnitRef r = units.get(unit);
        if (r == null) return;
        if (--r.refs == 0) {
            units.remove(unit);
            if (!hwPassThrough) unit.freeDid(r.did);
        }
    }

    private synchronized List<Map.Entry<IntelIommu, Integer>> unitDids() {
        List<Map.Entry<IntelIommu, Integer>> out = new ArrayList<>();
        for (var e : units.entrySet()) out.add(Map.entry(e.getKey(), e.getValue().did));
        return out;
    }

    // ---- mapping ----------------------------------------------------------------------------------------

    private void requirePaging(String op) {
        if (pageTable == null || destroyed) {
            throw new IommuException("EINVAL", op + " on a " + type.linuxName().toLowerCase() + " domain without page tables");
        }
    }

    /**
     * iommu_map: maps [iova, iova + size) to pa with PageTable.PROT_* permissions, then what the hardware needs
     * for a new mapping to be seen (iotlb_sync_map): a page-selective invalidation on units that cache
     * not-present entries (CAP.CM), a write-buffer flush on units that need one.
     */
    public void map(long iova, long pa, long size, int prot) {
        requirePaging("map");
        if (size > 0 && (iova < 0 || Long.compareUnsigned(iova + size - 1, apertureEnd()) > 0)) {
            throw new IommuException("EFAULT", String.format(
                    "iommu width (%d) is not sufficient for the mapped address (%x)", gawBits, iova + size - 1));
        }
        pageTable.map(iova, pa, size, prot);
        for (var e : unitDids()) {
            IntelIommu u = e.getKey();
            if (u.cap().cachingMode()) u.flushIotlbRange(e.getValue(), iova, size, false);
            else u.flushWriteBuffer();
        }
    }

    /**
     * iommu_unmap with an immediate IOTLB sync: clears the range, invalidates it on every unit the domain is
     * attached to (leaf-only hint when no table page was freed), then frees the emptied table pages.
     *
     * @return bytes unmapped
     */
    public long unmap(long iova, long size) {
        requirePaging("unmap");
        List<Long> freelist = new ArrayList<>();
        long n = pageTable.unmap(iova, size, freelist);
        flushIotlbRange(iova, size, freelist.isEmpty());
        freeTablePages(freelist);
        return n;
    }

    /** The physical address a DMA to iova reaches, or -1 (identity domains answer iova itself). */
    public long iovaToPhys(long iova) {
        if (type == Type.BLOCKED) return -1;
        if (pageTable == null) return iova;
        return pageTable.iovaToPhys(iova);
    }

    void flushIotlbRange(long iova, long size, boolean leafOnly) {
        for (var e : unitDids()) e.getKey().flushIotlbRange(e.getValue(), iova, size, leafOnly);
    }

    /** Domain-selective IOTLB invalidation on every unit (flush_iotlb_all). */
    public void flushIotlbAll() {
        for (var e : unitDids()) e.getKey().flushIotlb(Invalidator.IOTLB_DOMAIN, e.getValue(), 0, 0, false);
    }

    void freeTablePages(List<Long> freelist) {
        for (long p : freelist) pages.freePage(p);
    }

    // ---- the DMA API's IOVA cookie (dma-iommu.c) ----------------------------------------------------------

    /**
     * iommu_dma_alloc_iova: {@code size} bytes (page multiple) below the device's DMA limit and the aperture;
     * devices that can address more than 32 bits get a 32-bit address first while one is free.
     *
     * @return the IOVA, or -1 when the space is exhausted
     */
    public long dmaAllocIova(long size, long dmaLimit, boolean tryBelow4G) {
        if (iovad == null) throw new IommuException("EINVAL", "no IOVA space in a " + type + " domain");
        long limit = Long.compareUnsigned(dmaLimit, apertureEnd()) < 0 ? dmaLimit : apertureEnd();
        long pagesNeeded = size >>> 12;
        if (tryBelow4G && Long.compareUnsigned(limit, 0xFFFF_FFFFL) > 0) {
            long pfn = iovad.allocFast(pagesNeeded, 0xFFFF_FFFFL >>> 12);
            if (pfn >= 0) return pfn << 12;
            return -2;   // the caller notes "Using n-bit DMA addresses" and retries without the workaround
        }
        long pfn = iovad.allocFast(pagesNeeded, limit >>> 12);
        return pfn < 0 ? -1 : pfn << 12;
    }

    /** Gives back an IOVA range that was never mapped (error paths). */
    public void dmaFreeIova(long iova, long size) {
        iovad.freeFast(iova >>> 12, size >>> 12);
    }

    /**
     * __iommu_dma_unmap: clears the page tables for [iova, iova + size); in strict mode invalidates and frees
     * IOVA and table pages before returning, in lazy mode queues them for the next flush.
     *
     * @return bytes unmapped
     */
    public long dmaUnmap(long iova, long size) {
        requirePaging("unmap");
        long pfn = iova >>> 12;
        long rangePages = iovad.rangePages(pfn);
        if (rangePages == 0) {
            throw new IommuException("EINVAL", String.format("unmap of DMA address 0x%x that is not mapped", iova));
        }
        List<Long> freelist = new ArrayList<>();
        long n = pageTable.unmap(iova, size, freelist);
        if (flushQueue != null) {
            flushQueue.add(pfn, rangePages, freelist);
        } else {
            flushIotlbRange(iova, size, freelist.isEmpty());
            freeTablePages(freelist);
            iovad.freeFast(pfn, rangePages);
        }
        return n;
    }

    /** Frees the page tables (the domain must have no devices); pending lazy unmaps are flushed first. */
    public void destroy() {
        synchronized (this) {
            if (!devices.isEmpty()) throw new IommuException("EBUSY", "domain " + number + " still has devices");
            if (destroyed) return;
            destroyed = true;
        }
        if (flushQueue != null) flushQueue.flushNow();
        if (pageTable != null) {
            List<Long> freelist = new ArrayList<>();
            pageTable.destroy(freelist);
            freeTablePages(freelist);
        }
    }

    public synchronized boolean destroyed() { return destroyed; }

    @Override
    public String toString() {
        return "domain " + number + " (" + type + ")";
    }
}

package dev.vtd.kernel.dma;

import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.iommu.IommuException;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.iommu.PciDev;

import java.util.ArrayList;
import java.util.List;

/**
 * The DMA API a host driver uses for one device (include/linux/dma-mapping.h), routed as Linux routes it:
 * through dma-iommu when the device sits in a DMA domain (IOVA allocation, page-table mapping, strict or
 * lazy unmap), directly (DMA address = physical address, checked against the mask) when the device is in an
 * identity domain or not translated. A device in a blocked or unmanaged domain has no DMA API (EBUSY).
 *
 * <p>Failures are {@link IommuException}s (the DMA_MAPPING_ERROR of Linux).
 */
public final class DmaOps {
    /** dma_get_max_seg_size default: 64 KiB. */
    public static final long DEFAULT_MAX_SEGMENT = 64 * 1024;
    /** dma_get_seg_boundary default: segments do not cross 4 GiB boundaries. */
    public static final long DEFAULT_SEG_BOUNDARY = 0xFFFF_FFFFL;
    static final long PAGE = PageAllocator.PAGE;

    private final IommuSubsystem iommu;
    private final PciDev dev;
    private long dmaMask;
    private long maxSegmentSize = DEFAULT_MAX_SEGMENT;
    private boolean pci32bitWorkaround = true;
    private long mapped, unmapped;

    private DmaOps(IommuSubsystem iommu, PciDev dev) {
        this.iommu = iommu;
        this.dev = dev;
        this.dmaMask = dev.dmaMask();
    }

    /** The DMA API for a device (probing it first when remapping is on). */
    public static DmaOps of(IommuSubsystem iommu, PciDev dev) {
        if (iommu.enabled()) iommu.probeDevice(dev);
        return new DmaOps(iommu, dev);
    }

    public PciDev device() { return dev; }
    public long dmaMask() { return dmaMask; }

    /** dma_set_mask_and_coherent. */
    public void setDmaMask(long mask) {
        if (mask == 0 || (mask & (mask + 1)) != 0 || Long.compareUnsigned(mask, 0xFFFL) < 0) {
            throw new IommuException("EIO", String.format("%s: DMA mask 0x%x is not usable", dev.name(), mask));
        }
        this.dmaMask = mask;
    }

    /** dma_set_max_seg_size. */
    public void setMaxSegmentSize(long size) {
        if (size < PAGE) throw new IommuException("EINVAL", "max segment size " + size);
        this.maxSegmentSize = size;
    }

    private Domain domain() {
        Domain d = iommu.enabled() ? iommu.domainOf(dev) : null;
        if (d != null && (d.type() == Domain.Type.BLOCKED || d.type() == Domain.Type.UNMANAGED)) {
            throw new IommuException("EBUSY", dev.name() + " is owned by a " + d.type().linuxName().toLowerCase()
                    + " domain; the DMA API is not available");
        }
        if (d == null && iommu.enabled() && iommu.unitFor(dev) != null) {
            throw new IommuException("ENODEV", dev.name() + " is blocked");
        }
        return d;
    }

    /** True when this device's DMA API goes through IOVA mappings. */
    public boolean translated() {
        Domain d = domain();
        return d != null && d.iovad() != null;
    }

    // ---- single mappings --------------------------------------------------------------------------------

    /** dma_map_single / dma_map_page: a DMA address for [pa, pa + size) with the direction's permissions. */
    public long mapSingle(long pa, long size, DmaDirection dir) {
        if (size <= 0 || dir == DmaDirection.NONE) {
            throw new IommuException("EINVAL", "dma_map_single size " + size + " dir " + dir);
        }
        Domain d = domain();
        if (d == null || d.iovad() == null) return direct(pa, size);
        long off = pa & (PAGE - 1);
        long len = align(size + off);
        long iova = allocIova(d, len);
        try {
            d.map(iova, pa - off, len, dir.prot());
        } catch (IommuException e) {
            d.dmaFreeIova(iova, len);
            throw e;
        }
        mapped++;
        return iova + off;
    }

    /** dma_map_page: a page plus offset. */
    public long mapPage(long pagePhys, long offset, long size, DmaDirection dir) {
        return mapSingle(pagePhys + offset, size, dir);
    }

    /** dma_unmap_single / dma_unmap_page. */
    public void unmapSingle(long dmaAddress, long size, DmaDirection dir) {
        Domain d = domain();
        if (d == null || d.iovad() == null) return;
        long off = dmaAddress & (PAGE - 1);
        long base = dmaAddress - off;
        long len = align(size + off);
        long n = d.dmaUnmap(base, len);
        if (n != len) {
            iommu.log().warn(String.format("WARNING: %s: unmapped 0x%x bytes of 0x%x at 0x%x", dev.name(), n, len, base));
        }
        unmapped++;
    }

    public void unmapPage(long dmaAddress, long size, DmaDirection dir) {
        unmapSingle(dmaAddress, size, dir);
    }

    private long direct(long pa, long size) {
        if (Long.compareUnsigned(pa + size - 1, dmaMask) > 0) {
            throw new IommuException("EIO", String.format("%s: DMA addr 0x%x+0x%x overflow (mask 0x%x)", dev.name(),
                    pa, size, dmaMask));
        }
        mapped++;
        return pa;
    }

    private long allocIova(Domain d, long len) {
        long iova = d.dmaAllocIova(len, dmaMask, pci32bitWorkaround);
        if (iova == -2) {
            pci32bitWorkaround = false;
            int bits = 64 - Long.numberOfLeadingZeros(Math.min(Long.compareUnsigned(dmaMask, d.apertureEnd()) < 0
                    ? dmaMask : d.apertureEnd(), Long.MAX_VALUE));
            iommu.log().notice("pci " + dev.name() + ": Using " + bits + "-bit DMA addresses");
            iova = d.dmaAllocIova(len, dmaMask, false);
        }
        if (iova < 0) {
            throw new IommuException("ENOMEM", String.format("%s: no IOVA space for 0x%x bytes below 0x%x", dev.name(),
                    len, dmaMask));
        }
        return iova;
    }

    private static long align(long n) {
        return (n + PAGE - 1) & -PAGE;
    }

    // ---- scatter-gather ---------------------------------------------------------------------------------

    /**
     * dma_map_sg (iommu_dma_map_sg): one IOVA range for the whole list, each element mapped at the next
     * page-aligned position, then elements merged into as few DMA segments as the rules allow: an element
     * joins the previous segment when that ended on a page boundary, it starts at offset 0 in its page, the
     * segment does not start on a segment boundary, and the result stays within the maximum segment size.
     */
    public List<DmaSegment> mapSg(List<SgEntry> sg, DmaDirection dir) {
        if (sg.isEmpty() || dir == DmaDirection.NONE) throw new IommuException("EINVAL", "empty scatterlist or no direction");
        Domain d = domain();
        if (d == null || d.iovad() == null) {
            List<DmaSegment> out = new ArrayList<>();
            for (SgEntry s : sg) out.add(new DmaSegment(direct(s.physAddress(), s.length()), s.length()));
            return out;
        }
        long total = 0;
        for (SgEntry s : sg) total += align(s.length() + (s.physAddress() & (PAGE - 1)));
        long iova = allocIova(d, total);
        long cursor = iova;
        try {
            for (SgEntry s : sg) {
                long off = s.physAddress() & (PAGE - 1);
                long len = align(s.length() + off);
                d.map(cursor, s.physAddress() - off, len, dir.prot());
                cursor += len;
            }
        } catch (IommuException e) {
            if (cursor > iova) d.unmap(iova, cursor - iova);
            d.dmaFreeIova(iova, total);
            throw e;
        }
        mapped++;
        // __finalise_sg
        List<DmaSegment> out = new ArrayList<>();
        long dmaAddr = iova;
        long curStart = -1, curLen = 0;
        for (SgEntry s : sg) {
            long off = s.physAddress() & (PAGE - 1);
            long sLen = s.length();
            long sIovaLen = align(sLen + off);
            if (curLen > 0 && off == 0 && (dmaAddr & DEFAULT_SEG_BOUNDARY) != 0 && maxSegmentSize - curLen >= sLen) {
                curLen += sLen;
            } else {
                if (curStart >= 0) out.add(new DmaSegment(curStart, curLen));
                curStart = dmaAddr + off;
                curLen = sLen;
            }
            dmaAddr += sIovaLen;
            if (sLen + off < sIovaLen) {
                out.add(new DmaSegment(curStart, curLen));
                curStart = -1;
                curLen = 0;
            }
        }
        if (curStart >= 0) out.add(new DmaSegment(curStart, curLen));
        return out;
    }

    /** dma_unmap_sg: unmaps the whole IOVA range from the first segment to the end of the last. */
    public void unmapSg(List<DmaSegment> segments, DmaDirection dir) {
        if (segments.isEmpty()) return;
        Domain d = domain();
        if (d == null || d.iovad() == null) return;
        long start = segments.getFirst().dmaAddress() & -PAGE;
        DmaSegment last = segments.getLast();
        long end = align(last.dmaAddress() + last.length());
        d.dmaUnmap(start, end - start);
        unmapped++;
    }

    // ---- coherent ---------------------------------------------------------------------------------------

    /** dma_alloc_coherent: zeroed, physically contiguous pages mapped bidirectionally. */
    public CoherentBuffer allocCoherent(long size) {
        if (size <= 0) throw new IommuException("EINVAL", "dma_alloc_coherent of " + size + " bytes");
        long len = align(size);
        int order = 64 - Long.numberOfLeadingZeros((len >>> 12) - 1);
        PageAllocator pages = iommu.pages();
        long cpu = pages.allocPages(order);
        try {
            long dma = mapSingle(cpu, len, DmaDirection.BIDIRECTIONAL);
            return new CoherentBuffer(cpu, dma, len);
        } catch (IommuException e) {
            pages.freePages(cpu, order);
            throw e;
        }
    }

    public void freeCoherent(CoherentBuffer buf) {
        unmapSingle(buf.dmaAddress(), buf.size(), DmaDirection.BIDIRECTIONAL);
        int order = 64 - Long.numberOfLeadingZeros((buf.size() >>> 12) - 1);
        iommu.pages().freePages(buf.cpuAddress(), order);
    }

    public long mappings() { return mapped; }
    public long unmappings() { return unmapped; }
}

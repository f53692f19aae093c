package dev.vtd.vmm.vfio;

import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.iommu.IommuException;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.PageTable;
import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.AssignmentException;
import dev.vtd.vmm.VmmException;
import dev.vtd.vmm.host.Host;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A VFIO container with the type1 IOMMU backend (VFIO_TYPE1v2_IOMMU): one kernel UNMANAGED domain that every
 * device of every group in the container is attached to, and the DMA mappings the VMM makes with
 * VFIO_IOMMU_MAP_DMA (IOVA = guest physical address, backed by pinned host pages) and removes with
 * VFIO_IOMMU_UNMAP_DMA. The interrupt window 0xfee00000-0xfeefffff (IOMMU_RESV_MSI) is never mapped.
 */
public final class VfioContainer {
    public static final int READ = 1, WRITE = 2;

    /** One VFIO_IOMMU_MAP_DMA: IOVA range and the pinned host pages behind it. */
    public record Mapping(long iova, long hpa, long size, int flags) {}

    private final Host host;
    private final List<VfioGroup> groups = new ArrayList<>();
    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();
    private Domain domain;
    private long mappedBytes, unmappedBytes, pinnedPages;

    public VfioContainer(Host host) {
        this.host = host;
    }

    /** VFIO_GROUP_SET_CONTAINER + VFIO_SET_IOMMU: attaches every device of the group to the container's domain. */
    public void addGroup(VfioGroup g, String deviceName) {
        if (g.container() == this) return;
        if (g.container() != null) {
            throw new AssignmentException(null, "vfio " + deviceName + ": group " + g.id() + " used in multiple address spaces");
        }
        PciFunction blocker = g.blocker();
        if (blocker != null) {
            throw new AssignmentException("vfio: error, group " + g.id() + " is not viable, please ensure all devices"
                    + " within the iommu_group are bound to their vfio bus driver.",
                    "vfio " + deviceName + ": group " + g.id() + " is not viable");
        }
        IommuSubsystem k = host.iommu();
        List<PciDev> devs = new ArrayList<>();
        for (PciFunction f : g.members()) {
            PciDev d = host.kernelDevice(f);
            if (!k.rmrrsFor(d).isEmpty()) {
                host.log().warn(host.pci().driver(f) + " " + f.address() + ": DMAR: Device is ineligible for IOMMU"
                        + " domain attach due to platform RMRR requirement.  Contact your platform vendor.");
                throw new AssignmentException("vfio: failed to set iommu for container: Operation not permitted",
                        "vfio " + deviceName + ": failed to setup container for group " + g.id()
                        + ": Failed to set iommu for container: Operation not permitted");
            }
            devs.add(d);
        }
        try {
            if (domain == null) domain = k.allocDomain(Domain.Type.UNMANAGED, devs.getFirst());
            for (PciDev d : devs) k.attach(d, domain);
        } catch (IommuException e) {
            for (PciDev d : devs) if (k.domainOf(d) == domain) k.attachDefault(d);
            throw new AssignmentException(null, "vfio " + deviceName + ": failed to setup container for group "
                    + g.id() + ": " + e.getMessage());
        }
        groups.add(g);
        g.setContainer(this);
    }

    /** VFIO_GROUP_UNSET_CONTAINER: the group's devices go back to their default domains; the last one frees all. */
    public void removeGroup(VfioGroup g) {
        if (!groups.remove(g)) return;
        for (PciFunction f : g.members()) host.iommu().attachDefault(host.kernelDevice(f));
        g.setContainer(null);
        if (groups.isEmpty()) {
            for (Mapping m : List.copyOf(mappings.values())) unmapDma(m.iova(), m.size());
            domain.destroy();
            domain = null;
        }
    }

    public List<VfioGroup> groups() { return List.copyOf(groups); }
    public Domain domain() { return domain; }

    /** VFIO_IOMMU_MAP_DMA. Overlapping an existing mapping is EEXIST; the MSI window is EINVAL. */
    public void mapDma(long iova, long hpa, long size, int flags) {
        if (domain == null) throw new VmmException("vfio: VFIO_IOMMU_MAP_DMA: No such device (no IOMMU set)");
        if (size <= 0 || ((iova | hpa | size) & 0xFFF) != 0) {
            throw new VmmException(String.format("vfio_dma_map(%#x, %#x) = -22 (Invalid argument)", iova, size));
        }
        long last = iova + size - 1;
        if (Long.compareUnsigned(iova, IommuSubsystem.MSI_WINDOW_LAST) <= 0
                && Long.compareUnsigned(last, IommuSubsystem.MSI_WINDOW_BASE) >= 0) {
            throw new VmmException(String.format("vfio_dma_map(%#x, %#x) = -22 (Invalid argument)", iova, size));
        }
        Map.Entry<Long, Mapping> below = mappings.floorEntry(last);
        if (below != null && below.getValue().iova() + below.getValue().size() > iova) {
            throw new VmmException(String.format("vfio_dma_map(%#x, %#x) = -17 (File exists)", iova, size));
        }
        int prot = ((flags & READ) != 0 ? PageTable.PROT_READ : 0) | ((flags & WRITE) != 0 ? PageTable.PROT_WRITE : 0);
        try {
            domain.map(iova, hpa, size, prot);
        } catch (IommuException e) {
            throw new VmmException(String.format("vfio_dma_map(%#x, %#x) = -14 (Bad address): %s", iova, size,
                    e.getMessage()));
        }
        mappings.put(iova, new Mapping(iova, hpa, size, flags));
        mappedBytes += size;
        pinnedPages += size >>> 12;
    }

    /** VFIO_IOMMU_UNMAP_DMA of whole mappings inside [iova, iova + size); returns the bytes unmapped. */
    public long unmapDma(long iova, long size) {
        if (domain == null) return 0;
        long done = 0;
        for (Mapping m : List.copyOf(mappings.subMap(iova, true, iova + size - 1, true).values())) {
            if (m.iova() + m.size() > iova + size) continue;
            domain.unmap(m.iova(), m.size());
            mappings.remove(m.iova());
            done += m.size();
            pinnedPages -= m.size() >>> 12;
        }
        unmappedBytes += done;
        return done;
    }

    public List<Mapping> mappings() { return List.copyOf(mappings.values()); }
    public long pinnedPages() { return pinnedPages; }
    public long mappedBytes() { return mappedBytes; }
}

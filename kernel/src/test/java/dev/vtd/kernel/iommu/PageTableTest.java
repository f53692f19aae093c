package dev.vtd.kernel.iommu;

import dev.vtd.kernel.R630;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PageTableTest {
    static final int RW = PageTable.PROT_READ | PageTable.PROT_WRITE;
    static final long M2 = 2L << 20, G1 = 1L << 30;

    private static PageTable table(PhysicalMemory mem, PageAllocator pages, int superpageLevels) {
        return new PageTable(mem, pages, 4, superpageLevels);
    }

    @Test
    void alignedRangesUseTheLargestLeavesTheUnitSupports() {
        try (PhysicalMemory mem = PhysicalMemory.anonymous(64L << 20)) {
            PageAllocator pages = new PageAllocator(mem, 32L << 20, 16L << 20);
            PageTable pt = table(mem, pages, 2);
            pt.map(G1, 4L * G1, G1 + 2 * M2 + 4096, RW);
            assertEquals(1, pt.leaves(3));
            assertEquals(2, pt.leaves(2));
            assertEquals(1, pt.leaves(1));
            PageTable small = table(mem, pages, 0);
            small.map(0, 0, M2, RW);
            assertEquals(512, small.leaves(1));
            assertEquals(0, small.leaves(2));
        }
    }

    @Test
    void misalignedPhysicalAddressesFallBackToSmallerLeaves() {
        try (PhysicalMemory mem = PhysicalMemory.anonymous(64L << 20)) {
            PageTable pt = table(mem, new PageAllocator(mem, 32L << 20, 16L << 20), 2);
            pt.map(0, 4096, M2, RW);
            assertEquals(0, pt.leaves(2));
            assertEquals(512, pt.leaves(1));
        }
    }

    @Test
    void unmappingInsideASuperpageSplitsItAndKeepsTheRest() {
        try (PhysicalMemory mem = PhysicalMemory.anonymous(64L << 20)) {
            PageAllocator pages = new PageAllocator(mem, 32L << 20, 16L << 20);
            PageTable pt = table(mem, pages, 1);
            pt.map(M2, 8 * M2, M2, PageTable.PROT_READ);
            List<Long> free = new ArrayList<>();
            assertEquals(4096, pt.unmap(M2 + 0x5000, 4096, free));
            assertEquals(0, pt.leaves(2));
            assertEquals(511, pt.leaves(1));
            assertEquals(-1, pt.iovaToPhys(M2 + 0x5000));
            assertEquals(8 * M2 + 0x4123, pt.iovaToPhys(M2 + 0x4123));
            assertEquals(PageTable.PROT_READ, pt.protAt(M2 + 0x6000));
            assertEquals(M2 - 4096, pt.unmap(M2, M2, free));
            for (long p : free) pages.freePage(p);
            assertEquals(1, pt.tablePages(), "the emptied tables were freed");
            assertEquals(1, pages.pagesInUse());
        }
    }

    @Test
    void mappingOverAnExistingMappingIsRefusedAndChangesNothing() {
        try (PhysicalMemory mem = PhysicalMemory.anonymous(64L << 20)) {
            PageAllocator pages = new PageAllocator(mem, 32L << 20, 16L << 20);
            PageTable pt = table(mem, pages, 1);
            pt.map(0x10_0000L, 0, 4096, RW);
            int before = pages.pagesInUse();
            IommuException e = assertThrows(IommuException.class, () -> pt.map(0x0F_E000L, 0x100_0000L, 0x4000, RW));
            assertEquals("EEXIST", e.errno());
            assertEquals(-1, pt.iovaToPhys(0x0F_E000L));
            assertEquals(before, pages.pagesInUse());
        }
    }

    @Test
    void theUnitWalksTheDriversSuperpagesAsOneTwoMegabyteTranslation() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            PciDev dev = PciDev.of(1, 0, 0);
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, dev);
            s.attach(dev, d);
            d.map(0x4000_0000L, 0x0400_0000L, M2, RW);
            RemappingUnit.Translation t = m.dmar1.translate(dev.requesterId(), 0x4010_0000L, RemappingUnit.Access.READ);
            assertTrue(t.ok());
            assertEquals(M2, t.pageSize());
            assertEquals(0x0410_0000L, t.hpa());
            assertEquals(M2 - 4096, d.unmap(0x4000_0000L, M2 - 4096));
            assertTrue(m.dmar1.translate(dev.requesterId(), 0x401F_F000L, RemappingUnit.Access.READ).ok());
            assertTrue(!m.dmar1.translate(dev.requesterId(), 0x4010_0000L, RemappingUnit.Access.READ).ok(),
                    "the split superpage's IOTLB entry was invalidated");
        }
    }

    @Test
    void spOffDisablesSuperpages() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on,sp_off");
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, PciDev.of(1, 0, 0));
            d.map(0, 0, M2, RW);
            assertEquals(0, d.pageTable().leaves(2));
        }
    }
}

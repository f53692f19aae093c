package dev.vtd.kernel.dma;

import dev.vtd.kernel.R630;
import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.iommu.IommuException;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.PageTable;
import dev.vtd.kernel.iommu.PciDev;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DmaApiTest {
    static final PciDev DEV = PciDev.of(0x02, 0x00, 0);
    static final long DATA = 0x0800_0000L;   // data buffers live at 128 MiB and up

    private record Live(String kind, long pa, long size, long dma, DmaDirection dir, List<DmaSegment> sg,
                        CoherentBuffer coherent) {}

    @Test
    void directionsGiveTheDeviceOnlyTheAccessTheyName() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, DEV);
            Domain d = s.domainOf(DEV);
            long to = ops.mapSingle(DATA, 100, DmaDirection.TO_DEVICE);
            long from = ops.mapSingle(DATA + 0x1000, 100, DmaDirection.FROM_DEVICE);
            long bi = ops.mapSingle(DATA + 0x2000, 100, DmaDirection.BIDIRECTIONAL);
            assertEquals(PageTable.PROT_READ, d.pageTable().protAt(to));
            assertEquals(PageTable.PROT_WRITE, d.pageTable().protAt(from));
            assertEquals(PageTable.PROT_READ | PageTable.PROT_WRITE, d.pageTable().protAt(bi));
            assertFalse(m.dmar1.writeFully(DEV.requesterId(), to, new byte[1]));
            assertFalse(m.dmar1.readFully(DEV.requesterId(), from, new byte[1]));
        }
    }

    @Test
    void mapSingleKeepsTheOffsetWithinThePageAndStaysBelowTheDmaMask() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, DEV);
            long dma = ops.mapSingle(DATA + 0x123, 0x2000, DmaDirection.BIDIRECTIONAL);
            assertEquals(0x123, dma & 0xFFF);
            assertTrue(dma + 0x2000 <= 0xFFFF_FFFFL);
            assertEquals(DATA + 0x123, s.domainOf(DEV).iovaToPhys(dma));
            assertEquals(DATA + 0x2123, s.domainOf(DEV).iovaToPhys(dma + 0x2000), "the third page is mapped too");
        }
    }

    @Test
    void scatterGatherUsesOneIovaRangeAndMergesPageAlignedElements() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, DEV);
            List<SgEntry> sg = List.of(new SgEntry(DATA + 0x5000, 0x1000), new SgEntry(DATA + 0x1000, 0x2000),
                    new SgEntry(DATA + 0x9000, 0x800), new SgEntry(DATA + 0xB000, 0x1000));
            List<DmaSegment> segs = ops.mapSg(sg, DmaDirection.TO_DEVICE);
            // 4 elements: the first three join (page aligned, contiguous in IOVA); the 3rd ends mid-page.
            assertEquals(2, segs.size());
            assertEquals(0x3800, segs.get(0).length());
            assertEquals(segs.get(0).dmaAddress() + 0x4000, segs.get(1).dmaAddress());
            byte[] payload = new byte[0x3800];
            new Random(1).nextBytes(payload);
            m.mem.writeBytes(DATA + 0x5000, java.util.Arrays.copyOfRange(payload, 0, 0x1000));
            m.mem.writeBytes(DATA + 0x1000, java.util.Arrays.copyOfRange(payload, 0x1000, 0x3000));
            m.mem.writeBytes(DATA + 0x9000, java.util.Arrays.copyOfRange(payload, 0x3000, 0x3800));
            byte[] seen = new byte[0x3800];
            assertTrue(m.dmar1.readFully(DEV.requesterId(), segs.get(0).dmaAddress(), seen));
            assertArrayEquals(payload, seen);
            ops.unmapSg(segs, DmaDirection.TO_DEVICE);
            s.domainOf(DEV).flushQueue().flushNow();
            assertEquals(0, s.domainOf(DEV).iovad().liveRanges());
        }
    }

    @Test
    void coherentBuffersAreZeroedContiguousAndReachableBothWays() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on iommu.strict=1");
            DmaOps ops = DmaOps.of(s, DEV);
            int before = m.pages.pagesInUse();
            CoherentBuffer b = ops.allocCoherent(3 * 4096);
            assertEquals(4, m.pages.pagesInUse() - before - s.domainOf(DEV).pageTable().tablePages() + 1);
            assertTrue(m.dmar1.writeInt(DEV.requesterId(), b.dmaAddress() + 0x2000, 0x1234_5678));
            assertEquals(0x1234_5678, m.mem.read32(b.cpuAddress() + 0x2000));
            ops.freeCoherent(b);
            assertEquals(before, m.pages.pagesInUse());
        }
    }

    @Test
    void blockedAndUnmanagedDomainsHaveNoDmaApi() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, DEV);
            s.attach(DEV, s.allocDomain(Domain.Type.UNMANAGED, DEV));
            assertEquals("EBUSY", assertThrows(IommuException.class,
                    () -> ops.mapSingle(DATA, 4096, DmaDirection.TO_DEVICE)).errno());
            s.attach(DEV, s.allocDomain(Domain.Type.BLOCKED, DEV));
            assertEquals("EBUSY", assertThrows(IommuException.class,
                    () -> ops.mapSingle(DATA, 4096, DmaDirection.TO_DEVICE)).errno());
            assertFalse(m.dmar1.readFully(DEV.requesterId(), 0x1000, new byte[4]));
            m.irq.dispatchPending();
            assertTrue(m.log.grepMessages("Request device").getLast().endsWith("Present bit in context entry is clear"));
        }
    }

    @Test
    void withoutRemappingTheDmaAddressIsThePhysicalAddressWithinTheMask() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=off");
            DmaOps ops = DmaOps.of(s, DEV);
            assertEquals(DATA + 5, ops.mapSingle(DATA + 5, 10, DmaDirection.TO_DEVICE));
            assertThrows(IommuException.class, () -> ops.mapSingle(1L << 33, 10, DmaDirection.TO_DEVICE));
        }
    }

    @Test
    void devicesWithWideMasksStillGet32BitAddressesFirst() {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot("intel_iommu=on");
            DmaOps ops = DmaOps.of(s, DEV);
            ops.setDmaMask(-1L);
            long dma = ops.mapSingle(DATA, 4096, DmaDirection.TO_DEVICE);
            assertTrue(dma < (1L << 32));
        }
    }

    @Test
    void randomMapUnmapSequencesLeakNothingAndUnmappedAddressesFaultInStrictMode() {
        for (long seed = 1; seed <= 3; seed++) runRandom(seed, "intel_iommu=on iommu.strict=1");
    }

    @Test
    void randomMapUnmapSequencesLeakNothingInLazyModeOnceFlushed() {
        for (long seed = 11; seed <= 12; seed++) runRandom(seed, "intel_iommu=on");
    }

    private void runRandom(long seed, String cmdline) {
        try (R630 m = new R630()) {
            IommuSubsystem s = m.boot(cmdline);
            DmaOps ops = DmaOps.of(s, DEV);
            Domain d = s.domainOf(DEV);
            int pagesBefore = m.pages.pagesInUse();
            Random rnd = new Random(seed);
            List<Live> live = new ArrayList<>();
            for (int step = 0; step < 400; step++) {
                int op = rnd.nextInt(10);
                if (op < 4 || live.isEmpty()) {
                    long pa = DATA + rnd.nextInt(1 << 14) * 4096L + (rnd.nextBoolean() ? rnd.nextInt(4096) : 0);
                    long size = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 300_000 : 9000);
                    DmaDirection dir = DmaDirection.values()[rnd.nextInt(3)];
                    live.add(new Live("single", pa, size, ops.mapSingle(pa, size, dir), dir, null, null));
                } else if (op < 5) {
                    List<SgEntry> sg = new ArrayList<>();
                    for (int i = 0, n = 1 + rnd.nextInt(6); i < n; i++) {
                        sg.add(new SgEntry(DATA + rnd.nextInt(1 << 14) * 4096L, 4096L * (1 + rnd.nextInt(3))));
                    }
                    DmaDirection dir = DmaDirection.values()[rnd.nextInt(3)];
                    live.add(new Live("sg", 0, 0, 0, dir, ops.mapSg(sg, dir), null));
                } else if (op < 6) {
                    CoherentBuffer b = ops.allocCoherent(1 + rnd.nextInt(20_000));
                    live.add(new Live("coherent", b.cpuAddress(), b.size(), b.dmaAddress(), DmaDirection.BIDIRECTIONAL,
                            null, b));
                } else {
                    Live l = live.remove(rnd.nextInt(live.size()));
                    long probe = l.sg != null ? l.sg.getFirst().dmaAddress() : l.dma;
                    // While mapped, the translation reaches the buffer.
                    if (l.sg == null) assertEquals(l.pa, d.iovaToPhys(probe));
                    // ... and the device may use it as its direction allows (which also fills the IOTLB).
                    if ((l.dir.prot() & PageTable.PROT_READ) != 0) {
                        assertTrue(m.dmar1.readFully(DEV.requesterId(), probe, new byte[1]), "read while mapped");
                    }
                    if ((l.dir.prot() & PageTable.PROT_WRITE) != 0) {
                        assertTrue(m.dmar1.writeFully(DEV.requesterId(), probe, new byte[1]), "write while mapped");
                    }
                    switch (l.kind) {
                        case "single" -> ops.unmapSingle(l.dma, l.size, l.dir);
                        case "sg" -> ops.unmapSg(l.sg, l.dir);
                        default -> ops.freeCoherent(l.coherent);
                    }
                    if (d.strict()) {
                        assertFalse(m.dmar1.readFully(DEV.requesterId(), probe, new byte[1]), "read after unmap");
                        assertFalse(m.dmar1.writeFully(DEV.requesterId(), probe, new byte[1]), "write after unmap");
                    }
                }
            }
            for (Live l : live) {
                switch (l.kind) {
                    case "single" -> ops.unmapSingle(l.dma, l.size, l.dir);
                    case "sg" -> ops.unmapSg(l.sg, l.dir);
                    default -> ops.freeCoherent(l.coherent);
                }
            }
            m.clock.step(20_000_000L);
            assertEquals(0, d.iovad().liveRanges(), "IOVA ranges leaked");
            assertEquals(1, d.pageTable().tablePages(), "only the root table page is left");
            assertEquals(pagesBefore, m.pages.pagesInUse(), "kernel pages leaked");
            for (int level = 1; level <= 3; level++) assertEquals(0, d.pageTable().leaves(level));
            m.irq.dispatchPending();
        }
    }
}

package dev.vtd.platform.pci;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.iommu.inval.DeviceTlb;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A device-TLB facing malformed completions and invalidations anywhere in the 64-bit space. */
class AtsEndpointRobustnessTest {
    /** A translation agent answering every request with one fixed completion and counting translated requests. */
    static final class FixedAgent implements AtsPort {
        final Completion answer;
        int translated;

        FixedAgent(Completion answer) { this.answer = answer; }

        public Completion translate(int rid, int pasid, long a, boolean w, boolean p, boolean x) { return answer; }
        public long readTranslated(int rid, long a, MemorySegment d, long o, long n) { translated++; return n; }
        public long writeTranslated(int rid, long a, MemorySegment s, long o, long n) { translated++; return n; }
        public void pageRequest(int rid, int pasid, long a, boolean r, boolean w, boolean x, boolean p, boolean l, int g) {}
    }

    @Test
    void aCompletionWhoseRangeIsNotAPowerOfTwoOfAtLeast4KiBFailsTheRequestAndIsNotCached() {
        for (long size : new long[] {0, 1, 2048, 12288, -4096}) {
            FixedAgent agent = new FixedAgent(new AtsPort.Completion(true, 0x10_0000, size, true, true));
            AtsEndpoint ep = new AtsEndpoint(0x20, agent, 4);
            assertEquals(0, ep.dma(AtsPort.NO_PASID, false, 0x5000, MemorySegment.ofArray(new byte[64]), 0, 64, true),
                    "size " + size);
            assertTrue(ep.entries().isEmpty());
            assertEquals(0, agent.translated);
        }
    }

    @Test
    void invalidationsAnywhereInTheAddressSpaceWithAnyStuKeepOnlyTranslationsOutsideTheirUnits() {
        Random rnd = new Random(0xA75L);
        FixedAgent agent = new FixedAgent(new AtsPort.Completion(true, 0x10_0000, 4096, true, true));
        AtsEndpoint ep = new AtsEndpoint(0x20, agent, 8);
        for (int i = 0; i < 500; i++) {
            long page = rnd.nextLong() & ~0xFFFL;
            assertEquals(8, ep.dma(AtsPort.NO_PASID, false, page, MemorySegment.ofArray(new byte[8]), 0, 8, false));
            int stu = rnd.nextInt(32);
            ep.setSmallestTranslationUnit(stu);
            long address = rnd.nextLong() & ~0xFFFL;
            long size = 1L << (12 + rnd.nextInt(52));
            assertEquals(DeviceTlb.Completion.DONE,
                    ep.invalidate(new DeviceTlb.DeviceTlbInvalidationRequest(0x20, 0, address, size)));
            long unitMask = (1L << (12 + stu)) - 1;
            long first = address & ~unitMask;
            long end = address + size - 1;
            long last = (Long.compareUnsigned(end, address) < 0 ? -1L : end) | unitMask;
            boolean covered = Long.compareUnsigned(page, first) >= 0 && Long.compareUnsigned(page, last) <= 0;
            assertEquals(!covered, ep.entries().stream().anyMatch(e -> e.inputBase() == page),
                    String.format("page %x, invalidation %x+%x, STU %d", page, address, size, stu));
        }
    }
}

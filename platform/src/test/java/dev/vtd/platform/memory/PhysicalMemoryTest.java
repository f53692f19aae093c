package dev.vtd.platform.memory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class PhysicalMemoryTest {
    @Test
    void accessorsAreLittleEndian() {
        try (PhysicalMemory m = PhysicalMemory.anonymous(1 << 20)) {
            m.write64(0x100, 0x0807060504030201L);
            assertEquals(0x01, m.read8(0x100));
            assertEquals(0x0201, m.read16(0x100));
            assertEquals(0x04030201, m.read32(0x100));
            long[] q = new long[2];
            m.write64(0x108, -1L);
            m.read128(0x100, q);
            assertEquals(0x0807060504030201L, q[0]);
            assertEquals(-1L, q[1]);
        }
    }

    @Test
    void readsWithNoRamBehindThemReturnAllOnesAndAreCounted() {
        try (PhysicalMemory m = PhysicalMemory.anonymous(1 << 20)) {
            assertEquals(-1L, m.read64(1 << 20));
            assertEquals(-1, m.read32(PhysicalMemory.MAX_ADDRESS - 4));
            assertEquals(-1L, m.read64(-8));
            assertEquals(3, m.unsupportedReads());
        }
    }

    @Test
    void writesWithNoRamBehindThemAreDroppedAndCounted() {
        try (PhysicalMemory m = PhysicalMemory.anonymous(1 << 20)) {
            m.write32(1 << 20, 5);
            m.write64(Long.MAX_VALUE - 3, 5);
            assertEquals(2, m.unsupportedWrites());
            assertEquals(-1, m.read32(1 << 20));
        }
    }

    @Test
    void accessStraddlingTheEndOfRamKeepsTheRamPart() {
        try (PhysicalMemory m = PhysicalMemory.anonymous(1 << 20)) {
            m.write64((1 << 20) - 4, 0x1122334455667788L);
            assertEquals(0x55667788, m.read32((1 << 20) - 4));
            assertEquals(0xFFFFFFFF55667788L, m.read64((1 << 20) - 4));
        }
    }

    @Test
    void bulkCopyAcrossAHoleFillsOnesAndDropsWrites() {
        try (PhysicalMemory m = PhysicalMemory.builder().ram(0, 0x1000).ram(0x3000, 0x1000).build()) {
            byte[] src = new byte[0x4000];
            java.util.Arrays.fill(src, (byte) 7);
            m.copyFrom(MemorySegment.ofArray(src), 0, 0, src.length);
            byte[] dst = new byte[0x4000];
            m.copyTo(0, MemorySegment.ofArray(dst), 0, dst.length);
            assertEquals(7, dst[0xFFF]);
            assertEquals((byte) 0xFF, dst[0x1000]);
            assertEquals((byte) 0xFF, dst[0x2FFF]);
            assertEquals(7, dst[0x3000]);
            assertTrue(m.isRam(0x3000, 0x1000));
            assertFalse(m.isRam(0xFFF, 2));
        }
    }

    @Test
    void largeSparseRamCostsNothingUntilTouched() {
        // 64 GiB of guest RAM at 4 GiB: only touched pages are committed (MAP_NORESERVE).
        try (PhysicalMemory m = PhysicalMemory.builder().ram(4L << 30, 64L << 30).build()) {
            m.write64((4L << 30) + (63L << 30), 42);
            assertEquals(42, m.read64((4L << 30) + (63L << 30)));
            assertEquals(64L << 30, m.size());
        }
    }

    @Test
    void overlappingOrMisalignedRangesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.builder().ram(0, 0x2000).ram(0x1000, 0x1000));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.builder().ram(0x10, 0x1000));
        assertThrows(IllegalArgumentException.class, () -> PhysicalMemory.builder().ram(PhysicalMemory.MAX_ADDRESS, 0x1000));
    }

    @Test
    void fileBackedRamIsSharedThroughTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ram.bin");
        try (PhysicalMemory a = PhysicalMemory.builder().fileBacked(0, 1 << 20, file).build();
             PhysicalMemory b = PhysicalMemory.builder().fileBacked(0, 1 << 20, file).build()) {
            a.write64(0x800, 0xCAFEL);
            assertEquals(0xCAFEL, b.read64(0x800), "a second mapping of the file sees the write");
        }
        assertEquals(1 << 20, Files.size(file));
    }

    @Test
    void atomicCompareAndSetOnAlignedRam() {
        try (PhysicalMemory m = PhysicalMemory.anonymous(1 << 20)) {
            m.write64(0x40, 1);
            assertTrue(m.compareAndSet64(0x40, 1, 2));
            assertFalse(m.compareAndSet64(0x40, 1, 3));
            assertEquals(2, m.getAndOr64(0x40, 4));
            assertEquals(6, m.read64(0x40));
            assertFalse(m.compareAndSet64(0x41, 6, 7), "misaligned");
            assertFalse(m.compareAndSet64(1 << 20, 0, 1), "not RAM");
        }
    }
}

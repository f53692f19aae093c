package dev.vtd.platform.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Host physical memory: a set of RAM ranges in a 52-bit physical address space, each backed by a
 * sparse mapping (an anonymous MAP_NORESERVE mapping, or a sparse file that another process can map
 * too). Untouched 4 KiB pages cost nothing.
 *
 * <p>An access to an address with no RAM behind it behaves like a PCIe Unsupported Request /
 * master abort: reads return all ones, writes are dropped, and both are counted. No accessor throws
 * for any address or length.
 *
 * <p>All multi-byte accessors are little-endian. Accesses are not atomic unless named so
 * ({@link #compareAndSet64}, {@link #getAndOr64}); concurrent DMA sees memory as racy as real RAM.
 */
public final class PhysicalMemory implements AutoCloseable {
    /** Physical addresses are at most 52 bits wide (VT-d HAW/MGAW never exceed it). */
    public static final int MAX_ADDRESS_BITS = 52;
    public static final long MAX_ADDRESS = 1L << MAX_ADDRESS_BITS;
    public static final long PAGE_SIZE = 4096;

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ATOMIC64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    /** One contiguous RAM range [base, base + size). */
    public record Region(long base, long size, MemorySegment segment) {
        public long end() {
            return base + size;
        }

        boolean contains(long pa, long len) {
            return pa >= base && len >= 0 && pa - base <= size - len;
        }
    }

    private final Region[] regions;
    private final Arena arena;
    private final LongAdder unsupportedReads = new LongAdder();
    private final LongAdder unsupportedWrites = new LongAdder();

    private PhysicalMemory(List<Region> regions, Arena arena) {
        this.regions = regions.stream().sorted(Comparator.comparingLong(Region::base)).toArray(Region[]::new);
        this.arena = arena;
    }

    /** RAM from 0 to {@code size}, anonymous and sparse. */
    public static PhysicalMemory anonymous(long size) {
        return builder().ram(0, size).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a memory map from RAM ranges, each anonymous or backed by its own sparse file. */
    public static final class Builder {
        private record Spec(long base, long size, Path file) {}

        private final List<Spec> specs = new ArrayList<>();

        public Builder ram(long base, long size) {
            return add(base, size, null);
        }

        /** A RAM range backed by a (sparse) file, so another process can map the same RAM. */
        public Builder fileBacked(long base, long size, Path file) {
            return add(base, size, file);
        }

        private Builder add(long base, long size, Path file) {
            if (base < 0 || size <= 0 || base % PAGE_SIZE != 0 || size % PAGE_SIZE != 0 || size > MAX_ADDRESS - base) {
                throw new IllegalArgumentException(String.format(
                        "RAM range base 0x%x size 0x%x: must be 4 KiB aligned, non-empty and below 2^52", base, size));
            }
            for (Spec s : specs) {
                if (base < s.base + s.size && s.base < base + size) {
                    throw new IllegalArgumentException(String.format(
                            "RAM range 0x%x-0x%x overlaps 0x%x-0x%x", base, base + size - 1, s.base, s.base + s.size - 1));
                }
            }
            specs.add(new Spec(base, size, file));
            return this;
        }

        public PhysicalMemory build() {
            Arena arena = Arena.ofShared();
            List<Region> out = new ArrayList<>();
            try {
                for (Spec s : specs) {
                    MemorySegment seg = s.file == null ? SparseMapping.anonymous(s.size, arena) : mapFile(s, arena);
                    out.add(new Region(s.base, s.size, seg));
                }
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            return new PhysicalMemory(out, arena);
        }

        private static MemorySegment mapFile(Spec s, Arena arena) {
            try (FileChannel ch = FileChannel.open(s.file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                if (ch.size() < s.size) {
                    // Extending by writing the last byte leaves a hole: the file stays sparse.
                    ch.write(java.nio.ByteBuffer.wrap(new byte[1]), s.size - 1);
                }
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, s.size, arena);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot map RAM file " + s.file + ": " + e.getMessage(), e);
            }
        }
    }

    public List<Region> regions() {
        return List.of(regions);
    }

    /** Total bytes of RAM. */
    public long size() {
        long n = 0;
        for (Region r : regions) n += r.size;
        return n;
    }

    /** The region holding [pa, pa + len) entirely, or null. */
    public Region regionOf(long pa, long len) {
        Region[] rs = regions;
        for (int i = 0; i < rs.length; i++) {
            Region r = rs[i];
            if (r.contains(pa, len)) return r;
        }
        return null;
    }

    /** True if every byte of [pa, pa + len) is RAM. */
    public boolean isRam(long pa, long len) {
        if (len == 0) return true;
        long cur = pa;
        long left = len;
        while (left > 0) {
            Region r = regionContaining(cur);
            if (r == null) return false;
            long n = Math.min(left, r.end() - cur);
            cur += n;
            left -= n;
        }
        return true;
    }

    private Region regionContaining(long pa) {
        Region[] rs = regions;
        for (int i = 0; i < rs.length; i++) {
            Region r = rs[i];
            if (pa >= r.base && pa - r.base < r.size) return r;
        }
        return null;
    }

    // ---- scalar accessors -------------------------------------------------------------------

    public byte read8(long pa) {
        Region r = regionOf(pa, 1);
        if (r == null) { unsupportedReads.increment(); return (byte) 0xFF; }
        return r.segment.get(ValueLayout.JAVA_BYTE, pa - r.base);
    }

    public short read16(long pa) {
        Region r = regionOf(pa, 2);
        if (r == null) return (short) readSlow(pa, 2);
        return r.segment.get(LE16, pa - r.base);
    }

    public int read32(long pa) {
        Region r = regionOf(pa, 4);
        if (r == null) return (int) readSlow(pa, 4);
        return r.segment.get(LE32, pa - r.base);
    }

    public long read64(long pa) {
        Region r = regionOf(pa, 8);
        if (r == null) return readSlow(pa, 8);
        return r.segment.get(LE64, pa - r.base);
    }

    /** Reads a 128-bit entry as {lo, hi} into {@code out}. */
    public void read128(long pa, long[] out) {
        out[0] = read64(pa);
        out[1] = read64(pa + 8);
    }

    /** Reads {@code size} (1, 2, 4 or 8) bytes, zero-extended. */
    public long read(long pa, int size) {
        return switch (size) {
            case 1 -> read8(pa) & 0xFFL;
            case 2 -> read16(pa) & 0xFFFFL;
            case 4 -> read32(pa) & 0xFFFF_FFFFL;
            case 8 -> read64(pa);
            default -> throw new IllegalArgumentException("access size " + size);
        };
    }

    public void write(long pa, int size, long value) {
        switch (size) {
            case 1 -> write8(pa, (byte) value);
            case 2 -> write16(pa, (short) value);
            case 4 -> write32(pa, (int) value);
            case 8 -> write64(pa, value);
            default -> throw new IllegalArgumentException("access size " + size);
        }
    }

    private long readSlow(long pa, int size) {
        // Straddles a region end or lies outside RAM: byte-wise, unbacked bytes read as 0xFF;
        // the access counts once as unsupported.
        long v = 0;
        boolean missed = false;
        for (int i = size - 1; i >= 0; i--) {
            Region r = regionOf(pa + i, 1);
            int b = r == null ? 0xFF : r.segment.get(ValueLayout.JAVA_BYTE, pa + i - r.base) & 0xFF;
            missed |= r == null;
            v = (v << 8) | b;
        }
        if (missed) unsupportedReads.increment();
        return v;
    }

    public void write8(long pa, byte v) {
        Region r = regionOf(pa, 1);
        if (r == null) { unsupportedWrites.increment(); return; }
        r.segment.set(ValueLayout.JAVA_BYTE, pa - r.base, v);
    }

    public void write16(long pa, short v) {
        Region r = regionOf(pa, 2);
        if (r == null) { writeSlow(pa, 2, v); return; }
        r.segment.set(LE16, pa - r.base, v);
    }

    public void write32(long pa, int v) {
        Region r = regionOf(pa, 4);
        if (r == null) { writeSlow(pa, 4, v); return; }
        r.segment.set(LE32, pa - r.base, v);
    }

    public void write64(long pa, long v) {
        Region r = regionOf(pa, 8);
        if (r == null) { writeSlow(pa, 8, v); return; }
        r.segment.set(LE64, pa - r.base, v);
    }

    private void writeSlow(long pa, int size, long v) {
        boolean missed = false;
        for (int i = 0; i < size; i++) {
            Region r = regionOf(pa + i, 1);
            if (r == null) missed = true;
            else r.segment.set(ValueLayout.JAVA_BYTE, pa + i - r.base, (byte) (v >>> (8 * i)));
        }
        if (missed) unsupportedWrites.increment();
    }

    /**
     * Atomic 64-bit compare-and-set on naturally aligned RAM (used for A/D-bit and
     * posted-interrupt-descriptor updates). Returns false for non-RAM or misaligned addresses.
     */
    public boolean compareAndSet64(long pa, long expect, long update) {
        Region r = (pa & 7) == 0 ? regionOf(pa, 8) : null;
        if (r == null) { unsupportedWrites.increment(); return false; }
        return ATOMIC64.compareAndSet(r.segment, pa - r.base, expect, update);
    }

    /** Atomic 64-bit OR, returning the previous value (all ones if not RAM or misaligned). */
    public long getAndOr64(long pa, long bits) {
        Region r = (pa & 7) == 0 ? regionOf(pa, 8) : null;
        if (r == null) { unsupportedWrites.increment(); return -1L; }
        return (long) ATOMIC64.getAndBitwiseOr(r.segment, pa - r.base, bits);
    }

    // ---- bulk accessors ---------------------------------------------------------------------

    /** Copies [pa, pa + len) into dst; bytes with no RAM behind them read as 0xFF (counted once per access). */
    public void copyTo(long pa, MemorySegment dst, long dstOffset, long len) {
        Region r = regionOf(pa, len);
        if (r != null) {
            MemorySegment.copy(r.segment, pa - r.base, dst, dstOffset, len);
            return;
        }
        boolean missed = false;
        long cur = pa, off = dstOffset, left = len;
        while (left > 0) {
            Region c = cur >= 0 && cur < MAX_ADDRESS ? regionContaining(cur) : null;
            long n;
            if (c != null) {
                n = Math.min(left, c.end() - cur);
                MemorySegment.copy(c.segment, cur - c.base, dst, off, n);
            } else {
                n = Math.min(left, gapEnd(cur) - cur);
                dst.asSlice(off, n).fill((byte) 0xFF);
                missed = true;
            }
            cur += n; off += n; left -= n;
        }
        if (missed) unsupportedReads.increment();
    }

    /** Copies src into [pa, pa + len); bytes with no RAM behind them are dropped (counted once per access). */
    public void copyFrom(MemorySegment src, long srcOffset, long pa, long len) {
        Region r = regionOf(pa, len);
        if (r != null) {
            MemorySegment.copy(src, srcOffset, r.segment, pa - r.base, len);
            return;
        }
        boolean missed = false;
        long cur = pa, off = srcOffset, left = len;
        while (left > 0) {
            Region c = cur >= 0 && cur < MAX_ADDRESS ? regionContaining(cur) : null;
            long n;
            if (c != null) {
                n = Math.min(left, c.end() - cur);
                MemorySegment.copy(src, off, c.segment, cur - c.base, n);
            } else {
                n = Math.min(left, gapEnd(cur) - cur);
                missed = true;
            }
            cur += n; off += n; left -= n;
        }
        if (missed) unsupportedWrites.increment();
    }

    public byte[] readBytes(long pa, int len) {
        byte[] b = new byte[len];
        copyTo(pa, MemorySegment.ofArray(b), 0, len);
        return b;
    }

    public void writeBytes(long pa, byte[] bytes) {
        copyFrom(MemorySegment.ofArray(bytes), 0, pa, bytes.length);
    }

    /** Fills [pa, pa + len) with {@code value}; non-RAM bytes are dropped. */
    public void fill(long pa, long len, byte value) {
        long cur = pa, left = len;
        boolean missed = false;
        while (left > 0) {
            Region c = cur >= 0 && cur < MAX_ADDRESS ? regionContaining(cur) : null;
            long n;
            if (c != null) {
                n = Math.min(left, c.end() - cur);
                c.segment.asSlice(cur - c.base, n).fill(value);
            } else {
                n = Math.min(left, gapEnd(cur) - cur);
                missed = true;
            }
            cur += n; left -= n;
        }
        if (missed) unsupportedWrites.increment();
    }

    /** First address at or after pa where RAM starts (or a far bound), for a pa that is not RAM. */
    private long gapEnd(long pa) {
        long next = Long.MAX_VALUE;
        for (Region r : regions) if (r.base > pa && r.base < next) next = r.base;
        return next;
    }

    /** Reads that hit no RAM (each returned all ones). */
    public long unsupportedReads() {
        return unsupportedReads.sum();
    }

    /** Writes that hit no RAM (each was dropped). */
    public long unsupportedWrites() {
        return unsupportedWrites.sum();
    }

    @Override
    public void close() {
        arena.close();
    }
}

package dev.vtd.platform.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Anonymous MAP_NORESERVE mappings through the FFM API: the kernel commits a page on first touch,
 * so a 64 GiB guest RAM that touches a few pages costs a few pages. (Arena.allocate zero-fills
 * eagerly and is not sparse.) Falls back to Arena.allocate where mmap is unavailable.
 */
final class SparseMapping {
    private static final int PROT_READ = 0x1, PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null, munmap = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        } catch (Throwable t) {
            mmap = null;
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private SparseMapping() {}

    static boolean available() {
        return MMAP != null;
    }

    static MemorySegment anonymous(long size, Arena arena) {
        if (MMAP == null) return arena.allocate(size, 4096);
        try {
            MemorySegment addr = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            if (addr.address() == -1L || addr.address() == 0L) {
                throw new OutOfMemoryError("mmap of " + size + " bytes of guest RAM failed");
            }
            final long base = addr.address();
            return addr.reinterpret(size, arena, seg -> unmap(base, size));
        } catch (OutOfMemoryError | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed", t);
        }
    }

    private static void unmap(long base, long size) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(base), size);
        } catch (Throwable ignored) {
            // Nothing to do: the process keeps the address range until exit.
        }
    }
}

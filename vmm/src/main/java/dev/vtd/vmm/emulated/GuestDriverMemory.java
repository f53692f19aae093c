package dev.vtd.vmm.emulated;

import dev.vtd.vmm.GuestMemory;
import dev.vtd.vmm.virtio.DriverMemory;

/** A guest's RAM as an emulated device sees it: guest-physical addresses, nothing outside its slots. */
public final class GuestDriverMemory implements DriverMemory {
    private final GuestMemory mem;

    public GuestDriverMemory(GuestMemory mem) {
        this.mem = mem;
    }

    @Override
    public boolean read(long address, byte[] dst, int offset, int length) {
        if (!contains(address, length)) return false;
        System.arraycopy(mem.read(address, length), 0, dst, offset, length);
        return true;
    }

    @Override
    public boolean write(long address, byte[] src, int offset, int length) {
        if (!contains(address, length)) return false;
        byte[] b = offset == 0 && length == src.length ? src : java.util.Arrays.copyOfRange(src, offset, offset + length);
        mem.write(address, b);
        return true;
    }

    @Override
    public boolean contains(long address, long length) {
        return length >= 0 && mem.gpaToHpa(address, length) >= 0;
    }
}

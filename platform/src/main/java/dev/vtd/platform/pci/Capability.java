package dev.vtd.platform.pci;

/**
 * A capability structure in a function's configuration space: a conventional capability (in the
 * linked list from the Capabilities Pointer, PCI Local Bus spec 6.7) or an extended capability
 * (the list starting at 0x100, PCIe base spec 7.6). Subclasses lay out their registers and
 * attributes in {@link #initRegisters} and react to guest writes in {@link #written}.
 */
public abstract class Capability {
    protected PciFunction function;
    protected ConfigSpace cfg;
    protected int offset = -1;

    /** Capability ID (8 bits for conventional, 16 bits for extended capabilities). */
    public abstract int id();

    /** Bytes occupied, including the header. */
    public abstract int length();

    /** True for a PCIe extended capability. */
    public boolean extended() {
        return false;
    }

    /** Extended capability version (bits 19:16 of the header). */
    public int version() {
        return 1;
    }

    public final int offset() {
        return offset;
    }

    public final PciFunction function() {
        return function;
    }

    final void bind(PciFunction f, int at) {
        function = f;
        cfg = f.config();
        offset = at;
        initRegisters();
    }

    /** Lays out registers (values and attributes) at {@link #offset}; the header is set by the function. */
    protected abstract void initRegisters();

    /** Called after a guest write touching [offset, offset + length). */
    protected void written(int regOffset, int size) {}

    /** Called once when the function is attached to a bus (its address is known). */
    protected void attached() {}

    /** Called on a function reset after the registers were restored to their defaults. */
    protected void reset() {}

    final boolean covers(int at, int size) {
        return at < offset + length() && offset < at + size;
    }
}

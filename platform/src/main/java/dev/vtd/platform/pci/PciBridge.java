package dev.vtd.platform.pci;

import static dev.vtd.platform.pci.PciRegs.*;

/**
 * A function with a type 1 header (PCI-to-PCI Bridge spec 1.2 ch. 3): PCIe root ports, switch
 * upstream and downstream ports, PCIe-to-PCI(-X) bridges and conventional PCI-to-PCI bridges. It
 * owns its secondary {@link PciBus}, whose number is the Secondary Bus Number register; config
 * requests for buses in [secondary, subordinate] are forwarded below it.
 */
public class PciBridge extends PciFunction {
    /** What kind of bridge this is; decides the PCIe Device/Port Type and requester-ID aliasing. */
    public enum Kind {
        /** PCIe root port (Device/Port Type 4). Requester IDs pass unchanged. */
        ROOT_PORT(PcieCapability.TYPE_ROOT_PORT),
        /** Upstream port of a PCIe switch (type 5). */
        SWITCH_UPSTREAM(PcieCapability.TYPE_UPSTREAM_PORT),
        /** Downstream port of a PCIe switch (type 6). */
        SWITCH_DOWNSTREAM(PcieCapability.TYPE_DOWNSTREAM_PORT),
        /**
         * PCIe-to-PCI/PCI-X bridge (type 7). It takes ownership of transactions from conventional
         * PCI devices and issues them with requester ID (secondary bus, device 0, function 0)
         * (PCI Express to PCI/PCI-X Bridge spec 1.0, 2.3; VT-d spec 3.9.2).
         */
        PCIE_TO_PCI(PcieCapability.TYPE_PCIE_TO_PCI_BRIDGE),
        /** PCI/PCI-X-to-PCIe bridge (type 8): forwards requests with its own requester ID. */
        PCI_TO_PCIE(PcieCapability.TYPE_PCI_TO_PCIE_BRIDGE),
        /**
         * Conventional (legacy) PCI-to-PCI bridge, no PCI Express capability: requests from below
         * reach the root carrying the bridge's own requester ID, as Linux assumes for any non-PCIe
         * bridge on the path.
         */
        PCI_TO_PCI(-1);

        final int pcieType;

        Kind(int pcieType) {
            this.pcieType = pcieType;
        }

        public boolean isPcie() {
            return pcieType >= 0;
        }
    }

    private final Kind kind;
    private final PciBus secondary;
    private int pinnedSecondary = -1;
    private int pinnedSubordinate = -1;

    public PciBridge(String name, PciIds ids, Kind kind) {
        super(name, ids, kind.isPcie(), HEADER_TYPE_BRIDGE, null, -1);
        this.kind = kind;
        this.secondary = new PciBus(this);
        cfg.rw(PRIMARY_BUS, 3, 0xFF_FFFF);
        if (!kind.isPcie()) cfg.rw(SECONDARY_LATENCY, 1, 0xFF);
        // 32-bit I/O and 64-bit prefetchable addressing (bridge spec 3.2.5.6, 3.2.5.9).
        cfg.set8(IO_BASE, 0x01);
        cfg.set8(IO_LIMIT, 0x01);
        cfg.rw(IO_BASE, 2, 0xF0F0);
        cfg.w1c(SECONDARY_STATUS, 2, STS_ERRORS_W1C);
        cfg.rw(MEMORY_BASE, 4, 0xFFF0_FFF0);
        cfg.set16(PREF_MEMORY_BASE, 0x0001);
        cfg.set16(PREF_MEMORY_LIMIT, 0x0001);
        cfg.rw(PREF_MEMORY_BASE, 4, 0xFFF0_FFF0);
        cfg.rw(PREF_BASE_UPPER, 4, -1);
        cfg.rw(PREF_LIMIT_UPPER, 4, -1);
        cfg.rw(IO_BASE_UPPER, 4, -1);
        cfg.rw(BRIDGE_CONTROL, 2, BCTL_PARITY | BCTL_SERR | BCTL_ISA | BCTL_VGA | BCTL_MASTER_ABORT | BCTL_SECONDARY_RESET);
        if (kind.isPcie()) addCapability(new PcieCapability(kind.pcieType));
    }

    /** A PCIe root port. */
    public static PciBridge rootPort(String name, PciIds ids) {
        return new PciBridge(name, ids, Kind.ROOT_PORT);
    }

    /** A PCIe-to-PCI bridge that aliases downstream requests to (secondary bus, 00.0). */
    public static PciBridge pcieToPci(String name, PciIds ids) {
        return new PciBridge(name, ids, Kind.PCIE_TO_PCI);
    }

    /** A conventional PCI-to-PCI bridge; downstream requests carry its own requester ID. */
    public static PciBridge pciToPci(String name, PciIds ids) {
        return new PciBridge(name, ids, Kind.PCI_TO_PCI);
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public boolean isBridge() {
        return true;
    }

    public PciBus secondaryBus() {
        return secondary;
    }

    public int primaryBusNumber() {
        return cfg.get8(PRIMARY_BUS);
    }

    public int secondaryBusNumber() {
        return cfg.get8(SECONDARY_BUS);
    }

    public int subordinateBusNumber() {
        return cfg.get8(SUBORDINATE_BUS);
    }

    /** True if a config request for {@code busNumber} is forwarded below this bridge. */
    public boolean claimsBus(int busNumber) {
        int sec = secondaryBusNumber();
        return sec != 0 && busNumber >= sec && busNumber <= subordinateBusNumber();
    }

    /** Writes the three bus number registers (what firmware enumeration does). */
    public void setBusNumbers(int primary, int secondaryBus, int subordinate) {
        cfg.set8(PRIMARY_BUS, primary);
        cfg.set8(SECONDARY_BUS, secondaryBus);
        cfg.set8(SUBORDINATE_BUS, subordinate);
    }

    /**
     * Pins the bus numbers enumeration gives this bridge (as a platform with fixed bus numbers has):
     * secondary, and the least subordinate (-1: as many as the hierarchy below needs).
     */
    public PciBridge pinBusNumbers(int secondaryBus, int subordinate) {
        if (secondaryBus < 1 || secondaryBus > 255 || subordinate > 255 || (subordinate >= 0 && subordinate < secondaryBus)) {
            throw new IllegalArgumentException(name() + ": bus numbers " + secondaryBus + "-" + subordinate);
        }
        pinnedSecondary = secondaryBus;
        pinnedSubordinate = subordinate;
        return this;
    }

    int pinnedSecondary() {
        return pinnedSecondary;
    }

    int pinnedSubordinate() {
        return pinnedSubordinate;
    }

    /** The requester ID this bridge substitutes for requests from below, or -1 if it passes them. */
    int aliasFor() {
        return switch (kind) {
            case PCIE_TO_PCI -> PciRegs.rid(secondaryBusNumber(), 0);
            case PCI_TO_PCI, PCI_TO_PCIE -> rid();
            default -> -1;
        };
    }

    // ---- windows (bridge spec 3.2.5.6-3.2.5.10) ---------------------------------------------

    public long memoryBase() {
        return (cfg.get16(MEMORY_BASE) & 0xFFF0L) << 16;
    }

    public long memoryLimit() {
        return ((cfg.get16(MEMORY_LIMIT) & 0xFFF0L) << 16) | 0xFFFFF;
    }

    public long prefetchableBase() {
        return ((cfg.get16(PREF_MEMORY_BASE) & 0xFFF0L) << 16) | ((cfg.get32(PREF_BASE_UPPER) & 0xFFFF_FFFFL) << 32);
    }

    public long prefetchableLimit() {
        return ((cfg.get16(PREF_MEMORY_LIMIT) & 0xFFF0L) << 16) | 0xFFFFF | ((cfg.get32(PREF_LIMIT_UPPER) & 0xFFFF_FFFFL) << 32);
    }

    public long ioBase() {
        return ((cfg.get8(IO_BASE) & 0xF0L) << 8) | ((cfg.get16(IO_BASE_UPPER) & 0xFFFFL) << 16);
    }

    public long ioLimit() {
        return ((cfg.get8(IO_LIMIT) & 0xF0L) << 8) | 0xFFF | ((cfg.get16(IO_LIMIT_UPPER) & 0xFFFFL) << 16);
    }

    /** True if a CPU memory request for [address, address + length) is forwarded to the secondary side. */
    public boolean forwardsMemory(long address, long length) {
        if ((command() & CMD_MEMORY_SPACE) == 0) return false;
        long last = address + length - 1;
        return (address >= memoryBase() && last <= memoryLimit() && Long.compareUnsigned(last, address) >= 0)
                || (Long.compareUnsigned(address, prefetchableBase()) >= 0
                    && Long.compareUnsigned(last, prefetchableLimit()) <= 0 && Long.compareUnsigned(last, address) >= 0);
    }

    public boolean forwardsIo(long port, long length) {
        if ((command() & CMD_IO_SPACE) == 0) return false;
        return port >= ioBase() && port + length - 1 <= ioLimit();
    }

    @Override
    protected void headerWritten(int offset, int size) {
        super.headerWritten(offset, size);
        if (offset <= BRIDGE_CONTROL && offset + size > BRIDGE_CONTROL
                && (cfg.get16(BRIDGE_CONTROL) & BCTL_SECONDARY_RESET) != 0) {
            // Secondary Bus Reset: a conventional reset of everything below (bridge spec 3.2.5.18).
            secondary.resetAll();
        }
    }
}

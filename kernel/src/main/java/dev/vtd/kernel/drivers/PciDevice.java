package dev.vtd.kernel.drivers;

import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's record of one PCI function (struct pci_dev): the hardware function, its name, the IOMMU's view of
 * it (requester ID and DMA aliases), its IOMMU group, and its driver binding state (bound driver,
 * driver_override).
 */
public final class PciDevice {
    private final PciFunction function;
    private final PciDev iommuDev;
    private PciDriver driver;
    private String driverOverride;
    private int group = -1;
    private Object driverData;

    public PciDevice(PciFunction function) {
        this.function = function;
        int seg = function.segment() == null ? 0 : function.segment().number();
        List<Integer> aliases = new ArrayList<>(function.dmaAliases());
        aliases.remove(Integer.valueOf(function.rid()));
        this.iommuDev = new PciDev(seg, function.rid(), aliases, PciDev.DEFAULT_DMA_MASK);
    }

    public PciFunction function() { return function; }
    public PciDev iommuDev() { return iommuDev; }
    /** {@code 0000:01:00.3}. */
    public String name() { return iommuDev.name(); }
    /** {@code 01:00.3}. */
    public String bdf() { return iommuDev.bdf(); }
    public int vendor() { return function.ids().vendorId(); }
    public int device() { return function.ids().deviceId(); }
    public int classCode() { return function.ids().classCode(); }
    public boolean isBridge() { return function instanceof PciBridge; }
    /** Header type 0 (a normal device, not a bridge). */
    public boolean normalHeader() {
        return (function.configRead(PciRegs.HEADER_TYPE, 1) & 0x7F) == PciRegs.HEADER_TYPE_NORMAL;
    }
    public boolean multifunction() {
        return (function.configRead(PciRegs.HEADER_TYPE, 1) & PciRegs.HEADER_TYPE_MULTIFUNCTION) != 0;
    }

    public PciDriver driver() { return driver; }
    void setDriver(PciDriver d) { this.driver = d; }
    public String driverOverride() { return driverOverride; }
    void setDriverOverride(String d) { this.driverOverride = d; }
    /** IOMMU group number, -1 when the device has none (no IOMMU covers it). */
    public int group() { return group; }
    public void setGroup(int g) { this.group = g; }
    /** What the bound driver keeps for this device (drvdata). */
    public Object driverData() { return driverData; }
    public void setDriverData(Object o) { this.driverData = o; }

    @Override
    public String toString() {
        return name();
    }
}

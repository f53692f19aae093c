package dev.vtd.kernel.drivers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PCI bus type of the driver core: the devices, the registered drivers with their dynamic IDs, and the
 * binding operations behind /sys/bus/pci (bind, unbind, new_id, remove_id, driver_override, drivers_probe).
 * A device matches a driver by its driver_override alone when one is set, else by the driver's dynamic IDs, then
 * its static ID table (pci_match_device). Refusals are {@link DriverException}s with the errno the sysfs write
 * returns.
 */
public final class PciCore {
    private final KernelServices kernel;
    private final Map<String, PciDevice> devices = new LinkedHashMap<>();
    private final Map<String, PciDriver> drivers = new LinkedHashMap<>();
    private final Map<String, List<PciDriver.DeviceId>> dynamicIds = new LinkedHashMap<>();

    public PciCore(KernelServices kernel) {
        this.kernel = kernel;
    }

    public KernelServices kernel() { return kernel; }

    public void addDevice(PciDevice d) {
        devices.put(d.name(), d);
    }

    /** Devices in enumeration order. */
    public List<PciDevice> devices() { return List.copyOf(devices.values()); }

    /** The device named {@code 0000:01:00.3} (or {@code 01:00.3}), or null. */
    public PciDevice device(String name) {
        String n = name.strip();
        if (n.matches("[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]")) n = "0000:" + n;
        return devices.get(n.toLowerCase());
    }

    public List<PciDriver> drivers() { return List.copyOf(drivers.values()); }

    public PciDriver driver(String name) { return drivers.get(name); }

    public List<PciDriver.DeviceId> dynamicIds(String driver) {
        return List.copyOf(dynamicIds.getOrDefault(driver, List.of()));
    }

    /** pci_register_driver: the driver appears in sysfs and binds every unbound device it matches. */
    public void registerDriver(PciDriver drv) {
        if (drivers.containsKey(drv.name())) return;
        drivers.put(drv.name(), drv);
        dynamicIds.put(drv.name(), new ArrayList<>());
        for (PciDevice d : devices.values()) {
            if (d.driver() == null && matches(drv, d)) tryProbe(drv, d);
        }
    }

    /** pci_unregister_driver: every bound device is released first. */
    public void unregisterDriver(String name) {
        PciDriver drv = drivers.get(name);
        if (drv == null) return;
        for (PciDevice d : devices.values()) if (d.driver() == drv) release(d);
        drivers.remove(name);
        dynamicIds.remove(name);
    }

    /** Devices bound to a driver. */
    public List<PciDevice> boundTo(String driver) {
        return devices.values().stream().filter(d -> d.driver() != null && d.driver().name().equals(driver)).toList();
    }

    public boolean matches(PciDriver drv, PciDevice d) {
        if (d.driverOverride() != null) return d.driverOverride().equals(drv.name());
        for (PciDriver.DeviceId id : dynamicIds.getOrDefault(drv.name(), List.of())) if (id.matches(d)) return true;
        for (PciDriver.DeviceId id : drv.idTable()) if (id.matches(d)) return true;
        return false;
    }

    private int tryProbe(PciDriver drv, PciDevice d) {
        d.setDriver(drv);
        int ret;
        try {
            ret = drv.probe(d, this);
        } catch (RuntimeException e) {
            ret = -Errno.EIO.number;
        }
        if (ret != 0) {
            d.setDriver(null);
            d.setDriverData(null);
            if (ret != -Errno.ENODEV.number) {
                kernel.log().warn(drv.name() + ": probe of " + d.name() + " failed with error " + ret);
            }
        }
        return ret;
    }

    /** device_attach: the first registered driver that matches and probes successfully. */
    public void attach(PciDevice d) {
        if (d.driver() != null) return;
        for (PciDriver drv : List.copyOf(drivers.values())) {
            if (matches(drv, d) && tryProbe(drv, d) == 0) return;
        }
    }

    private void release(PciDevice d) {
        PciDriver drv = d.driver();
        if (drv == null) return;
        drv.remove(d, this);
        d.setDriver(null);
        d.setDriverData(null);
    }

    private PciDriver requireDriver(String name) {
        PciDriver drv = drivers.get(name);
        if (drv == null) throw Errno.ENOENT.exception("no driver " + name);
        return drv;
    }

    /** echo BDF > /sys/bus/pci/drivers/DRV/bind (3.10 semantics: ENODEV unless unbound and matching). */
    public void bind(String driver, String bdf) {
        PciDriver drv = requireDriver(driver);
        PciDevice d = device(bdf);
        if (d == null || d.driver() != null || !matches(drv, d)) {
            throw Errno.ENODEV.exception(bdf.strip() + " cannot be bound to " + driver);
        }
        int ret = tryProbe(drv, d);
        if (ret != 0) throw errnoOf(ret).exception(driver + " probe of " + d.name() + " failed with " + ret);
    }

    /** echo BDF > /sys/bus/pci/drivers/DRV/unbind. */
    public void unbind(String driver, String bdf) {
        PciDriver drv = requireDriver(driver);
        PciDevice d = device(bdf);
        if (d == null || d.driver() != drv) throw Errno.ENODEV.exception(bdf.strip() + " is not bound to " + driver);
        release(d);
    }

    /** echo "VVVV DDDD [SVVV SDDD CCCCCC MMMMMM]" > new_id: adds a dynamic ID and probes unbound devices. */
    public void newId(String driver, String text) {
        PciDriver drv = requireDriver(driver);
        PciDriver.DeviceId id = parseId(text);
        List<PciDriver.DeviceId> ids = dynamicIds.get(driver);
        if (ids.contains(id)) throw Errno.EEXIST.exception("ID already present");
        ids.add(id);
        for (PciDevice d : devices.values()) if (d.driver() == null && matches(drv, d)) tryProbe(drv, d);
    }

    /** echo "VVVV DDDD" > remove_id. */
    public void removeId(String driver, String text) {
        requireDriver(driver);
        PciDriver.DeviceId id = parseId(text);
        List<PciDriver.DeviceId> ids = dynamicIds.get(driver);
        boolean removed = ids.removeIf(x -> x.vendor() == id.vendor() && x.device() == id.device()
                && x.subvendor() == id.subvendor() && x.subdevice() == id.subdevice());
        if (!removed) throw Errno.ENODEV.exception("no such ID");
    }

    /** driver_override store: a trailing newline is dropped; an empty value clears it. */
    public void setDriverOverride(String bdf, String text) {
        PciDevice d = device(bdf);
        if (d == null) throw Errno.ENODEV.exception(bdf);
        String v = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        if (v.length() >= 4096) throw Errno.EINVAL.exception("override too long");
        d.setDriverOverride(v.isEmpty() ? null : v);
    }

    /** echo BDF > /sys/bus/pci/drivers_probe. */
    public void probe(String bdf) {
        PciDevice d = device(bdf);
        if (d == null) throw Errno.ENODEV.exception(bdf.strip());
        attach(d);
    }

    static Errno errnoOf(int ret) {
        for (Errno e : Errno.values()) if (e.number == -ret) return e;
        return Errno.EIO;
    }

    /** new_id's format: hex fields "vendor device [subvendor subdevice class class_mask driver_data]". */
    static PciDriver.DeviceId parseId(String text) {
        String[] f = text.strip().split("\\s+");
        if (f.length < 2 || f.length > 7) throw Errno.EINVAL.exception("new_id needs vendor and device");
        long[] v = {PciDriver.DeviceId.ANY, PciDriver.DeviceId.ANY, PciDriver.DeviceId.ANY, PciDriver.DeviceId.ANY, 0, 0, 0};
        for (int i = 0; i < f.length; i++) {
            try {
                String s = f[i].startsWith("0x") || f[i].startsWith("0X") ? f[i].substring(2) : f[i];
                v[i] = Long.parseLong(s, 16);
            } catch (NumberFormatException e) {
                throw Errno.EINVAL.exception("bad hex field '" + f[i] + "'");
            }
            if (v[i] < 0 || v[i] > 0xFFFF_FFFFL) throw Errno.EINVAL.exception("field out of range");
        }
        int vendor = (int) v[0], device = (int) v[1];
        int sv = f.length > 2 ? (int) v[2] : PciDriver.DeviceId.ANY, sd = f.length > 3 ? (int) v[3] : PciDriver.DeviceId.ANY;
        if (vendor == 0xFFFF_FFFF || vendor > 0xFFFF && vendor != PciDriver.DeviceId.ANY) vendor = PciDriver.DeviceId.ANY;
        if (device == 0xFFFF_FFFF || device > 0xFFFF && device != PciDriver.DeviceId.ANY) device = PciDriver.DeviceId.ANY;
        return new PciDriver.DeviceId(vendor, device, sv, sd, (int) v[4], (int) v[5]);
    }
}

package dev.vtd.vmm.host;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.List;

/**
 * The VMM's view of a booted host ({@link dev.vtd.kernel.host.Host}): the machine, the kernel's IOMMU layer, its
 * PCI core (drivers, sysfs binding, IOMMU groups, as {@code lspci -k} and {@code /sys/kernel/iommu_groups} show
 * them), the host's interrupt entry points, and the RAM guests get. {@link #run(long)} advances virtual time and
 * lets the CPUs take their interrupts.
 */
public final class Host implements AutoCloseable {
    public static final String DEFAULT_CMDLINE = "intel_iommu=on";

    private final dev.vtd.kernel.host.Host kernelHost;
    private final Kernel kernel;
    private final boolean owned;
    private final HostPci pci;
    private final HostInterrupts interrupts;
    private final HostRam ram;

    private Host(dev.vtd.kernel.host.Host kernelHost, boolean owned) {
        this.kernelHost = kernelHost;
        this.kernel = kernelHost.kernel();
        this.owned = owned;
        if (kernel.iommu() == null) {
            throw new VmmException(kernel.machine().name() + ": VT-d is disabled in the BIOS (no DMAR table)");
        }
        this.interrupts = new HostInterrupts(kernel.machine(), kernel, kernel.irq(), kernel.pages(), kernel.log(), kernel.iommu());
        this.pci = new HostPci(kernel);
        PageAllocator pages = kernel.pages();
        this.ram = new HostRam(kernel.machine().memory(), pages.base(), pages.base() + pages.size());
    }

    /** The VMM side of a host booted elsewhere (the shell's); closing it leaves the host running. */
    public static Host on(dev.vtd.kernel.host.Host kernelHost) {
        return new Host(kernelHost, false);
    }

    /**
     * Boots the kernel on a machine with the options {@code cmdline} (after grub's BOOT_IMAGE and root=); the
     * machine is closed with the host. A machine given this way cannot be rebooted.
     */
    public static Host boot(Machine machine, String cmdline) {
        boolean[] built = {false};
        dev.vtd.kernel.host.Host h = dev.vtd.kernel.host.Host.boot(bios -> {
            if (built[0]) throw new VmmException(machine.name() + ": this machine cannot be powered on again");
            built[0] = true;
            return machine;
        }, dev.vtd.kernel.host.Host.BiosSettings.DEFAULTS, dev.vtd.kernel.host.Host.GRUB_PREFIX + " " + cmdline);
        try {
            return new Host(h, true);
        } catch (RuntimeException e) {
            h.close();
            throw e;
        }
    }

    /** The default machine: the seeds' Dell R630 with {@code intel_iommu=on}. */
    public static Host bootR630() {
        return boot(Presets.r630().build(), DEFAULT_CMDLINE);
    }

    public dev.vtd.kernel.host.Host kernelHost() { return kernelHost; }
    public Kernel kernel() { return kernel; }
    public Machine machine() { return kernel.machine(); }
    public KernelLog log() { return kernel.log(); }
    public IommuSubsystem iommu() { return kernel.iommu(); }
    public HostPci pci() { return pci; }
    public HostInterrupts interrupts() { return interrupts; }
    public HostRam ram() { return ram; }
    public PageAllocator pages() { return kernel.pages(); }
    public int cpuCount() { return machine().interrupts().localApics().size(); }

    /** The kernel's PciDev for a function (functions that appeared since boot, such as VFs, are added first). */
    public PciDev kernelDevice(PciFunction f) {
        return pci.device(f).iommuDev();
    }

    /** Advances virtual time by ns (devices run their timers), then the CPUs take pending interrupts. */
    public void run(long ns) {
        var clock = machine().clock();
        long end = clock.now() + ns;
        while (true) {
            long next = clock.nextDeadline();
            if (next < 0 || next > end) break;
            clock.advanceTo(next);
            interrupts.service();
        }
        clock.advanceTo(end);
        interrupts.service();
    }

    /**
     * {@code echo n > /sys/bus/pci/devices/PF/sriov_numvfs} in the host's shell: the PF's VFs appear (0: they go)
     * and the kernel adds them to its PCI core and IOMMU groups. Returns the VFs now enabled, VF 0 first.
     */
    public List<PciFunction> setNumVfs(PciFunction pf, int n) {
        if (pf.sriov() == null) throw new VmmException(pf.address() + ": no SR-IOV capability (sriov_numvfs: No such file)");
        String out = dev.vtd.kernel.shell.Shell.create(kernelHost)
                .run("echo " + n + " > /sys/bus/pci/devices/" + pf.address() + "/sriov_numvfs");
        if (!out.isEmpty()) throw new VmmException(pf.address() + ": sriov_numvfs " + n + ": " + out.strip());
        List<PciFunction> vfs = pf.sriov().virtualFunctions();
        for (PciFunction vf : vfs) pci.device(vf);
        return vfs;
    }

    /** lspci -nn on the host (the kernel's view). */
    public List<String> lspci() {
        List<String> out = new ArrayList<>();
        for (PciFunction f : machine().functions()) out.add(PciNames.lspciLine(f, f.address().substring(5)));
        return out;
    }

    /** Closes the machine when this host booted it. */
    @Override
    public void close() {
        if (owned) kernelHost.close();
    }
}

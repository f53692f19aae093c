package dev.vtd.kernel.host;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelCmdline;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.log.BootClock;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.iommu.RemappingUnit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A host: a {@link Machine} powered on with BIOS settings, and a kernel booted on it with a command line. The
 * kernel brings up the IOMMU (DMA remapping, interrupt remapping), forms IOMMU groups and binds drivers.
 * {@link #reboot} powers the machine off and on again, applying the BIOS settings saved in setup and the command
 * line grub.cfg holds.
 */
public final class Host implements AutoCloseable {
    public static final String KERNEL_RELEASE = "3.10.0-514.el7.x86_64";
    /** The part of the command line grub's 10_linux script writes before GRUB_CMDLINE_LINUX. */
    public static final String GRUB_PREFIX = "BOOT_IMAGE=/vmlinuz-" + KERNEL_RELEASE + " root=/dev/mapper/rhel-root ro";
    public static final String DEFAULT_CMDLINE = GRUB_PREFIX + " intel_iommu=on";

    /** The BIOS setup's switches this model has: "Intel VT for Directed I/O". */
    public record BiosSettings(boolean vtd) {
        public static final BiosSettings DEFAULTS = new BiosSettings(true);
    }

    /** Builds the machine as its BIOS settings configure it (a fresh power-on each call). */
    @FunctionalInterface
    public interface MachineFactory {
        Machine build(BiosSettings bios);
    }

    private final MachineFactory factory;
    private BiosSettings savedBios;
    private String nextCmdline;
    private final Map<String, String> files = new LinkedHashMap<>();
    private Kernel kernel;
    private int boots;

    private Host(MachineFactory factory, BiosSettings bios, String cmdline) {
        this.factory = Objects.requireNonNull(factory);
        this.savedBios = Objects.requireNonNull(bios);
        this.nextCmdline = Objects.requireNonNull(cmdline);
        Grub.install(files, cmdline);
    }

    /** Powers the machine on and boots the kernel. */
    public static Host boot(MachineFactory factory, BiosSettings bios, String cmdline) {
        Host h = new Host(factory, bios, cmdline);
        h.powerOn();
        return h;
    }

    public static Host boot(MachineFactory factory) {
        return boot(factory, BiosSettings.DEFAULTS, DEFAULT_CMDLINE);
    }

    private void powerOn() {
        Machine m = factory.build(savedBios);
        try {
            kernel = new Kernel(this, m, savedBios, KernelCmdline.parse(nextCmdline));
            kernel.boot();
            boots++;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Power cycle: the saved BIOS settings and grub.cfg's command line take effect. */
    public void reboot() {
        kernel.machine().close();
        powerOn();
    }

    public Kernel kernel() { return kernel; }
    public Machine machine() { return kernel.machine(); }
    public KernelLog log() { return kernel.log(); }
    public KernelCmdline cmdline() { return kernel.cmdline(); }
    /** The IOMMU layer, or null when VT-d is off in the BIOS. */
    public IommuSubsystem iommu() { return kernel.iommu(); }
    /** The BIOS settings the running machine was powered on with. */
    public BiosSettings bios() { return kernel.bios(); }
    /** The BIOS settings saved in setup (effective at the next power-on). */
    public BiosSettings savedBios() { return savedBios; }
    public void saveBios(BiosSettings b) { this.savedBios = Objects.requireNonNull(b); }
    public int boots() { return boots; }

    /** The command line the boot loader will pass next (grub.cfg's linux16 line). */
    public String nextCmdline() { return nextCmdline; }

    /** Regular files of the root file system (/etc/default/grub, /boot/grub2/grub.cfg), path to contents. */
    public Map<String, String> files() { return files; }

    /** grub2-mkconfig: regenerates grub.cfg from /etc/default/grub; returns what it prints on stderr. */
    public String grubMkconfig(String output) {
        String cmdline = Grub.cmdlineFrom(files.getOrDefault(Grub.DEFAULTS_FILE, ""));
        files.put(output, Grub.config(cmdline));
        if (output.equals(Grub.CONFIG_FILE)) nextCmdline = cmdline;
        return Grub.mkconfigMessages();
    }

    /** Advances virtual time and lets the kernel take the interrupts that arrived. */
    public void run(long ns) {
        kernel.run(ns);
    }

    @Override
    public void close() {
        if (kernel != null) kernel.machine().close();
    }

    static KernelLog newLog(Machine m) {
        return new KernelLog(BootClock.following(m.clock()));
    }

    static KernelIrq newIrq(Machine m) {
        return new KernelIrq(m.clock(), null);
    }

    static Map<Long, RemappingUnit> units(Machine m) {
        Map<Long, RemappingUnit> out = new LinkedHashMap<>();
        for (Machine.Unit u : m.units()) out.put(u.registerBase(), u.hardware());
        return out;
    }
}

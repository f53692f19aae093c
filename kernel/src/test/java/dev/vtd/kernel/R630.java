package dev.vtd.kernel;

import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.DmarTables;
import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelCmdline;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.log.BootClock;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.Map;

/** A Dell R630-like machine: its DMAR table, two units with its CAP/ECAP, 512 MiB of RAM, a kernel page pool. */
public final class R630 implements AutoCloseable {
    public static final Cap CAP = new Cap(0x8d2078c106f0466L);
    public static final Ecap ECAP = new Ecap(0xf020dfL);
    public static final long DMAR0 = 0xFBFFC000L;
    public static final long DMAR1 = 0xC7FFC000L;
    public static final long RAM = 512L << 20;
    public static final long POOL_BASE = 256L << 20;
    public static final long POOL_SIZE = 64L << 20;

    public final PhysicalMemory mem = PhysicalMemory.anonymous(RAM);
    public final VirtualClock clock = new VirtualClock();
    public final InterruptRecorder others = new InterruptRecorder();
    public final KernelIrq irq = new KernelIrq(clock, others);
    public final KernelLog log = new KernelLog(BootClock.following(clock));
    public final PageAllocator pages = new PageAllocator(mem, POOL_BASE, POOL_SIZE);
    public final RemappingUnit dmar0;
    public final RemappingUnit dmar1;
    public final DmarTable table = DmarTables.dellR630();

    public R630() {
        this(CAP, ECAP);
    }

    public R630(Cap cap, Ecap ecap) {
        dmar0 = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withName("dmar0").withHostAddressWidth(46), mem, irq);
        dmar1 = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withName("dmar1").withHostAddressWidth(46), mem, irq);
    }

    public Map<Long, RemappingUnit> units() {
        return Map.of(DMAR0, dmar0, DMAR1, dmar1);
    }

    public IommuSubsystem.Builder builder(String cmdline) {
        return IommuSubsystem.builder(table, units(), mem).dmarAddress(DmarTables.DELL_R630_ADDRESS)
                .cmdline(KernelCmdline.parse(cmdline)).log(log).clock(clock).irq(irq).pages(pages)
                .invalidation(IntelIommu.InvalidationMode.REGISTER);
    }

    public IommuSubsystem boot(String cmdline) {
        return builder(cmdline).boot();
    }

    @Override
    public void close() {
        mem.close();
    }
}

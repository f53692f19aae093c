package dev.vtd.bench;

import dev.vtd.firmware.acpi.DmarTables;
import dev.vtd.kernel.dma.DmaDirection;
import dev.vtd.kernel.dma.DmaOps;
import dev.vtd.kernel.dma.DmaSegment;
import dev.vtd.kernel.dma.SgEntry;
import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.KernelCmdline;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.iommu.PciDev;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.memory.PhysicalMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The host kernel's DMA API on a booted Dell R630 model: dma_map_single + dma_unmap_single of one 4 KiB page
 * in strict mode (page-selective invalidation through the registers on every unmap) and lazy mode (flush
 * queue), and dma_map_sg + dma_unmap_sg of a 64-page scatterlist.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class KernelDmaBench {
    @Param({"strict", "lazy"})
    public String mode;

    private PhysicalMemory mem;
    private VirtualClock clock;
    private DmaOps ops;
    private List<SgEntry> sg;
    private long n;

    @Setup(Level.Trial)
    public void boot() {
        mem = PhysicalMemory.anonymous(512L << 20);
        clock = new VirtualClock();
        KernelIrq irq = new KernelIrq(clock, null);
        Cap cap = new Cap(0x8d2078c106f0466L);
        Ecap ecap = new Ecap(0xf020dfL);
        RemappingUnit u0 = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withName("dmar0").withHostAddressWidth(46), mem, irq);
        RemappingUnit u1 = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withName("dmar1").withHostAddressWidth(46), mem, irq);
        IommuSubsystem s = IommuSubsystem.builder(DmarTables.dellR630(), Map.of(0xFBFFC000L, u0, 0xC7FFC000L, u1), mem)
                .cmdline(KernelCmdline.parse("intel_iommu=on iommu.strict=" + (mode.equals("strict") ? 1 : 0)))
                .log(KernelLog.create()).clock(clock).irq(irq).pages(new PageAllocator(mem, 256L << 20, 64L << 20))
                .invalidation(IntelIommu.InvalidationMode.REGISTER).boot();
        ops = DmaOps.of(s, PciDev.of(1, 0, 0));
        sg = new ArrayList<>();
        for (int i = 0; i < 64; i++) sg.add(new SgEntry(0x0800_0000L + i * 0x3000L, 4096));
    }

    @TearDown(Level.Trial)
    public void close() {
        mem.close();
    }

    /** Lazy mode: let virtual time pass now and then so the 10 ms flush timer runs as on a real machine. */
    private void tick() {
        if ((++n & 255) == 0) clock.step(1_000_000L);
    }

    @Benchmark
    public long mapUnmapOnePage() {
        long dma = ops.mapSingle(0x0400_0000L, 4096, DmaDirection.FROM_DEVICE);
        ops.unmapSingle(dma, 4096, DmaDirection.FROM_DEVICE);
        tick();
        return dma;
    }

    @Benchmark
    public int mapUnmapSg64() {
        List<DmaSegment> segs = ops.mapSg(sg, DmaDirection.TO_DEVICE);
        ops.unmapSg(segs, DmaDirection.TO_DEVICE);
        tick();
        return segs.size();
    }
}

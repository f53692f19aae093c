package dev.vtd.bench;

import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.ScalableTableWriter;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import dev.vtd.platform.memory.PhysicalMemory;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Scalable-mode page walks on an IOTLB miss: a 4-level first-stage walk, and a nested walk (a
 * 4-level first stage whose every table access and output go through a 4-level second stage),
 * both for requests with PASID; plus a first-stage IOTLB hit.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ScalableTranslationBench {
    static final int SID = 0x0100;
    static final int PAGES = 4096;
    static final int FS_PASID = 1, NESTED_PASID = 2;
    static final long VA = 0x7f00_0000_0000L;
    PhysicalMemory mem;
    RemappingUnit cached;
    RemappingUnit noCache;
    int next;

    @Setup
    public void setup() {
        mem = PhysicalMemory.anonymous(256L << 20);
        Cap cap = new Cap(0x8d2078c106f0466L).with(Cap.FL1GP, 1);
        Ecap ecap = new Ecap(0xf020dfL).with(Ecap.SMTS, 1).with(Ecap.SLTS, 1).with(Ecap.FLTS, 1).with(Ecap.NEST, 1)
                .with(Ecap.PASID, 1).with(Ecap.PSS, 19).with(Ecap.SMPWCS, 1);
        cached = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withHostAddressWidth(46), mem, new InterruptRecorder());
        noCache = new RemappingUnit(RemappingUnit.Config.of(cap, ecap).withHostAddressWidth(46).withCaches(0, 1, 64), mem,
                new InterruptRecorder());
        ScalableTableWriter tw = new ScalableTableWriter(mem, 0x100_0000, 0x200_0000);
        long dir = tw.allocPage();
        tw.setContext(SID, SmContextEntry.of(dir, 0, 0).withPasidEnable(true));
        long fl = tw.allocPage();
        long nestedFl = tw.allocPage();
        long sl = tw.allocPage();
        // Second stage: identity over the table pool (2 MiB pages), data GPA -> HPA 4 KiB pages.
        for (long a = 0; a < 0x300_0000; a += 0x20_0000) tw.secondStage().map(sl, 4, a, a, 21, true, true);
        for (int i = 0; i < PAGES; i++) {
            long va = VA + i * 4096L;
            tw.mapFirstStage(fl, 4, va, 0x400_0000L + i * 4096L, 12, true, true, false);
            long gpa = 0x8000_0000L + i * 4096L;
            tw.mapFirstStage(nestedFl, 4, va, gpa, 12, true, true, false);
            tw.secondStage().map(sl, 4, gpa, 0x400_0000L + i * 4096L, 12, true, true);
        }
        tw.setPasidEntry(dir, FS_PASID, PasidEntry.firstStage(1, fl, false).withPwsnp(true));
        tw.setPasidEntry(dir, NESTED_PASID, PasidEntry.nested(2, nestedFl, false, sl, 2).withPwsnp(true));
        for (RemappingUnit u : new RemappingUnit[] {cached, noCache}) {
            u.write(Reg.RTADDR, 8, tw.rootTable() | (1L << Reg.RTADDR_TTM_SHIFT));
            u.write(Reg.GCMD, 4, Reg.GCMD_SRTP);
            u.write(Reg.GCMD, 4, Reg.GCMD_TE);
            for (int i = 0; i < PAGES; i++) {                   // first touch sets every A bit
                u.translate(SID, FS_PASID, VA + i * 4096L, RemappingUnit.Access.READ, false, false);
                u.translate(SID, NESTED_PASID, VA + i * 4096L, RemappingUnit.Access.READ, false, false);
            }
        }
    }

    @TearDown
    public void tearDown() {
        mem.close();
    }

    /** A different page each call, no IOTLB: a 4-level first-stage walk per translation. */
    @Benchmark
    public long firstStageWalkMiss() {
        int n = next = (next + 1) & (PAGES - 1);
        return noCache.translate(SID, FS_PASID, VA + n * 4096L, RemappingUnit.Access.READ, false, false).hpa();
    }

    /** A different page each call, no IOTLB: nested walk (4 first-stage entries, each and the output via 4-level second stage). */
    @Benchmark
    public long nestedWalkMiss() {
        int n = next = (next + 1) & (PAGES - 1);
        return noCache.translate(SID, NESTED_PASID, VA + n * 4096L, RemappingUnit.Access.READ, false, false).hpa();
    }

    /** Same page every time with PASID: a PASID-tagged IOTLB hit (slow-path lookup, no MRU). */
    @Benchmark
    public long firstStageIotlbHit() {
        return cached.translate(SID, FS_PASID, VA + 0x10, RemappingUnit.Access.READ, false, false).hpa();
    }
}

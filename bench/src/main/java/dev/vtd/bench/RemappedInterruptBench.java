package dev.vtd.bench;

import dev.vtd.platform.iommu.Iommu;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.ir.InterruptRemappingTable;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.ir.MsiMessage;
import dev.vtd.platform.iommu.ir.PostedInterruptDescriptor;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.memory.PhysicalMemory;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Latency of one interrupt request through interrupt remapping: an MSI write in remappable format,
 * IEC hit (or miss after an invalidation), IRTE checks, and delivery to a local APIC that only
 * counts (remapped), or a posted-interrupt descriptor update with SN set (posted, no notification).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RemappedInterruptBench {
    static final int SID = 0x0020;

    PhysicalMemory mem;
    Iommu iommu;
    RemappingUnit unit;
    long remappedAddress;
    long postedAddress;
    long count;

    @Setup
    public void setup() {
        mem = PhysicalMemory.anonymous(16L << 20);
        // A sink that only counts keeps the APIC log from growing during the run.
        iommu = Iommu.create(RemappingUnit.Config.of(new Cap(0x8d2078c106f0466L), new Ecap(0xf020dfL))
                .withHostAddressWidth(46), mem, new dev.vtd.platform.interrupt.InterruptSink() {
            @Override public void deliver(long address, int data) { count++; }
            @Override public void deliver(dev.vtd.platform.interrupt.InterruptMessage m) { count += m.vector(); }
        });
        unit = iommu.unit();
        InterruptRemappingTable irt = new InterruptRemappingTable(mem, 0x10_0000, 7);
        irt.set(5, Irte.remapped(0x40, Irte.xapicDestination(2), false, false, false, 0)
                .withSourceValidation(Irte.SVT_SID, 0, SID));
        PostedInterruptDescriptor.of(0xF2, PostedInterruptDescriptor.xapicNdst(1), true).write(mem, 0x20_0000);
        irt.set(6, Irte.postedEntry(0x61, 0x20_0000, false));
        irt.enable(unit, false);
        remappedAddress = MsiMessage.remappable(5, false, 0).address();
        postedAddress = MsiMessage.remappable(6, false, 0).address();
    }

    @TearDown
    public void tearDown() {
        mem.close();
    }

    @Benchmark
    public long remapped() {
        unit.interruptRequest(SID, remappedAddress, 0);
        return count;
    }

    @Benchmark
    public long remappedAfterIecInvalidation() {
        iommu.interruptRemapping().invalidate(5, 0);
        unit.interruptRequest(SID, remappedAddress, 0);
        return count;
    }

    @Benchmark
    public long posted() {
        unit.interruptRequest(SID, postedAddress, 0);
        return count;
    }
}

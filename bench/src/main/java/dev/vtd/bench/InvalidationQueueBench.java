package dev.vtd.bench;

import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.Iommu;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.memory.PhysicalMemory;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Invalidation-queue descriptor throughput: batches of page-selective IOTLB invalidations closed by
 * an invalidation wait, written at the tail and processed on the IQT write (ops = descriptors).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class InvalidationQueueBench {
    @Param({"1", "15"})
    int batch;

    PhysicalMemory mem;
    QueueWriter queue;
    InvalidationDescriptor[] descriptors;

    @Setup
    public void setup() {
        mem = PhysicalMemory.anonymous(16L << 20);
        Iommu iommu = Iommu.create(RemappingUnit.Config.of(new Cap(0x8d2078c106f0466L), new Ecap(0xf020dfL))
                .withHostAddressWidth(46), mem, new InterruptRecorder());
        queue = new QueueWriter(iommu.unit(), mem, 0x10_0000, 0, false);
        queue.enable();
        descriptors = new InvalidationDescriptor[batch + 1];
        for (int i = 0; i < batch; i++) descriptors[i] = IotlbInvalidate.page(1, 0x1000L * i, 0, false);
        descriptors[batch] = InvalidationWait.status(0x20_0000, 1);
    }

    @TearDown
    public void tearDown() {
        mem.close();
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public long submitBatches() {
        // batch + 1 divides 16 for both parameters, so each invocation processes exactly 16 descriptors.
        long n = 0;
        while (n < 16) {
            queue.submit(descriptors);
            n += descriptors.length;
        }
        return queue.tail();
    }
}

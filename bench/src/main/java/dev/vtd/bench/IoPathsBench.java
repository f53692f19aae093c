package dev.vtd.bench;

import dev.vtd.vmm.perf.IoPaths;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Model CPU time of one loop-back round trip (transmit + receive) on each I/O path of {@link IoPaths}: the
 * timing half of {@code vtd bench io-paths} (whose counts are exact and need no JMH). Run all paths in one
 * invocation and report ratios.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class IoPathsBench {
    @Param({"EMULATED", "VIRTIO", "ASSIGNED", "NATIVE", "NATIVE_PT"})
    public IoPaths.Path path;

    @Param({"64", "1500"})
    public int size;

    private IoPaths.Rig rig;
    private byte[] frame;

    @Setup(Level.Trial)
    public void boot() {
        rig = IoPaths.rig(path);
        frame = new byte[size];
        for (int i = 0; i < size; i++) frame[i] = (byte) (i * 7 + 3);
        frame[0] = 0x02;
    }

    @TearDown(Level.Trial)
    public void close() {
        rig.close();
    }

    @Benchmark
    @OperationsPerInvocation(IoPaths.BATCH)
    public int roundTrips() {
        int n = rig.roundTrips(frame);
        if (n != IoPaths.BATCH) throw new IllegalStateException(path + ": " + n + " of " + IoPaths.BATCH + " came back");
        return n;
    }
}

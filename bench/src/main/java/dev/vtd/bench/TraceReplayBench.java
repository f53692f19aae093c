package dev.vtd.bench;

import dev.vtd.platform.trace.IotlbModel;
import dev.vtd.platform.trace.SyntheticTrace;
import dev.vtd.platform.trace.TraceFormat;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Issue 15 target: {@code vtd trace replay} runs at >= 20 million translations per second on one core.
 * One operation replays a 1.2 M-record synthetic multi-tenant trace (8 tenants, 400,000 packets)
 * through a 64-entry 8-way LRU IOTLB (HyperSIO's default); records/s = 1.2e6 / (s/op).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class TraceReplayBench {
    static final SyntheticTrace.Params PARAMS = new SyntheticTrace.Params(8, 32, 8, 400_000, false, 1);

    @Param({"lru", "random"})
    String policy;

    Arena arena;
    MemorySegment records;
    IotlbModel.Geometry geometry;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        records = arena.allocate(PARAMS.records() * TraceFormat.RECORD_BYTES, 8);
        new SyntheticTrace(PARAMS).fill(records);
        geometry = IotlbModel.Geometry.parse("entries=64,ways=8,policy=" + policy);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public long replay() {
        return new IotlbModel(geometry).replay(records, PARAMS.records(), null).hits();
    }
}

package dev.vtd.platform.trace;

/**
 * Where the hardware reports what it does when tracing is on: DMA requests with their translation or
 * fault, invalidations, interrupt requests. Implementations must be safe to call from several DMA
 * threads at once. A unit with no sink reports nothing and pays one null check per request.
 */
@FunctionalInterface
public interface TraceSink {
    void record(TraceRecord r);
}

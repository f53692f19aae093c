package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;
import dev.vtd.platform.bus.PortIoDevice;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.interrupt.GsiSink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * All PCI segments of a machine, plus what ties them to the rest of the platform:
 * <ul>
 *   <li>CPU address decode: with a {@link SystemBus} attached, every BAR that is enabled (Memory or
 *       I/O Space Enable, D0) and forwarded by every bridge above it (their windows and enables) is
 *       mapped at its programmed address, and remapped whenever configuration changes it;</li>
 *   <li>INTx: each function's asserted pin, routed through the swizzle and the segment's
 *       {@link IntxRouter}, drives a shared level-triggered line of a {@link GsiSink}; a line is
 *       asserted while any function asserts it (wire-OR).</li>
 * </ul>
 */
public final class PciHierarchy {
    private final Map<Integer, PciSegment> segments = new TreeMap<>();
    private SystemBus systemBus;
    private GsiSink gsiSink = (gsi, level) -> {};
    private final Map<Integer, Integer> lineUsers = new HashMap<>();

    private final Map<Bar, Long> mapped = new IdentityHashMap<>();
    private final Map<Bar, BarWindow> windows = new IdentityHashMap<>();
    private final Map<Bar, IoWindow> ioWindows = new IdentityHashMap<>();

    public synchronized PciSegment addSegment(int number) {
        if (number < 0 || number > 0xFFFF || segments.containsKey(number)) {
            throw new IllegalArgumentException("PCI segment " + number);
        }
        PciSegment s = new PciSegment(this, number);
        segments.put(number, s);
        return s;
    }

    public synchronized PciSegment segment(int number) {
        return segments.get(number);
    }

    public synchronized List<PciSegment> segments() {
        return List.copyOf(segments.values());
    }

    public List<PciFunction> allFunctions() {
        List<PciFunction> l = new ArrayList<>();
        for (PciSegment s : segments()) l.addAll(s.allFunctions());
        return l;
    }

    // ---- CPU decode ------------------------------------------------------------------------

    /** Maps enabled BARs on this bus from now on (and keeps them current). */
    public void attach(SystemBus bus) {
        synchronized (this) {
            systemBus = bus;
        }
        refreshDecode();
    }

    void configChanged(PciFunction f, int offset, int size) {
        if (systemBus == null) return;
        boolean header = offset < 0x40;
        SriovCapability s = f.sriov();
        boolean sriov = s != null && s.covers(offset, size);
        if (header || sriov || f.powerManagement() != null && f.powerManagement().covers(offset, size)) refreshDecode();
    }

    void topologyChanged() {
        refreshDecode();
    }

    /** Recomputes which BARs the CPU reaches and where, and updates the system bus mappings. */
    public synchronized void refreshDecode() {
        SystemBus sb = systemBus;
        if (sb == null) return;
        Map<Bar, Long> want = new IdentityHashMap<>();
        for (PciFunction f : allFunctions()) {
            for (Bar b : f.bars()) {
                long a = b.address();
                if (b.isMemory() ? f.memoryDecodeEnabled() && reachable(f, a, b.size(), true)
                        : f.ioDecodeEnabled() && b.ioHandler() != null && a + b.size() <= 0x10000 && reachable(f, a, b.size(), false)) {
                    want.put(b, a);
                }
            }
        }
        for (Map.Entry<Bar, Long> e : new ArrayList<>(mapped.entrySet())) {
            Long w = want.get(e.getKey());
            if (w == null || w.longValue() != e.getValue()) {
                unmap(sb, e.getKey());
                mapped.remove(e.getKey());
            }
        }
        for (Map.Entry<Bar, Long> e : want.entrySet()) {
            Bar b = e.getKey();
            if (mapped.containsKey(b)) continue;
            String name = b.function().name() + " BAR" + b.index();
            if (b.isMemory()) sb.mapMmio(name, e.getValue(), windows.computeIfAbsent(b, BarWindow::new));
            else sb.mapPorts(name, (int) (long) e.getValue(), (int) b.size(), ioWindows.computeIfAbsent(b, IoWindow::new));
            mapped.put(b, e.getValue());
        }
    }

    private void unmap(SystemBus sb, Bar b) {
        if (b.isMemory()) sb.unmapMmio(windows.get(b));
        else sb.unmapPorts(ioWindows.get(b));
    }

    /** True if [address, address + size) is inside the physical address space and every bridge above forwards it. */
    private static boolean reachable(PciFunction f, long address, long size, boolean memory) {
        if (address < 0 || address + size < address || address + size > (1L << 52)) return false;
        PciBus b = f.bus();
        for (int depth = 0; b != null && !b.isRoot() && depth < 256; depth++) {
            PciBridge br = b.upstream();
            if (memory ? !br.forwardsMemory(address, size) : !br.forwardsIo(address, size)) return false;
            b = br.bus();
        }
        return b != null;
    }

    /** Where BARs are currently mapped (for diagnostics and tests). */
    public synchronized Map<Bar, Long> decodedBars() {
        return Map.copyOf(new HashMap<>(mapped));
    }

    private record BarWindow(Bar bar) implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            return bar.function().barRead(bar, offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            bar.function().barWrite(bar, offset, size, value);
        }

        @Override
        public long length() {
            return bar.size();
        }
    }

    private record IoWindow(Bar bar) implements PortIoDevice {
        @Override
        public long in(int port, int size) {
            PortIoDevice d = bar.ioHandler();
            return d == null ? PciFunction.allOnes(size) : d.in(port, size);
        }

        @Override
        public void out(int port, int size, long value) {
            PortIoDevice d = bar.ioHandler();
            if (d != null) d.out(port, size, value);
        }
    }

    // ---- INTx ------------------------------------------------------------------------------

    /** Where INTx lines go (an I/O APIC later; a {@link dev.vtd.platform.interrupt.GsiRecorder} in tests). */
    public synchronized void setGsiSink(GsiSink sink) {
        gsiSink = sink == null ? (gsi, level) -> {} : sink;
    }

    /** True while at least one function asserts the line. */
    public synchronized boolean lineAsserted(int gsi) {
        return lineUsers.getOrDefault(gsi, 0) > 0;
    }

    void intxChanged(PciFunction f) {
        int raise = -1, lower = -1;
        GsiSink sink;
        synchronized (this) {
            sink = gsiSink;
            boolean want = f.intxAsserted();
            if (want && f.assertedGsi < 0) {
                PciSegment s = f.segment();
                int gsi = s == null ? -1 : s.intxGsi(f);
                if (gsi >= 0) {
                    f.assertedGsi = gsi;
                    if (lineUsers.merge(gsi, 1, Integer::sum) == 1) raise = gsi;
                }
            } else if (!want && f.assertedGsi >= 0) {
                int gsi = f.assertedGsi;
                f.assertedGsi = -1;
                if (lineUsers.merge(gsi, -1, Integer::sum) == 0) {
                    lineUsers.remove(gsi);
                    lower = gsi;
                }
            }
        }
        if (raise >= 0) sink.setLevel(raise, true);
        if (lower >= 0) sink.setLevel(lower, false);
    }
}

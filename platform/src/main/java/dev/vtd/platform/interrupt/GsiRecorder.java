package dev.vtd.platform.interrupt;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Records the level of every interrupt line and each transition, for tests and traces. */
public final class GsiRecorder implements GsiSink {
    /** One level change. */
    public record Edge(int gsi, boolean asserted) {}

    private final Map<Integer, Boolean> levels = new TreeMap<>();
    private final List<Edge> edges = new ArrayList<>();

    @Override
    public synchronized void setLevel(int gsi, boolean asserted) {
        levels.put(gsi, asserted);
        edges.add(new Edge(gsi, asserted));
    }

    public synchronized boolean level(int gsi) {
        return levels.getOrDefault(gsi, false);
    }

    public synchronized List<Edge> edges() {
        return List.copyOf(edges);
    }

    /** How many times the line went from deasserted to asserted. */
    public synchronized int assertions(int gsi) {
        return (int) edges.stream().filter(e -> e.gsi() == gsi && e.asserted()).count();
    }

    public synchronized void clear() {
        edges.clear();
    }
}

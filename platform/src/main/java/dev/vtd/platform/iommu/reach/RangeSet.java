package dev.vtd.platform.iommu.reach;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Host-physical address ranges with read and write permission, coalesced: ranges that touch or
 * overlap merge, and where a readable and a writable range overlap the overlap is read-write. Built
 * by adding pieces in any order; immutable once {@link Builder#build() built}.
 */
public final class RangeSet {
    public static final int R = 1, W = 2;

    /** One coalesced range [base, end) with its permissions ({@link #R} | {@link #W}). */
    public record Range(long base, long end, int perms) {
        public long size() {
            return end - base;
        }

        public boolean readable() {
            return (perms & R) != 0;
        }

        public boolean writable() {
            return (perms & W) != 0;
        }

        public String permString() {
            return (readable() ? "r" : "-") + (writable() ? "w" : "-");
        }

        @Override
        public String toString() {
            return String.format("0x%x-0x%x %s", base, end - 1, permString());
        }
    }

    public static final RangeSet EMPTY = new RangeSet(List.of());

    private final List<Range> ranges;

    private RangeSet(List<Range> ranges) {
        this.ranges = ranges;
    }

    public List<Range> ranges() {
        return ranges;
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Total bytes covered. */
    public long bytes() {
        long n = 0;
        for (Range r : ranges) n += r.size();
        return n;
    }

    /** The parts of this set inside [base, end). */
    public RangeSet within(long base, long end) {
        List<Range> out = new ArrayList<>();
        for (Range r : ranges) {
            long b = Math.max(r.base(), base), e = Math.min(r.end(), end);
            if (b < e) out.add(new Range(b, e, r.perms()));
        }
        return new RangeSet(List.copyOf(out));
    }

    /** The parts of this set outside every range of {@code other}. */
    public RangeSet minus(RangeSet other) {
        List<Range> out = new ArrayList<>();
        for (Range r : ranges) {
            long cur = r.base();
            for (Range o : other.ranges) {
                if (o.end() <= cur || o.base() >= r.end()) continue;
                if (o.base() > cur) out.add(new Range(cur, o.base(), r.perms()));
                cur = Math.max(cur, o.end());
                if (cur >= r.end()) break;
            }
            if (cur < r.end()) out.add(new Range(cur, r.end(), r.perms()));
        }
        return new RangeSet(List.copyOf(out));
    }

    /** Collects pieces; ranges are unsigned 64-bit addresses below 2^63 (wider ones are clipped there). */
    public static final class Builder {
        private long[] base = new long[16], end = new long[16];
        private int[] perms = new int[16];
        private int n;

        public Builder add(long b, long size, int p) {
            if (size <= 0 || p == 0 || b < 0) return this;
            long e = b + size < b || b + size < 0 ? Long.MAX_VALUE : b + size;
            if (n == base.length) {
                base = Arrays.copyOf(base, n * 2);
                end = Arrays.copyOf(end, n * 2);
                perms = Arrays.copyOf(perms, n * 2);
            }
            base[n] = b;
            end[n] = e;
            perms[n] = p & (R | W);
            n++;
            return this;
        }

        public Builder addAll(RangeSet s) {
            for (Range r : s.ranges) add(r.base(), r.size(), r.perms());
            return this;
        }

        public int pieces() {
            return n;
        }

        public RangeSet build() {
            if (n == 0) return EMPTY;
            long[][] readable = union(R), writable = union(W);
            // Merge the two unions into ranges labelled r-, -w or rw.
            long[] points = new long[2 * (readable[0].length + writable[0].length)];
            int k = 0;
            for (long[][] u : new long[][][]{readable, writable}) {
                for (int i = 0; i < u[0].length; i++) {
                    points[k++] = u[0][i];
                    points[k++] = u[1][i];
                }
            }
            Arrays.sort(points);
            List<Range> out = new ArrayList<>();
            for (int i = 0; i + 1 < points.length; i++) {
                long b = points[i], e = points[i + 1];
                if (b == e) continue;
                int p = (covers(readable, b) ? R : 0) | (covers(writable, b) ? W : 0);
                if (p != 0) append(out, b, e, p);
            }
            return new RangeSet(List.copyOf(out));
        }

        /** The union of the pieces carrying {@code perm}, as sorted disjoint [starts[i], ends[i]). */
        private long[][] union(int perm) {
            int m = 0;
            for (int i = 0; i < n; i++) if ((perms[i] & perm) != 0) m++;
            long[] starts = new long[m], ends = new long[m];
            for (int i = 0, j = 0; i < n; i++) {
                if ((perms[i] & perm) != 0) {
                    starts[j] = base[i];
                    ends[j++] = end[i];
                }
            }
            Arrays.sort(starts);
            Arrays.sort(ends);
            long[] ub = new long[m], ue = new long[m];
            int u = 0, open = 0, si = 0, ei = 0;
            long cur = 0;
            while (si < m || ei < m) {
                if (si < m && starts[si] <= ends[ei]) {
                    if (open++ == 0) cur = starts[si];
                    si++;
                } else {
                    if (--open == 0) {
                        if (u > 0 && ue[u - 1] >= cur) {
                            ue[u - 1] = Math.max(ue[u - 1], ends[ei]);
                        } else {
                            ub[u] = cur;
                            ue[u++] = ends[ei];
                        }
                    }
                    ei++;
                }
            }
            return new long[][]{Arrays.copyOf(ub, u), Arrays.copyOf(ue, u)};
        }

        private static boolean covers(long[][] union, long at) {
            int i = Arrays.binarySearch(union[0], at);
            if (i < 0) i = -i - 2;
            return i >= 0 && at < union[1][i];
        }

        private static void append(List<Range> out, long b, long e, int p) {
            if (!out.isEmpty()) {
                Range last = out.getLast();
                if (last.end() == b && last.perms() == p) {
                    out.set(out.size() - 1, new Range(last.base(), e, p));
                    return;
                }
            }
            out.add(new Range(b, e, p));
        }
    }
}

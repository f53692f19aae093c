package dev.vtd.platform.iommu.regs;

import java.util.function.LongFunction;

/** A named bit range hi:lo of a 64-bit register, with a meaning for humans. */
public record BitField(String name, int hi, int lo, String title, LongFunction<String> meaning) {
    public BitField {
        if (lo < 0 || hi < lo || hi > 63) throw new IllegalArgumentException(name + " bits " + hi + ":" + lo);
    }

    public long mask() {
        return (hi - lo == 63 ? -1L : ((1L << (hi - lo + 1)) - 1)) << lo;
    }

    public long get(long raw) {
        return (raw & mask()) >>> lo;
    }

    /** Returns raw with this field set to value; a value that does not fit is an error. */
    public long set(long raw, long value) {
        long max = mask() >>> lo;
        if ((value & ~max) != 0) {
            throw new IllegalArgumentException(String.format("%s: value 0x%x does not fit bits %d:%d", name, value, hi, lo));
        }
        return (raw & ~mask()) | (value << lo);
    }

    public String bits() {
        return hi == lo ? Integer.toString(lo) : hi + ":" + lo;
    }

    public String describe(long raw) {
        return meaning.apply(get(raw));
    }

    static String yesNo(long v) {
        return v != 0 ? "1 (supported)" : "0 (not supported)";
    }
}

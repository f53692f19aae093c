package dev.vtd.cli;

import dev.vtd.vmm.perf.IoPaths;
import dev.vtd.vmm.perf.IoPaths.Path;
import dev.vtd.vmm.perf.IoPaths.Result;

import java.io.PrintWriter;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code vtd demo --io-paths}: the seeds' Figure 2 ("Software Emulation based I/O vs. Hardware based Direct
 * Assignment I/O") told on the model: the same guest workload on an emulated e1000, on virtio-net and on an
 * assigned I350, each checked to deliver the same frames intact, with the exits and copies each path costs.
 */
final class IoPathsDemo {
    static final int SIZE = 1500, PACKETS = 64;

    private IoPathsDemo() {
    }

    /** Prints the story; returns false if any check failed. */
    static boolean run(PrintWriter out) {
        out.println("vtd demo --io-paths: one guest workload (loop-back round trips of " + SIZE + "-byte frames, "
                + PACKETS + " packets) on three I/O paths of the Dell R630 model");
        Map<Path, Result> r = new EnumMap<>(Path.class);
        boolean ok = true;
        for (Path p : new Path[]{Path.EMULATED, Path.VIRTIO, Path.ASSIGNED}) {
            out.println();
            out.println("== " + p.label);
            try {
                Result x = IoPaths.measure(p, SIZE, PACKETS);
                r.put(p, x);
                out.printf(Locale.ROOT, "   every frame came back intact (%d of %d)%n", x.packets(), x.packets());
                out.printf(Locale.ROOT, "   per packet: %.2f VM exits (%.2f MMIO, %.2f interrupt kicks), %.2f injections, "
                                + "%.2f copies (%.0f bytes), %.2f interrupts%n", x.perPacket(x.exits()), x.perPacket(x.mmioExits()),
                        x.perPacket(x.kickExits()), x.perPacket(x.injections()), x.perPacket(x.copies()),
                        x.perPacket(x.bytesCopied()), x.perPacket(x.interrupts()));
            } catch (RuntimeException e) {
                out.println("   [FAIL] " + e.getMessage());
                ok = false;
            }
        }
        if (r.size() != 3) return false;
        Result emu = r.get(Path.EMULATED), pv = r.get(Path.VIRTIO), dev = r.get(Path.ASSIGNED);
        out.println();
        out.println("== The claim, checked");
        ok &= check(out, emu.exits() > pv.exits() && pv.exits() > 0,
                String.format(Locale.ROOT, "emulation exits most (%.2f/packet), virtio fewer (%.2f/packet)",
                        emu.perPacket(emu.exits()), pv.perPacket(pv.exits())));
        ok &= check(out, dev.exits() == 0 && dev.injections() == 0,
                "the assigned NIC needs no VM exit and no injection: BARs mapped, DMA remapped, interrupts posted");
        ok &= check(out, emu.copies() == 2 * emu.packets() && pv.copies() == 2 * pv.packets() && dev.copies() == 0,
                "the VMM copies every frame each way on the software paths; the assigned device moves it by DMA");
        return ok;
    }

    private static boolean check(PrintWriter out, boolean ok, String what) {
        out.println((ok ? "   [ok]   " : "   [FAIL] ") + what);
        return ok;
    }
}

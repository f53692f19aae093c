package dev.vtd.vmm.perf;

import dev.vtd.vmm.perf.IoPaths.Path;
import dev.vtd.vmm.perf.IoPaths.Result;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The seeds' claim in counts (their Figure 2): emulation pays exits and copies per packet, paravirtualization
 * fewer, direct assignment none; every path delivers the same frames intact (measure() throws otherwise).
 */
class IoPathsTest {
    static Map<Path, Result> run(int size) {
        Map<Path, Result> out = new EnumMap<>(Path.class);
        for (Path p : Path.values()) if (size <= p.maxFrame()) out.put(p, IoPaths.measure(p, size, 64));
        return out;
    }

    @Test
    void exitsPerPacketFallFromEmulationToParavirtualizationToAssignment() {
        Map<Path, Result> r = run(1500);
        Result emu = r.get(Path.EMULATED), pv = r.get(Path.VIRTIO), dev = r.get(Path.ASSIGNED);
        assertEquals(64, emu.packets());
        // e1000 per round trip: TDT write, ICR read for TXDW, the RX kick, ICR read, RDT write
        assertEquals(5.0, emu.perPacket(emu.exits()), 0.01, emu.toString());
        assertTrue(pv.perPacket(pv.exits()) < emu.perPacket(emu.exits()), pv.toString());
        assertTrue(pv.perPacket(pv.exits()) > 0, "virtio still exits for notifications and interrupt kicks");
        assertEquals(0, dev.exits(), "assigned: BARs mapped into the guest, interrupts posted");
        assertEquals(0, dev.injections());
    }

    @Test
    void theVmmCopiesEachFrameOnceEachWayOnSoftwarePathsAndNeverOnAssignment() {
        Map<Path, Result> r = run(1500);
        for (Path p : new Path[]{Path.EMULATED, Path.VIRTIO}) {
            assertEquals(2.0, r.get(p).perPacket(r.get(p).copies()), 0.01, p.label);
            assertEquals(2.0 * 1500, r.get(p).perPacket(r.get(p).bytesCopied()), 0.01, p.label);
        }
        assertEquals(0, r.get(Path.ASSIGNED).copies());
        assertEquals(0, r.get(Path.NATIVE).copies());
    }

    @Test
    void passThroughTranslatesNothingWhileADmaDomainWalksOnMisses() {
        Map<Path, Result> r = run(64);
        assertEquals(0, r.get(Path.NATIVE_PT).iotlbMisses(), "identity domain: pass-through context entries");
        assertTrue(r.get(Path.ASSIGNED).packets() > 0);
    }

    @Test
    void jumboFramesRunOnTheSoftwarePathsOnly() {
        Result emu = IoPaths.measure(Path.EMULATED, 9000, 16);
        assertEquals(16, emu.packets());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IoPaths.measure(Path.ASSIGNED, 9000, 8));
        assertEquals("frame size 9000 is outside 60..2048 for assigned I350", e.getMessage());
    }
}

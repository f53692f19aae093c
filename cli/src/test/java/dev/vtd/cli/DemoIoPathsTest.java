package dev.vtd.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd demo --io-paths}: the three paths deliver the same frames and the claim's checks hold. */
class DemoIoPathsTest {
    @Test
    void theThreePathsDeliverIntactFramesAndOnlyTheAssignedOneRunsWithoutExits() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute("demo", "--io-paths");
        assertEquals(0, rc, out + "\n" + err);
        String o = out.toString();
        assertEquals(3, o.lines().filter(l -> l.equals("   every frame came back intact (64 of 64)")).count(), o);
        assertEquals(3, o.lines().filter(l -> l.startsWith("   [ok]   ")).count(), o);
        assertFalse(o.contains("[FAIL]"), o);
        assertTrue(o.contains("   per packet: 5.00 VM exits (4.00 MMIO, 1.00 interrupt kicks)"), o);
    }
}

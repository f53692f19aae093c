package dev.vtd.vmm;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

class SeedsDemoTest {
    @Test
    void theSeedsStoryVerifiesEveryStep() {
        StringWriter sw = new StringWriter();
        boolean ok = SeedsDemo.run(new PrintWriter(sw));
        assertTrue(ok, sw.toString());
        assertFalse(sw.toString().contains("[FAIL]"));
        assertTrue(sw.toString().contains("DMAR: [DMA Write NO_PASID] Request device [01:00.3]"), sw.toString());
        assertTrue(SeedsDemo.script().contains("virsh start vm1"));
    }
}

package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.regs.Cap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cases of kvm-unit-tests' x86/intel-iommu.c, written as qtest scripts (src/test/resources/qtest)
 * and run against {@code -machine q35 -device intel-iommu,intremap=on -device edu,addr=04.0}.
 * Interrupts are observed where the test observes them: at the local APIC.
 */
class KvmUnitTestsIntelIommuTest {
    private Machine machine;
    private QtestSession session;

    @BeforeEach
    void setUp() {
        machine = QtestSessionTest.q35();
        session = new QtestSession(machine);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    private void script(String name) throws IOException {
        List<String> mismatches = QtestScript.run(session, name);
        assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
    }

    private long readq(long addr) {
        String r = session.execute(String.format("readq 0x%x", addr));
        assertTrue(r.startsWith("OK 0x"), r);
        return Long.parseUnsignedLong(r.substring(5), 16);
    }

    @Test
    void vtdInitEnablesQueuedInvalidationRootTableIrTableDmarAndIrWithoutFaults() throws IOException {
        script("kut-init.qtest");
        int gsts = (int) (readq(0xFED9_0018L) >>> 32);
        assertEquals(0, (int) (readq(0xFED9_0030L) >>> 32), "fault status check");
        for (int bit : new int[] {31, 30, 26, 25, 24}) {
            assertTrue((gsts >>> bit & 1) == 1, "GSTS bit " + bit + " (TES, RTPS, QIES, IRES, IRTPS)");
        }
        Cap cap = new Cap(readq(0xFED9_0008L));
        assertTrue(cap.supportsLevels(3), "DMAR support 39 bits address width");
        assertTrue((cap.sllps() & 1) != 0, "DMAR support huge pages");
    }

    @Test
    void dmaMemcpyOfFourBytesGoesThroughTheMappedPage() throws IOException {
        script("kut-dma-memcpy.qtest");
        assertEquals(0x12345678L, machine.memory().read32(0x20_0004L) & 0xFFFF_FFFFL);
    }

    @Test
    void msiInRemappableFormatArrivesAtTheLocalApicWithTheIrtesVector() throws IOException {
        script("kut-init.qtest");
        script("kut-ir-msi.qtest");
        List<LocalApic.Accepted> got = machine.interrupts().localApic(0).accepted();
        assertEquals(1, got.size(), got.toString());
        assertEquals(0x44, got.getFirst().vector());
        assertEquals(false, got.getFirst().levelTriggered());
        assertEquals(false, got.getFirst().logical());
        assertEquals(0, machine.units().getFirst().hardware().faults().history().size(), "no fault recorded");
    }

    @Test
    void ioapicPinInRemappableFormatArrivesAtTheLocalApicLevelTriggered() throws IOException {
        script("kut-init.qtest");
        script("kut-ir-ioapic.qtest");
        List<LocalApic.Accepted> got = machine.interrupts().localApic(0).accepted();
        assertEquals(1, got.size(), got.toString());
        assertEquals(0x55, got.getFirst().vector());
        assertTrue(got.getFirst().levelTriggered());
        assertEquals(0, machine.units().getFirst().hardware().faults().history().size(), "no fault recorded");
    }
}

package dev.vtd.platform.interrupt;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Local APIC destination matching, lowest-priority arbitration, IOAPIC registers and pins (SDM 10; 82093AA). */
class InterruptControllerTest {
    private final InterruptFabric fabric = new InterruptFabric();

    private static InterruptMessage msg(int dest, int vector, int dm, boolean logical, boolean x2) {
        return new InterruptMessage(dest, vector, dm, logical, false, false, x2, false);
    }

    @Test
    void physicalDestinationReachesOnlyThatApicAndBroadcastReachesAll() {
        for (int i = 0; i < 3; i++) fabric.addLocalApic(LocalApic.xapic(i));
        fabric.deliver(msg(1, 0x30, 0, false, false));
        fabric.deliver(msg(0xFF, 0x31, 0, false, false));
        assertEquals(List.of(0x30, 0x31), fabric.localApic(1).accepted().stream().map(LocalApic.Accepted::vector).toList());
        assertEquals(1, fabric.localApic(0).accepted().size());
    }

    @Test
    void flatLogicalDestinationIsABitmask() {
        fabric.addLocalApic(LocalApic.xapic(0).logical(0x01, LocalApic.LogicalModel.FLAT));
        fabric.addLocalApic(LocalApic.xapic(1).logical(0x02, LocalApic.LogicalModel.FLAT));
        fabric.addLocalApic(LocalApic.xapic(2).logical(0x04, LocalApic.LogicalModel.FLAT));
        fabric.deliver(msg(0x05, 0x30, 0, true, false));
        assertEquals(1, fabric.localApic(0).accepted().size());
        assertEquals(0, fabric.localApic(1).accepted().size());
        assertEquals(1, fabric.localApic(2).accepted().size());
    }

    @Test
    void clusterLogicalDestinationMatchesClusterAndMemberBits() {
        fabric.addLocalApic(LocalApic.xapic(0).logical(0x11, LocalApic.LogicalModel.CLUSTER));
        fabric.addLocalApic(LocalApic.xapic(1).logical(0x21, LocalApic.LogicalModel.CLUSTER));
        fabric.deliver(msg(0x23, 0x30, 0, true, false));
        assertEquals(0, fabric.localApic(0).accepted().size());
        assertEquals(1, fabric.localApic(1).accepted().size());
    }

    @Test
    void x2apicLogicalIdIsClusterAndBitFromTheApicId() {
        LocalApic a = fabric.addLocalApic(LocalApic.x2apic(0x23));       // cluster 2, bit 3
        assertEquals(0x0002_0008, a.x2apicLogicalId());
        fabric.deliver(msg(0x0002_0008, 0x30, 0, true, true));
        fabric.deliver(msg(0x0001_0008, 0x31, 0, true, true));
        assertEquals(1, a.accepted().size());
    }

    @Test
    void lowestPriorityPicksLowestTaskPriorityThenLowestId() {
        for (int i = 0; i < 3; i++) fabric.addLocalApic(LocalApic.xapic(i).logical(0x07 & (1 << i), LocalApic.LogicalModel.FLAT));
        fabric.localApic(0).setTaskPriority(0x20);
        fabric.deliver(msg(0x07, 0x30, InterruptMessage.DM_LOWEST_PRIORITY, true, false));
        assertEquals(1, fabric.localApic(1).accepted().size());          // 1 and 2 tie at TPR 0: lowest ID
        assertEquals(0, fabric.localApic(2).accepted().size());
        assertEquals(0, fabric.localApic(0).accepted().size());
    }

    @Test
    void undeliverableMessagesAreKept() {
        fabric.addLocalApic(LocalApic.xapic(0));
        fabric.deliver(msg(9, 0x30, 0, false, false));
        assertEquals(1, fabric.undelivered().size());
    }

    // ---- IOAPIC ----------------------------------------------------------------------------

    private final List<long[]> requests = new ArrayList<>();
    private final IoApic io = new IoApic(2, 0xF0F8, (sid, a, d) -> requests.add(new long[]{sid, a, d}));

    @Test
    void versionRegisterReports0x20And24Pins() {
        io.write(IoApic.IOREGSEL, 4, IoApic.REG_VER);
        assertEquals(0x00170020, io.read(IoApic.IOWIN, 4));
        io.write(IoApic.IOREGSEL, 4, IoApic.REG_ID);
        assertEquals(2 << 24, io.read(IoApic.IOWIN, 4));
    }

    @Test
    void redirectionEntriesResetMaskedAndReadBackThroughIowin() {
        assertEquals(IoApic.RTE_MASK, io.redirection(5));
        io.write(IoApic.IOREGSEL, 4, 0x10 + 2 * 5 + 1);
        io.write(IoApic.IOWIN, 4, 0x0300_0000L);
        io.write(IoApic.IOREGSEL, 4, 0x10 + 2 * 5);
        io.write(IoApic.IOWIN, 4, 0x0000_8031L | IoApic.RTE_REMOTE_IRR);    // remote IRR is read-only
        assertEquals(0x0300_0000_0000_8031L, io.redirection(5));
    }

    @Test
    void edgePinFiresOnAssertionOnlyWithTheIoapicSourceId() {
        io.setRedirection(3, IoApic.compatibilityEntry(0x33, 1, false, 0, false));
        io.setPin(3, true);
        io.setPin(3, true);
        io.setPin(3, false);
        io.setPin(3, true);
        assertEquals(2, requests.size());
        assertEquals(0xF0F8, requests.getFirst()[0]);
        assertEquals(0xFEE01000L, requests.getFirst()[1]);
        assertEquals(0x33, requests.getFirst()[2] & 0xFF);
    }

    @Test
    void levelPinSetsRemoteIrrAndRefiresAfterEoiWhileAsserted() {
        io.setRedirection(4, IoApic.compatibilityEntry(0x34, 0, false, 0, true));
        io.setPin(4, true);
        io.setPin(4, true);
        assertEquals(1, requests.size());
        assertNotEquals(0, io.redirection(4) & IoApic.RTE_REMOTE_IRR);
        io.eoi(0x34);
        assertEquals(2, requests.size());
        io.setPin(4, false);
        io.eoi(0x34);
        assertEquals(2, requests.size());
        assertEquals(0, io.redirection(4) & IoApic.RTE_REMOTE_IRR);
    }

    @Test
    void unmaskingAnAssertedLevelPinDeliversIt() {
        io.setRedirection(6, IoApic.compatibilityEntry(0x36, 0, false, 0, true) | IoApic.RTE_MASK);
        io.setPin(6, true);
        assertEquals(0, requests.size());
        io.setRedirection(6, IoApic.compatibilityEntry(0x36, 0, false, 0, true));
        assertEquals(1, requests.size());
    }

    @Test
    void remappableEntryProducesARemappableRequestWithTheIndex() {
        io.setRedirection(7, IoApic.remappableEntry(0x8123, 0x37, false));
        io.setPin(7, true);
        long a = requests.getFirst()[1];
        assertEquals(1L << 4, a & (1L << 4));
        assertEquals(0x123, (a >>> 5) & 0x7FFF);
        assertEquals(1L << 2, a & (1L << 2));
        assertEquals(0, a & (1L << 3));                                  // SHV = 0
    }

    @Test
    void fabricRoutesGsisToIoapicPinsAndEoiBroadcastsForLevelVectors() {
        fabric.addLocalApic(LocalApic.xapic(0));
        IoApic a = fabric.addIoApic(new IoApic(0, 0xF0F8, (sid, adr, d) -> fabric.deliver(adr, d)), 0);
        IoApic b = fabric.addIoApic(new IoApic(1, 0xF0F0, (sid, adr, d) -> fabric.deliver(adr, d)), 24);
        b.setRedirection(2, IoApic.compatibilityEntry(0x52, 0, false, 0, true));
        fabric.setLevel(26, true);
        assertEquals(0x52, fabric.localApic(0).accepted().getFirst().vector());
        fabric.eoi(0, 0x52);
        assertEquals(2, fabric.localApic(0).accepted().size());              // still asserted: fires again
        fabric.setLevel(26, false);
        fabric.eoi(0, 0x52);
        assertEquals(2, fabric.localApic(0).accepted().size());
        assertEquals(0, a.requestsSent());
    }
}

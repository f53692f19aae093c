package dev.vtd.platform.iommu.reach;

import dev.vtd.platform.iommu.reach.IsolationAudit.Requester;
import dev.vtd.platform.iommu.reach.IsolationAudit.Tenant;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The isolation policy: a device reaches only its own VM's memory or, for the host's devices, host memory. */
class IsolationAuditTest {
    static final int RW = RangeSet.R | RangeSet.W;
    static final RangeSet RAM = set(0, 16L << 30);
    static final RangeSet VM1 = set(8L << 30, 1L << 30), VM2 = set(9L << 30, 1L << 30);
    static final RangeSet TABLES = set(0x100_0000, 0x1_0000);
    static final List<Tenant> VMS = List.of(new Tenant("vm1", VM1), new Tenant("vm2", VM2));
    static final Requester ASSIGNED = new Requester("0000:01:00.3", "vfio-pci", "vm1");
    static final Requester HOST_NIC = new Requester("0000:01:00.0", "igb", null);

    static RangeSet set(long base, long size) {
        return new RangeSet.Builder().add(base, size, RW).build();
    }

    static IsolationAudit.Report audit(RangeSet reach, Requester who) {
        var m = new ReachEnumerator.Mapping(0x0103, ReachEnumerator.NO_PASID, "second-stage, 4-level", 5, reach);
        var unit = new ReachEnumerator.UnitReach(true, false, List.of(m), TABLES, true, 1);
        return IsolationAudit.audit(List.of(unit), RAM, VMS, RangeSet.EMPTY, (u, sid) -> who);
    }

    @Test
    void anAssignedDeviceReachingOnlyItsVmsRamIsClean() {
        var r = audit(set(8L << 30, 64L << 20), ASSIGNED);
        assertTrue(r.clean(), r.toString());
        assertEquals("vm vm1 RAM", r.entries().getFirst().pieces().getFirst().owner());
    }

    @Test
    void anAssignedDeviceReachingAnotherVmsPageIsCaught() {
        RangeSet reach = new RangeSet.Builder().addAll(set(8L << 30, 64L << 20)).add((9L << 30) + 0x5000, 0x1000, RangeSet.W).build();
        var r = audit(reach, ASSIGNED);
        assertFalse(r.clean());
        var v = r.entries().getFirst().violations();
        assertEquals(1, v.size(), v.toString());
        assertEquals("vm vm2 RAM", v.getFirst().owner());
        assertEquals("0x240005000-0x240005fff -w", v.getFirst().range().toString());
    }

    @Test
    void anAssignedDeviceInAnIdentityDomainReachesHostMemoryTheTablesAndOtherVms() {
        var r = audit(RAM, ASSIGNED);
        assertFalse(r.clean());
        var owners = r.entries().getFirst().violations().stream().map(IsolationAudit.Piece::owner).distinct().sorted().toList();
        assertEquals(List.of(IsolationAudit.TABLES, IsolationAudit.HOST, "vm vm2 RAM"), owners);
    }

    @Test
    void aHostDeviceMayReachHostMemoryButNeverAVmsOrTheTables() {
        assertTrue(audit(set(0x200_0000, 0x10_0000), HOST_NIC).clean());
        assertFalse(audit(set(0x100_0000, 0x1000), HOST_NIC).clean(), "the translation structures");
        assertFalse(audit(set(8L << 30, 0x1000), HOST_NIC).clean(), "vm1's RAM");
    }

    @Test
    void theMsiWindowAndMmioAreNotMemoryAnyoneOwns() {
        RangeSet reach = new RangeSet.Builder().addAll(set(0xFEE0_0000L, 0x10_0000)).addAll(set(32L << 30, 0x1000)).build();
        var r = audit(reach, ASSIGNED);
        assertTrue(r.clean(), r.toString());
        assertEquals(List.of(IsolationAudit.MSI_WINDOW, IsolationAudit.NOT_RAM),
                r.entries().getFirst().pieces().stream().map(IsolationAudit.Piece::owner).toList());
    }

    @Test
    void aRequesterNoDeviceAnswersToMayReachNoRam() {
        assertFalse(audit(set(0x200_0000, 0x1000), Requester.UNKNOWN).clean());
    }

    @Test
    void anIncompleteEnumerationIsNeverClean() {
        var m = new ReachEnumerator.Mapping(0x0103, ReachEnumerator.NO_PASID, "x", 5, RangeSet.EMPTY);
        var unit = new ReachEnumerator.UnitReach(true, false, List.of(m), TABLES, false, 1);
        assertFalse(IsolationAudit.audit(List.of(unit), RAM, VMS, RangeSet.EMPTY, (u, s) -> ASSIGNED).clean());
    }
}

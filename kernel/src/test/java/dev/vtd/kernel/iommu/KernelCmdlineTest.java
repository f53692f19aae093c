package dev.vtd.kernel.iommu;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelCmdlineTest {
    @Test
    void intelIommuTakesCommaSeparatedOptionsAndNamesUnknownOnes() {
        KernelCmdline c = KernelCmdline.parse("intel_iommu=on,sm_off,bogus,sp_off");
        assertEquals(KernelCmdline.Switch.ON, c.intelIommu());
        assertEquals(KernelCmdline.Switch.OFF, c.scalableMode());
        assertTrue(c.superpagesOff());
        assertEquals(List.of("DMAR: IOMMU enabled", "DMAR: Unknown option - 'bogus,sp_off'",
                "DMAR: Disable supported super page"), c.messages());
    }

    @Test
    void theLastIntelIommuOnOrOffWins() {
        assertFalse(KernelCmdline.parse("intel_iommu=on intel_iommu=off").iommuEnabled(true));
        assertTrue(KernelCmdline.parse("").iommuEnabled(true));
        assertFalse(KernelCmdline.parse("").iommuEnabled(false));
    }

    @Test
    void iommuPtStrictAndIntremapSwitches() {
        KernelCmdline c = KernelCmdline.parse("iommu=pt iommu.strict=0 intremap=nosid,no_x2apic_optout");
        assertTrue(c.passThroughDefault());
        assertEquals(KernelCmdline.Switch.OFF, c.strict());
        assertTrue(c.intremapNoSid());
        assertTrue(c.intremapNoX2apicOptout());
        assertFalse(c.intremapOff());
        assertTrue(KernelCmdline.parse("intremap=off").intremapOff());
        assertTrue(KernelCmdline.parse("iommu.strict=y").strictDefault());
        assertTrue(KernelCmdline.parse("iommu.passthrough=1").passThroughDefault());
    }

    @Test
    void malformedBooleansAreReportedAndIgnored() {
        KernelCmdline c = KernelCmdline.parse("iommu.strict=maybe");
        assertEquals(KernelCmdline.Switch.DEFAULT, c.strict());
        assertEquals(List.of("Malformed early option 'iommu.strict'"), c.messages());
    }

    @Test
    void unknownParametersAreKeptInOrderIncludingQuotedValues() {
        KernelCmdline c = KernelCmdline.parse("root=/dev/sda1  quiet intel_iommu=on dyndbg=\"file x.c +p\"");
        assertEquals(List.of("root=/dev/sda1", "quiet", "intel_iommu=on", "dyndbg=\"file x.c +p\""), c.params());
        assertEquals(List.of("root=/dev/sda1", "quiet", "dyndbg=\"file x.c +p\""), c.ignoredParams());
    }

    @Test
    void deprecatedIntelIommuStrictSetsStrictWithoutCountingAsIommuStrict() {
        KernelCmdline c = KernelCmdline.parse("intel_iommu=strict");
        assertTrue(c.strictDefault());
        assertTrue(c.strictViaIntelIommu());
    }
}

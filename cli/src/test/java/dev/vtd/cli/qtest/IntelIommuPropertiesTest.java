package dev.vtd.cli.qtest;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CAP/ECAP for -device intel-iommu properties: the values QEMU 7.2 reports (the harness's golden
 * recordings for the first five; the others follow the same vtd_init rules bit by bit).
 */
class IntelIommuPropertiesTest {
    private static IntelIommuProperties props(String spec) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : spec.split(",")) {
            if (kv.isEmpty()) continue;
            String[] p = kv.split("=", 2);
            m.put(p[0], p[1]);
        }
        return IntelIommuProperties.parse("-device intel-iommu," + spec, m);
    }

    private static void assertCaps(String spec, long cap, long ecap) {
        IntelIommuProperties p = props(spec);
        assertEquals(String.format("0x%016x", cap), String.format("0x%016x", p.cap().raw()), "CAP for " + spec);
        assertEquals(String.format("0x%016x", ecap), String.format("0x%016x", p.ecap().raw()), "ECAP for " + spec);
    }

    @Test
    void defaultWithIntremapIsTheRecordedQemu72Pair() {
        assertCaps("intremap=on", 0x00d2008c22260206L, 0xf00f4aL);
        assertCaps("", 0x00d2008c22260206L, 0xf00f4aL);                    // intremap=auto is on under qtest
    }

    @Test
    void awBits48AddsFourLevelTablesAndRaisesMgaw() {
        assertCaps("intremap=on,aw-bits=48", 0x00d2008c222f0606L, 0xf00f4aL);
    }

    @Test
    void cachingModeSetsCm() {
        assertCaps("intremap=on,caching-mode=on", 0x00d2008c22260286L, 0xf00f4aL);
    }

    @Test
    void scalableModeAddsSrsSmtsSlts() {
        assertCaps("intremap=on,x-scalable-mode=on", 0x00d2008c22260206L, 0x0000480080f00f4aL);
        assertCaps("intremap=on,x-scalable-mode=on,x-pasid-mode=on,caching-mode=on", 0x00d2008c22260286L,
                0x0000490080f00f4aL);
    }

    @Test
    void eachOtherPropertyTogglesItsOwnField() {
        assertCaps("intremap=off", 0x00d2008c22260206L, 0x000f42L);          // no IR, no MHMV
        assertCaps("eim=on", 0x00d2008c22260206L, 0xf00f5aL);                // EIM bit 4
        assertCaps("device-iotlb=on", 0x00d2008c22260206L, 0xf00f4eL);       // DT bit 2
        assertCaps("pt=off", 0x00d2008c22260206L, 0xf00f0aL);                // PT bit 6
        assertCaps("snoop-control=on", 0x00d2008c22260206L, 0xf00fcaL);      // SC bit 7
        assertCaps("dma-drain=off", 0x0012008c22260206L, 0xf00f4aL);         // DRD bit 55, DWD bit 54
    }

    @Test
    void versionAndRegisterOffsetsAreQemus() {
        IntelIommuProperties p = props("");
        assertEquals(0x220, p.cap().froBytes());
        assertEquals(0xF0, p.ecap().iroBytes());
        assertEquals(1, p.cap().faultRecordCount());
        assertEquals(39, p.awBits());
    }
}

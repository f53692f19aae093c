package dev.vtd.kernel.drivers;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import dev.vtd.kernel.iommu.Domain;
import dev.vtd.kernel.iommu.IommuException;
import dev.vtd.kernel.iommu.IrqRemapping;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.pci.MsixCapability;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host traffic through the IOMMU: igb's rings and buffers are DMA-API mappings, its interrupt an IRTE. */
class IgbTrafficTest {
    static Host r630(String cmdline) {
        return Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build(), Host.BiosSettings.DEFAULTS, cmdline);
    }

    static byte[] frame(int i) {
        byte[] f = new byte[200 + i];
        for (int k = 0; k < f.length; k++) f[k] = (byte) (i * 7 + k);
        return f;
    }

    @Test
    void loopedBackFramesLandInHostBuffersThroughTranslatedDmaAddresses() {
        try (Host h = r630(Host.DEFAULT_CMDLINE)) {
            h.machine().device("i350", I350Nic.class).port(3).loopback();
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            Domain dom = h.iommu().domainOf(a.device().iommuDev());
            // The NIC sees IOVAs: the ring's DMA address is not its physical address, and the domain maps one to the other.
            assertNotEquals(a.rxRing().cpuAddress(), a.rxRing().dmaAddress());
            assertEquals(a.rxRing().cpuAddress(), dom.iovaToPhys(a.rxRing().dmaAddress()));
            for (int i = 0; i < 5; i++) assertTrue(a.transmit(frame(i)));
            h.run(1_000_000);
            List<byte[]> got = a.takeReceived();
            assertEquals(5, got.size());
            for (int i = 0; i < 5; i++) assertArrayEquals(frame(i), got.get(i));
            assertEquals(5, a.txCompleted());
            assertTrue(a.interrupts() > 0, "queue interrupts taken through the remapped MSI-X");
            var unit = h.machine().unitFor(a.device().function()).hardware();
            assertTrue(unit.stats().dmaRequests() > 0);
        }
    }

    @Test
    void msixIsProgrammedInRemappableFormatNamingAnIrteWithTheDevicesSourceId() {
        try (Host h = r630(Host.DEFAULT_CMDLINE)) {
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            var f = a.device().function();
            MsixCapability x = f.msix();
            assertTrue(x.enabled());
            assertEquals(IrqRemapping.msiAddress(a.irte()), x.entryAddress(0));
            IrqRemapping ir = h.iommu().irqRemapping();
            Irte e = ir.entry(h.iommu().unitFor(a.device().iommuDev()), a.irte());
            assertTrue(e.present());
            assertEquals(a.vector(), e.vector());
            assertEquals(f.rid(), e.sid());
            assertEquals(Irte.SVT_SID, e.svt());
        }
    }

    @Test
    void withoutInterruptRemappingMsixCarriesTheVectorInCompatibilityFormat() {
        try (Host h = r630(Host.DEFAULT_CMDLINE + " intremap=off")) {
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            assertEquals(-1, a.irte());
            assertEquals(0xFEE0_0000L, a.device().function().msix().entryAddress(0));
            assertEquals(a.vector(), a.device().function().msix().entryData(0));
            h.machine().device("i350", I350Nic.class).port(3).loopback();
            a.transmit(frame(1));
            h.run(1_000_000);
            assertArrayEquals(frame(1), a.takeReceived().getFirst());
        }
    }

    @Test
    void aDescriptorPointingAtAnUnmappedIovaFaultsAndIsLogged() {
        try (Host h = r630(Host.DEFAULT_CMDLINE)) {
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            long iova = 0x7f00_0000L;
            a.transmitUnmapped(iova, 64);
            h.run(1_000_000);
            String line = "DMAR: [DMA Read NO_PASID] Request device [01:00.3] fault addr 0x7f000000 [fault reason 0x06]"
                    + " PTE Read access is not set";
            assertTrue(h.log().messages().stream().anyMatch(l -> l.startsWith("DMAR: [DMA Read NO_PASID] Request device [01:00.3] fault addr 0x7f000000")),
                    String.join("\n", h.log().grepMessages("DMAR: [")) + "\nexpected like: " + line);
        }
    }

    @Test
    void unbindingQuiescesTheNicAndReturnsEveryMapping() {
        try (Host h = r630(Host.DEFAULT_CMDLINE)) {
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            int used = h.kernel().pages().pagesInUse();
            long rxDma = a.rxBufferDma(0);
            var unit = h.iommu().unitFor(a.device().iommuDev());
            int irtes = h.iommu().irqRemapping().entriesInUse(unit);
            h.kernel().pci().unbind("igb", "0000:01:00.3");
            assertTrue(h.kernel().pages().pagesInUse() < used);
            assertTrue(!a.device().function().busMasterEnabled());
            assertEquals(irtes - 1, h.iommu().irqRemapping().entriesInUse(unit));
            Domain dom = h.iommu().domainOf(a.device().iommuDev());
            h.run(20_000_000);   // the flush queue's timeout passes: lazy unmaps are done
            assertEquals(-1, dom.iovaToPhys(rxDma));
        }
    }

    @Test
    void vtdOffInTheBiosGivesUntranslatedDmaThatStillWorks() {
        try (Host h = Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build(), new Host.BiosSettings(false),
                Host.DEFAULT_CMDLINE)) {
            h.machine().device("i350", I350Nic.class).port(3).loopback();
            IgbDriver.Adapter a = h.kernel().igb("01:00.3");
            assertEquals(a.rxRing().cpuAddress(), a.rxRing().dmaAddress());
            a.transmit(frame(2));
            h.run(1_000_000);
            assertTrue(Arrays.equals(frame(2), a.takeReceived().getFirst()));
        }
    }

    @Test
    void aDeviceWithAnRmrrIsRefusedAnUnmanagedDomainUnlessUsb() {
        try (Host h = r630(Host.DEFAULT_CMDLINE)) {
            var usb = h.kernel().pci().device("00:1a.0").iommuDev();
            assertTrue(!h.iommu().rmrrsFor(usb).isEmpty());
            Domain d = h.iommu().allocDomain(Domain.Type.UNMANAGED, usb);
            h.iommu().attach(usb, d);   // USB RMRRs are relaxable
            assertEquals(d, h.iommu().domainOf(usb));
        }
        try (dev.vtd.kernel.R630 m = new dev.vtd.kernel.R630()) {
            var s = m.builder("intel_iommu=on").boot();
            var usb = dev.vtd.kernel.iommu.PciDev.of(0, 0x1a, 0);
            s.probeDevice(usb);
            Domain d = s.allocDomain(Domain.Type.UNMANAGED, usb);
            IommuException e = assertThrows(IommuException.class, () -> s.attach(usb, d));
            assertTrue(e.getMessage().contains("RMRR"));
            assertEquals(List.of("pci 0000:00:1a.0: Device is ineligible for IOMMU domain attach due to platform RMRR"
                    + " requirement.  Contact your platform vendor."), m.log.grepMessages("ineligible"));
        }
    }
}

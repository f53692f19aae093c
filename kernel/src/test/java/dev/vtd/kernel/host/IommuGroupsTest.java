package dev.vtd.kernel.host;

import dev.vtd.firmware.machine.MachineBuilder;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.pci.AcsCapability;
import dev.vtd.platform.pci.HostBridge;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Group formation as pci_device_group does it: DMA aliases, ACS on the path, multifunction devices, VFs. */
class IommuGroupsTest {
    static final PciIds ROOT_PORT = PciIds.of(0x8086, 0x2f02, 0x060400, 2);

    /** A q35-layout machine (one INCLUDE_PCI_ALL unit) with a custom PCI tree. */
    static Host boot(MachineBuilder.PciPopulator pci) {
        Host.MachineFactory f = b -> Presets.q35(256L << 20, new Cap(0x00d2008c22260206L), new Ecap(0xf00f4aL), 39, true,
                List.of()).vtdEnabledInBios(b.vtd()).pci(pci).build();
        return Host.boot(f, Host.BiosSettings.DEFAULTS, Host.DEFAULT_CMDLINE);
    }

    static List<String> members(Host h, String bdf) {
        int g = h.kernel().pci().device(bdf).group();
        return h.kernel().groups().members(g).stream().map(d -> d.bdf()).toList();
    }

    static PciBridge acs(PciBridge b) {
        b.addCapability(new AcsCapability(AcsCapability.LINUX_ISOLATION));
        return b;
    }

    @Test
    void aRootPortWithoutAcsGroupsEverythingBelowItWithIt() {
        try (Host h = boot(ctx -> {
            PciBus root = ctx.pci().addSegment(0).addRootBus();
            root.add(0, 0, HostBridge.q35());
            PciBridge rp = root.add(1, 0, PciBridge.rootPort("rp", ROOT_PORT));
            rp.secondaryBus().addDevice(0, new I350Nic("nic", ctx.clock()).functions());
        })) {
            assertEquals(List.of("00:01.0", "01:00.0", "01:00.1", "01:00.2", "01:00.3"), members(h, "01:00.3"));
        }
    }

    @Test
    void anAcsRootPortIsolatesTheFunctionsOfAnAcsMultifunctionDevice() {
        try (Host h = boot(ctx -> {
            PciBus root = ctx.pci().addSegment(0).addRootBus();
            root.add(0, 0, HostBridge.q35());
            PciBridge rp = root.add(1, 0, acs(PciBridge.rootPort("rp", ROOT_PORT)));
            rp.secondaryBus().addDevice(0, new I350Nic("nic", ctx.clock()).functions());
        })) {
            assertEquals(List.of("00:01.0"), members(h, "00:01.0"));
            for (int fn = 0; fn < 4; fn++) assertEquals(List.of("01:00." + fn), members(h, "01:00." + fn));
        }
    }

    @Test
    void functionsOfAMultifunctionDeviceWithoutAcsShareAGroup() {
        try (Host h = boot(ctx -> {
            PciBus root = ctx.pci().addSegment(0).addRootBus();
            root.add(0, 0, HostBridge.q35());
            PciBridge rp = root.add(1, 0, acs(PciBridge.rootPort("rp", ROOT_PORT)));
            rp.secondaryBus().addDevice(0, new I350Nic("nic", ctx.clock(), 4, 0x8086, 1, false).functions());
        })) {
            assertEquals(List.of("01:00.0", "01:00.1", "01:00.2", "01:00.3"), members(h, "01:00.2"));
            assertEquals(List.of("00:01.0"), members(h, "00:01.0"));
        }
    }

    @Test
    void everythingBehindAPcieToPciBridgeSharesTheBridgesGroup() {
        try (Host h = boot(ctx -> {
            PciBus root = ctx.pci().addSegment(0).addRootBus();
            root.add(0, 0, HostBridge.q35());
            PciBridge rp = root.add(1, 0, acs(PciBridge.rootPort("rp", ROOT_PORT)));
            PciBridge br = rp.secondaryBus().add(0, 0, PciBridge.pcieToPci("br", PciIds.of(0x8086, 0x244e, 0x060400, 0xa2)));
            br.secondaryBus().add(1, 0, new PciFunction("a", PciIds.of(0x8086, 0x10b9, 0x020000, 6), false));
            br.secondaryBus().add(2, 0, new PciFunction("b", PciIds.of(0x8086, 0x10b9, 0x020000, 6), false));
        })) {
            assertEquals(List.of("01:00.0", "02:01.0", "02:02.0"), members(h, "02:02.0"));
            assertEquals(List.of("00:01.0"), members(h, "00:01.0"));
        }
    }

    @Test
    void virtualFunctionsBelowAnAcsPortGetGroupsOfTheirOwn() {
        try (Host h = Hosts.r630()) {
            String out = Hosts.sh(h, "echo 2 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs");
            assertEquals("", out);
            var added = h.kernel().pci().devices().stream().filter(d -> d.function().isVirtualFunction()).toList();
            assertEquals(2, added.size());
            assertNotEquals(added.get(0).group(), added.get(1).group());
            for (var vf : added) {
                assertEquals(List.of(vf.bdf()), members(h, vf.bdf()));
                assertTrue(h.log().messages().contains("pci " + vf.name() + ": Adding to iommu group " + vf.group()));
            }
            assertEquals("2\n", Hosts.sh(h, "cat /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"));
            assertEquals("bash: echo: write error: Device or resource busy\n",
                    Hosts.sh(h, "echo 3 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"));
        }
    }

    @Test
    void groupsAreListedInSysfsWithDeviceLinks() {
        try (Host h = Hosts.r630()) {
            assertEquals("0000:01:00.3\n", Hosts.sh(h, "ls /sys/kernel/iommu_groups/10/devices"));
            assertEquals("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.3\n",
                    Hosts.sh(h, "readlink -f /sys/kernel/iommu_groups/10/devices/0000:01:00.3"));
            assertEquals("15\n", Hosts.sh(h, "ls /sys/kernel/iommu_groups | wc -l"));
            assertEquals("../../../../kernel/iommu_groups/10\n",
                    Hosts.sh(h, "readlink /sys/bus/pci/devices/0000:01:00.3/iommu_group"));
        }
    }
}

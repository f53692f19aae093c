package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.Dmar;
import dev.vtd.firmware.acpi.DmarFormatException;
import dev.vtd.firmware.acpi.DmarParser;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.DmarTables;
import dev.vtd.firmware.acpi.PciPath;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Loading machine descriptions: the presets, the DMAR generated from them, and one-line errors. */
class MachineDescriptionTest {
    @Test
    void everyPresetLoadsBuildsAndHasADescription() {
        for (String name : Machines.PRESETS) {
            MachineDescription d = Machines.load(name);
            assertEquals(name, d.name());
            assertFalse(d.description().isBlank(), name);
            try (Machine m = d.builder().build()) {
                assertEquals(d.iommus().size(), m.units().size(), name);
                assertFalse(m.functions().isEmpty(), name);
                assertTrue(m.cpu().hasFlag("vmx"), name);
            }
        }
        assertEquals(List.of("r630", "q35", "desktop"), Machines.presets().stream().map(Machines.Preset::name).toList());
    }

    @Test
    void r630DmarGeneratedFromYamlIsByteForByteTheDellTable() throws DmarFormatException {
        MachineDescription d = Machines.load("r630");
        assertEquals(DmarTables.dellR630(), d.dmar());
        byte[] bytes = d.dmar().encode();
        assertArrayEquals(DmarTables.dellR630().encode(), bytes);
        assertEquals(d.dmar(), DmarParser.parse(bytes, "r630"), "round trip through the parser");
        assertEquals(DmarTables.DELL_R630_ADDRESS, d.firmware().dmarAddress());
    }

    /** The YAML r630 is the machine Presets.r630() builds in code: same functions, ids, bus numbers, units. */
    @Test
    void r630FromYamlIsTheProgrammaticR630() {
        try (Machine yaml = Machines.load("r630").builder().build(); Machine code = Presets.r630().build()) {
            assertEquals(tree(code), tree(yaml));
            assertEquals(code.units().stream().map(u -> u.registerBase() + " " + u.hardware().config()).toList(),
                    yaml.units().stream().map(u -> u.registerBase() + " " + u.hardware().config()).toList());
            assertEquals(code.cpu(), yaml.cpu());
            assertEquals(code.dmar(), yaml.dmar());
            assertEquals(code.dmarAddress(), yaml.dmarAddress());
            for (String bdf : List.of("01:00.0", "01:00.3", "80:02.0", "00:1a.0")) {
                assertEquals(code.unitFor(code.function(bdf)).registerBase(), yaml.unitFor(yaml.function(bdf)).registerBase(), bdf);
            }
            assertNotNull(yaml.device("i350", dev.vtd.platform.devices.I350Nic.class));
        }
    }

    private static List<String> tree(Machine m) {
        return m.functions().stream().map(f -> f.address() + " " + f.ids() + " " + f.isPcie() + " "
                + (f instanceof PciBridge b ? b.kind() + " " + b.secondaryBusNumber() + "-" + b.subordinateBusNumber() : "")).toList();
    }

    @Test
    void q35PresetMatchesQemuDefaults() {
        MachineDescription d = Machines.load("q35");
        assertEquals(1, d.iommus().size());
        assertEquals(0xFED90000L, d.iommus().getFirst().base());
        assertEquals(0x00d2008c22260206L, d.iommus().getFirst().cap().raw());
        assertEquals(0xf00f4aL, d.iommus().getFirst().ecap().raw());
        DmarTable t = d.dmar();
        assertEquals(39, t.hostAddressWidth());
        assertEquals(Dmar.FLAG_INTR_REMAP | Dmar.FLAG_X2APIC_OPT_OUT, t.flags());
        assertEquals(List.of(new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xFED90000L,
                List.of(DeviceScope.ioapic(0, 0xFF, 0, 0)))), t.structures());
        assertEquals("BOCHS", t.oemIdText().trim());
        try (Machine m = d.builder().build()) {
            assertEquals(0x1234, m.function("00:04.0").ids().vendorId(), "edu at 00:04.0");
            assertEquals(0xFED90000L, m.unitFor(m.function("00:04.0")).registerBase());
        }
    }

    @Test
    void desktopScopesNameTheGpuThroughItsRootPortAndTheXhciInTheRmrr() {
        MachineDescription d = Machines.load("desktop");
        DmarTable t = d.dmar();
        DmarStructure.Drhd gfx = t.drhds().getFirst();
        assertFalse(gfx.includePciAll());
        assertEquals(List.of(new DeviceScope(DeviceScope.TYPE_PCI_ENDPOINT, 0, 0, 0,
                List.of(new PciPath(1, 0), new PciPath(0, 0)))), gfx.scopes(), "start bus 0, path 01.0 then 00.0");
        assertTrue(t.drhds().get(1).includePciAll());
        DmarStructure.Rmrr rmrr = t.structuresOf(DmarStructure.Rmrr.class).getFirst();
        assertEquals(List.of(DeviceScope.endpoint(0, 0x14, 0)), rmrr.scopes());
        try (Machine m = d.builder().build()) {
            PciFunction gpu = m.function("01:00.0");
            assertEquals(0x10de, gpu.ids().vendorId());
            assertEquals(0xFED90000L, m.unitFor(gpu).registerBase(), "the graphics unit owns the GPU");
            PciFunction nic = m.device("nic", dev.vtd.platform.devices.I350Nic.class).port(1).function();
            assertEquals(0xFED91000L, m.unitFor(nic).registerBase());
            PciFunction legacy1 = m.device("legacy1", dev.vtd.platform.devices.CopyEngine.class).function();
            PciFunction legacy0 = m.device("legacy0", dev.vtd.platform.devices.CopyEngine.class).function();
            assertNull(legacy1.msi(), "INTx only");
            assertEquals(m.pci().segment(0).intxGsi(legacy0), m.pci().segment(0).intxGsi(legacy1), "one shared INTx line");
            assertTrue(m.pci().segment(0).intxGsi(legacy0) >= 16);
        }
    }

    // ------------------------------------------------------------------ errors

    private static final String MINIMAL = """
            name: tiny
            memory:
              - {base: 0, size: 64M}
            iommus:
              - id: dmar0
                base: 0xfed90000
                cap: 0x00d2008c22260206
                ecap: 0xf00f4a
                include_pci_all: true
            pci:
              - id: host
                kind: host-bridge
                children:
                  - {id: rp, kind: root-port, at: "01.0", children: [{id: e, kind: device, model: edu, at: "00.0"}]}
                  - {id: e2, kind: device, model: edu, at: "02.0"}
            """;

    private static MachineDescriptionException fails(String yaml) {
        return assertThrows(MachineDescriptionException.class, () -> MachineDescription.parse(yaml, "t.yaml"));
    }

    @Test
    void minimalDescriptionLoads() {
        MachineDescription d = MachineDescription.parse(MINIMAL, "t.yaml");
        assertEquals("tiny", d.name());
        assertEquals(39, d.hostAddressWidth());
    }

    @Test
    void badHexNumberNamesFileLineAndField() {
        var e = fails(MINIMAL.replace("cap: 0x00d2008c22260206", "cap: 0xzz"));
        assertEquals("t.yaml:7: field 'iommus[0].cap': '0xzz' is not a hex number", e.getMessage());
        assertEquals(7, e.line());
    }

    @Test
    void badNumberWithUnitIsRejected() {
        var e = fails(MINIMAL.replace("size: 64M", "size: 64Q"));
        assertEquals("t.yaml:3: field 'memory[0].size': '64Q' is not a number (decimal, 0x hex, or with K/M/G/T)", e.getMessage());
    }

    @Test
    void unknownKeyListsTheKnownOnes() {
        var e = fails(MINIMAL.replace("    ecap: 0xf00f4a", "    ecap: 0xf00f4a\n    caps: 1"));
        assertTrue(e.getMessage().startsWith("t.yaml:9: field 'iommus[0].caps': unknown key; known keys: base, cap, ecap, hpets, id,"),
                e.getMessage());
        var top = fails(MINIMAL + "colour: red\n");
        assertTrue(top.getMessage().startsWith("t.yaml:16: field 'colour': unknown key; known keys: atsrs, cpu, description,"),
                top.getMessage());
    }

    @Test
    void danglingDeviceReferenceNamesTheKnownIds() {
        var e = fails(MINIMAL.replace("    include_pci_all: true", "    scope: [nic9]") );
        assertEquals("t.yaml:9: field 'iommus[0].scope[0]': no PCI node 'nic9' (ids: host, rp, e, e2)", e.getMessage());
        var bdf = fails(MINIMAL.replace("    include_pci_all: true", "    scope: [\"05:00.0\"]"));
        assertEquals("t.yaml:9: field 'iommus[0].scope[0]': no PCI function at 05:00.0 in this machine's tree", bdf.getMessage());
    }

    @Test
    void twoNodesAtOneAddressIsABdfCollision() {
        var e = fails(MINIMAL.replace("at: \"02.0\"", "at: \"01.0\""));
        assertEquals("t.yaml:15: field 'pci[0].children[1].at': 01.0 is already taken by 'rp' (line 14)", e.getMessage());
    }

    @Test
    void anI350CollidesWithEveryFunctionItOccupies() {
        var e = fails(MINIMAL.replace("{id: e2, kind: device, model: edu, at: \"02.0\"}",
                "{id: nic, kind: device, model: i350, at: \"02.0\", ports: 4}\n      - {id: x, kind: device, model: edu, at: \"02.3\"}"));
        assertTrue(e.getMessage().startsWith("t.yaml:16: field 'pci[0].children[2].at': 02.3 is already taken by 'nic'"), e.getMessage());
    }

    @Test
    void yamlSyntaxErrorIsOneLineWithItsLine() {
        var e = fails("name: x\nmemory: [\n  {base: 0\n");
        assertEquals("t.yaml", e.source());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().matches("t\\.yaml:[34]: YAML syntax: .*"), e.getMessage());
    }

    @Test
    void duplicateKeyIsAnError() {
        var e = fails(MINIMAL.replace("name: tiny", "name: tiny\nname: again"));
        assertEquals("t.yaml:2: field 'name': duplicate key", e.getMessage());
    }

    @Test
    void cpuWithoutVmxIsRejected() {
        var e = fails(MINIMAL + "cpu: {flags: [fpu, sse]}\n");
        assertEquals("t.yaml:16: field 'cpu.flags': must contain vmx (VT-x); VT-d is used together with it", e.getMessage());
    }

    @Test
    void includeAllUnitMustComeLastInItsSegment() {
        var e = fails(MINIMAL.replace("pci:", """
                  - id: dmar1
                    base: 0xfed91000
                    cap: 0x00d2008c22260206
                    ecap: 0xf00f4a
                    scope: [e2]
                pci:"""));
        assertTrue(e.getMessage().startsWith("t.yaml:11: field 'iommus[1].base': DRHDs of segment 0 follow its INCLUDE_PCI_ALL unit dmar0"),
                e.getMessage());
    }

    @Test
    void aDeviceInTwoUnitsScopesIsRejected() {
        String yaml = MINIMAL.replace("    include_pci_all: true", "    scope: [e2]").replace("pci:", """
                  - id: dmar1
                    base: 0xfed91000
                    cap: 0x00d2008c22260206
                    ecap: 0xf00f4a
                    scope: ["00:02.0"]
                pci:""");
        assertEquals("t.yaml:14: field 'iommus[1].scope[0]': '00:02.0' is already in dmar0's scope", fails(yaml).getMessage());
    }

    @Test
    void unknownModelAndKindAreNamed() {
        assertTrue(fails(MINIMAL.replace("model: edu, at: \"02.0\"", "model: nvme, at: \"02.0\"")).getMessage()
                .startsWith("t.yaml:15: field 'pci[0].children[1].model': 'nvme' is not one of i350, edu"));
        assertTrue(fails(MINIMAL.replace("kind: root-port", "kind: rootport")).getMessage()
                .startsWith("t.yaml:14: field 'pci[0].children[0].kind': 'rootport' is not one of host-bridge"));
    }

    @Test
    void overlappingRamIsNamed() {
        var e = fails(MINIMAL.replace("  - {base: 0, size: 64M}", "  - {base: 0, size: 64M}\n  - {base: 32M, size: 64M}"));
        assertEquals("t.yaml:4: field 'memory[1]': RAM range 0x2000000-0x5ffffff overlaps 0x0-0x3ffffff", e.getMessage());
    }

    @Test
    void missingFileAndUnknownPresetAreOneLine(@TempDir Path dir) throws IOException {
        var e = assertThrows(MachineDescriptionException.class, () -> Machines.load(dir.resolve("none.yaml").toString()));
        assertTrue(e.getMessage().endsWith("none.yaml:0: no such file"), e.getMessage());
        var p = assertThrows(MachineDescriptionException.class, () -> Machines.load("r640"));
        assertEquals("r640:0: not a preset (r630, q35, desktop) nor a .yaml file", p.getMessage());
        Path f = Files.writeString(dir.resolve("m.yaml"), MINIMAL);
        assertEquals("tiny", Machines.load(f.toString()).name());
    }

    @Test
    void aDescriptionBuildsIndependentMachines() {
        MachineDescription d = MachineDescription.parse(MINIMAL, "t.yaml");
        try (Machine a = d.builder().build(); Machine b = d.builder().build()) {
            a.memory().write64(0x1000, 42);
            assertEquals(0, b.memory().read64(0x1000));
            assertNotSame(a.function("00:02.0"), b.function("00:02.0"));
        }
    }
}

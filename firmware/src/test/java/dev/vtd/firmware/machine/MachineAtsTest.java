package dev.vtd.firmware.machine;

import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.DeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.pci.AtsCapability;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.PcieCapability;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.vtd.platform.devices.EduDevice.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A machine whose description gives an edu {@code ats: true}: the machine registers the edu's
 * device-TLB with the unit that owns it, so device-TLB invalidate descriptors the OS queues reach the
 * device (VT-d spec 6.5.2.5) and its DMA uses the new translation afterwards.
 */
class MachineAtsTest {
    /** QEMU q35 with intel-iommu,device-iotlb=on: the 7.2 ECAP 0xf00f4a plus DT (bit 2). */
    static final String YAML = """
            name: ats
            description: q35-like, intel-iommu with device-iotlb, an ATS edu below a root port
            memory:
              - {base: 0, size: 512M}
            ecam: {base: 0xb0000000, buses: 256}
            host_address_width: 39
            iommus:
              - {id: dmar0, base: 0xfed90000, cap: 0x00d2008c22260206, ecap: 0xf00f4e, include_pci_all: true}
            atsrs:
              - {all_ports: true}
            pci:
              - id: host
                kind: host-bridge
                children:
                  - {id: rp, kind: root-port, at: "01.0", children: [{id: edu0, kind: device, model: edu, at: "00.0", ats: true}]}
                  - {id: edu1, kind: device, model: edu, at: "04.0"}
            """;
    static final long ECAM = 0xb000_0000L;
    static final long POOL = 0x0100_0000L, IQ = 0x0080_0000L, STATUS = 0x0090_0000L;
    static final long IOVA = 0x0040_0000L, PAGE_A = 0x0500_0000L, PAGE_B = 0x0600_0000L;
    static final int DID = 3;

    private Machine m;

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    private static MachineDescriptionException fails(String yaml) {
        return assertThrows(MachineDescriptionException.class, () -> MachineDescription.parse(yaml, "t.yaml"));
    }

    private void cfgWrite(PciFunction f, int reg, int size, int value) {
        int rid = f.rid();
        m.bus().write(ECAM + ((long) rid << 12) + reg, size, value & 0xFFFF_FFFFL);
    }

    private int cfgRead(PciFunction f, int reg, int size) {
        return (int) m.bus().read(ECAM + ((long) f.rid() << 12) + reg, size);
    }

    private static void enableBusMaster(PciFunction f) {
        int bits = PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER;
        f.configWrite(PciRegs.COMMAND, 2, f.command() | bits);
        for (PciBridge b = f.bus().upstream(); b != null; b = b.bus().upstream()) {
            b.configWrite(PciRegs.COMMAND, 2, b.command() | bits);
        }
    }

    private static void dmaToRam(Machine m, EduDevice edu, long iova, byte[] data) {
        PciFunction f = edu.function();
        edu.setBuffer(0, data);
        f.barWrite(f.bar(0), REG_DMA_SRC, 8, DMA_BUFFER_ADDRESS);
        f.barWrite(f.bar(0), REG_DMA_DST, 8, iova);
        f.barWrite(f.bar(0), REG_DMA_COUNT, 8, data.length);
        f.barWrite(f.bar(0), REG_DMA_CMD, 8, DMA_CMD_RUN | DMA_CMD_TO_RAM);
        m.clock().step(DMA_DELAY_NS);
    }

    @Test
    void theMachineRegistersTheAtsEdusDeviceTlbWithItsUnitAndNoOtherFunction() {
        m = MachineDescription.parse(YAML, "ats.yaml").builder().build();
        EduDevice edu0 = m.device("edu0", EduDevice.class), edu1 = m.device("edu1", EduDevice.class);
        Machine.Unit u = m.unitFor(edu0.function());
        assertNotNull(u);
        assertEquals("01:00.0", m.function("01:00.0").address().substring(5));
        assertSame(edu0.ats().deviceTlb(), u.iommu().deviceTlbs().lookup(edu0.function().rid()));
        assertEquals(edu0.function().rid(), edu0.ats().deviceTlb().requesterId());
        assertEquals(PcieCapability.TYPE_ENDPOINT, edu0.function().pcie().deviceType(), "below a root port");
        assertNull(edu1.ats(), "without ats the edu stays QEMU's conventional edu");
        assertNull(u.iommu().deviceTlbs().lookup(edu1.function().rid()));
        assertEquals(0x0001_000F, cfgRead(edu0.function(), ATS_OFFSET, 4), "ATS extended capability at 0x100");
    }

    @Test
    void aDeviceTlbInvalidationQueuedThroughTheMachinesUnitMakesTheEduUseTheRemappedPage() {
        m = MachineDescription.parse(YAML, "ats.yaml").builder().build();
        EduDevice edu = m.device("edu0", EduDevice.class);
        PciFunction f = edu.function();
        int sid = f.rid();
        Machine.Unit u = m.unitFor(f);
        // The OS: a TT = 01b context (the device may use its device-TLB), one page mapped, TE on, the queue.
        TableWriter tw = new TableWriter(m.memory(), POOL, 0x10_0000);
        long pt = tw.allocPage();
        tw.setContext(sid, ContextEntry.translated(DID, pt, ContextEntry.AW_39).withTranslationType(ContextEntry.TT_DEVICE_TLB));
        long leaf = tw.map(pt, 3, IOVA, PAGE_A, 12, true, true);
        m.bus().write(u.registerBase() + Reg.RTADDR, 8, tw.rootTable());
        m.bus().write(u.registerBase() + Reg.GCMD, 4, Reg.GCMD_SRTP);
        m.bus().write(u.registerBase() + Reg.GCMD, 4, Reg.GCMD_TE);
        QueueWriter queue = new QueueWriter(u.hardware(), m.memory(), IQ, 0, false);
        queue.enable();
        enableBusMaster(f);
        cfgWrite(f, ATS_OFFSET + AtsCapability.CONTROL, 2, AtsCapability.CTL_ENABLE);   // STU 0: 4 KiB
        assertTrue(edu.ats().enabled());

        byte[] first = {1, 2, 3, 4, 5, 6, 7, 8};
        dmaToRam(m, edu, IOVA, first);
        assertArrayEquals(first, m.memory().readBytes(PAGE_A, 8));
        assertEquals(1, edu.ats().deviceTlb().stats().translationRequests());

        // Remap the page, then invalidate the IOTLB and the device-TLB and wait.
        m.memory().write64(leaf, PAGE_B | 3);
        queue.submit(IotlbInvalidate.page(DID, IOVA, 0, false), new DeviceTlbInvalidate(sid, 0, 0, IOVA, false),
                InvalidationWait.status(STATUS, 0x77));
        assertEquals(0x77, m.memory().read32(STATUS));
        assertEquals(0, m.bus().read(u.registerBase() + Reg.FSTS, 4));
        assertEquals(1, edu.ats().deviceTlb().stats().invalidations());

        byte[] second = {9, 9, 9, 9};
        dmaToRam(m, edu, IOVA, second);
        assertArrayEquals(second, m.memory().readBytes(PAGE_B, 4));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, m.memory().readBytes(PAGE_A, 4));
        assertEquals(2, edu.ats().deviceTlb().stats().translationRequests());
        assertTrue(u.hardware().faults().history().isEmpty());
    }

    @Test
    void withTheContextBlockingTranslationRequestsTheMachinesEduFaults0dAndWritesNothing() {
        m = MachineDescription.parse(YAML, "ats.yaml").builder().build();
        EduDevice edu = m.device("edu0", EduDevice.class);
        PciFunction f = edu.function();
        Machine.Unit u = m.unitFor(f);
        TableWriter tw = new TableWriter(m.memory(), POOL, 0x10_0000);
        long pt = tw.allocPage();
        tw.setContext(f.rid(), ContextEntry.translated(DID, pt, ContextEntry.AW_39));   // TT = 00b
        tw.map(pt, 3, IOVA, PAGE_A, 12, true, true);
        m.bus().write(u.registerBase() + Reg.RTADDR, 8, tw.rootTable());
        m.bus().write(u.registerBase() + Reg.GCMD, 4, Reg.GCMD_SRTP);
        m.bus().write(u.registerBase() + Reg.GCMD, 4, Reg.GCMD_TE);
        enableBusMaster(f);
        cfgWrite(f, ATS_OFFSET + AtsCapability.CONTROL, 2, AtsCapability.CTL_ENABLE);
        dmaToRam(m, edu, IOVA, new byte[] {1, 2, 3, 4});
        assertArrayEquals(new byte[4], m.memory().readBytes(PAGE_A, 4));
        assertEquals(FaultReason.TRANSLATION_BLOCKED, u.hardware().faults().history().getLast().reason());
    }

    @Test
    void theQ35PresetsEduHasNoAtsCapability() {
        m = Machines.load("q35").builder().build();
        EduDevice edu = m.device("edu0", EduDevice.class);
        assertNull(edu.ats());
        assertEquals(256, edu.function().config().size());
    }

    @Test
    void atsIsAnEduKeyAndABoolean() {
        assertTrue(fails(YAML.replace("model: edu, at: \"04.0\"", "model: copy-engine, at: \"04.0\", ats: true"))
                .getMessage().startsWith("t.yaml:16: field 'pci[0].children[1].ats': unknown key"), "the copy engine has no ATS");
        assertEquals("t.yaml:15: field 'pci[0].children[0].children[0].ats': 'sometimes' is not true or false",
                fails(YAML.replace("ats: true", "ats: sometimes")).getMessage());
    }

    @Test
    void anAtsEduBelowAConventionalPciBusIsRefused() {
        String yaml = YAML.replace("kind: root-port, at: \"01.0\"", "kind: pci-bridge, at: \"01.0\"");
        assertEquals("t.yaml:15: field 'pci[0].children[0].children[0]': ats: true needs a PCI Express path to the root; "
                + "'rp' leads to a conventional PCI bus", fails(yaml).getMessage());
    }
}

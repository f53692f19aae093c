package dev.vtd.cli;

import dev.vtd.firmware.acpi.DmarFormatter;
import dev.vtd.firmware.machine.Machine;
import dev.vtd.firmware.machine.Presets;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.devices.NicEngine;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.pci.MsixCapability;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Spec;
import dev.vtd.cli.args.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code vtd demo}: the DMA-remapping story on the default machine (the seeds' Dell R630), each
 * step's effect checked. A driver programs the remapping unit that owns the I350 port 01:00.3
 * through its registers, the NIC moves packets by DMA through the IOMMU into the domain's buffers,
 * a rogue DMA is blocked and logged the way Linux logs it, and the summary gives the unit's counters.
 * Exits 0 only if every check held.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the seeds' device-assignment story on the default machine (Dell R630 with an Intel I350), "
                + "verifying every step.")
public final class DemoCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @dev.vtd.cli.args.CommandLine.Option(names = "--script", description = "Print the equivalent `vtd run` script instead.")
    boolean script;

    @dev.vtd.cli.args.CommandLine.Option(names = "--hardware",
            description = "Run the hardware-level demo instead: a driver programming the remapping unit by hand.")
    boolean hardware;

    @dev.vtd.cli.args.CommandLine.Option(names = "--io-paths",
            description = "Run the I/O-path story instead: emulated e1000, virtio-net and an assigned NIC side by side.")
    boolean ioPaths;

    private PrintWriter out;
    private final List<String> failures = new ArrayList<>();

    // Guest-visible (IOVA) layout of the NIC's domain and where it really lives in host memory.
    static final long IOVA_TX_RING = 0x1000_0000L, IOVA_RX_RING = 0x1000_1000L;
    static final long IOVA_TX_BUF = 0x1000_2000L, IOVA_RX_BUF = 0x1000_4000L;
    static final long HPA_BASE = 0x2_4000_0000L;       // 9 GiB: the domain's memory is not identity-mapped
    static final long ROGUE_IOVA = 0x7f00_0000L;
    static final long BAR0 = 0x9000_0000L, MSIX_BAR = 0x9010_0000L;
    static final int DID = 3, MSI_VECTOR = 0x61;

    private void step(String title) {
        out.println();
        out.println("== " + title);
    }

    private void check(boolean ok, String what) {
        out.println((ok ? "   [ok]   " : "   [FAIL] ") + what);
        if (!ok) failures.add(what);
    }

    @Override
    public void run() {
        out = spec.commandLine().getOut();
        if (script) {
            out.print(dev.vtd.vmm.SeedsDemo.script());
            out.flush();
            return;
        }
        if (ioPaths) {
            boolean ok = IoPathsDemo.run(out);
            out.flush();
            if (!ok) throw new DemoFailed();
            return;
        }
        if (!hardware) {
            boolean ok = dev.vtd.vmm.SeedsDemo.run(out);
            out.flush();
            if (!ok) throw new DemoFailed();
            return;
        }
        runHardware();
    }

    /** The hardware-level story: DMAR lines, a hand-programmed unit, I350 DMA, a blocked rogue DMA. */
    private void runHardware() {
        try (Machine m = Presets.r630().build()) {
            out.println("vtd demo: " + m.description());

            step("Firmware: the ACPI DMAR table and the kernel's DMAR lines");
            List<String> lines = DmarFormatter.kernelLog(m.dmar(), m.dmarAddress());
            for (String l : lines) out.println("   " + l);
            for (Machine.Unit u : m.units()) {
                RemappingUnit hw = u.hardware();
                long ver = hw.read(Reg.VER, 4);
                out.printf("   DMAR: %s: reg_base_addr %x ver %d:%d cap %x ecap %x%n", hw.config().name(),
                        u.registerBase(), (ver >>> 4) & 0xF, ver & 0xF, hw.cap().raw(), hw.ecap().raw());
            }
            check(lines.stream().anyMatch(l -> l.contains("DRHD base: 0x000000fbffc000 flags: 0x0")), "DRHD 0xfbffc000 listed");
            check(lines.stream().anyMatch(l -> l.contains("DRHD base: 0x000000c7ffc000 flags: 0x1")), "DRHD 0xc7ffc000 (INCLUDE_PCI_ALL) listed");

            step("PCI: the I350 port 01:00.3 and the remapping unit that owns it");
            PciFunction nicFn = m.function("01:00.3");
            I350Nic nic = m.device("i350", I350Nic.class);
            Machine.Unit owner = m.unitFor(nicFn);
            out.printf("   01:00.3 Ethernet controller [0200]: Intel Corporation I350 Gigabit Network Connection [%04x:%04x] (rev %02x)%n",
                    nicFn.ids().vendorId(), nicFn.ids().deviceId(), nicFn.ids().revision());
            out.printf("   requester ID 0x%04x, owned by %s at 0x%x (DMAR scope: INCLUDE_PCI_ALL)%n",
                    nicFn.dma().requesterId(), owner.hardware().config().name(), owner.registerBase());
            check(owner.registerBase() == 0xC7FFC000L, "01:00.3 is translated by the unit at 0xc7ffc000");

            step("Driver: root table, context entry for 01:00.3 (domain " + DID + "), 4-level page tables, SRTP, TE");
            RemappingUnit unit = owner.hardware();
            TableWriter tw = new TableWriter(m.memory(), 0x1000_0000L, 0x100_0000L);
            long pt = tw.allocPage();
            tw.setContext(nicFn.dma().requesterId(), ContextEntry.translated(DID, pt, ContextEntry.AW_48));
            tw.map(pt, 4, IOVA_TX_RING, HPA_BASE, 12, true, true);               // descriptors: read, status written back
            tw.map(pt, 4, IOVA_RX_RING, HPA_BASE + 0x1000, 12, true, true);
            tw.map(pt, 4, IOVA_TX_BUF, HPA_BASE + 0x2000, 12, true, false);
            tw.map(pt, 4, IOVA_TX_BUF + 0x1000, HPA_BASE + 0x3000, 12, true, false);
            tw.map(pt, 4, IOVA_RX_BUF, HPA_BASE + 0x4000, 12, true, true);
            tw.map(pt, 4, IOVA_RX_BUF + 0x1000, HPA_BASE + 0x5000, 12, true, true);
            long base = owner.registerBase();
            m.bus().write(base + Reg.RTADDR, 8, tw.rootTable());
            m.bus().write(base + Reg.GCMD, 4, Reg.GCMD_SRTP);
            check((m.bus().read(base + Reg.GSTS, 4) & Reg.GSTS_RTPS) != 0, "GSTS.RTPS set after SRTP");
            m.bus().write(base + Reg.GCMD, 4, Reg.GCMD_TE);
            check((m.bus().read(base + Reg.GSTS, 4) & Reg.GSTS_TES) != 0, "GSTS.TES set: DMA remapping enabled");
            m.bus().write(base + Reg.FEDATA, 4, 0x4022);
            m.bus().write(base + Reg.FEADDR, 4, 0xFEE0_0000L);
            m.bus().write(base + Reg.FECTL, 4, 0);

            step("Device: the NIC's rings and buffers at IOVAs; packets loop back through the IOMMU");
            bringUp(m, nicFn);
            nic.port(3).loopback();
            int packets = 4, len = 1000;
            for (int i = 0; i < packets; i++) {
                byte[] frame = frame(i, len);
                m.memory().writeBytes(HPA_BASE + 0x2000 + i * 2048L, frame);   // the driver fills TX buffers
                long d = HPA_BASE + i * 16L;
                m.memory().write64(d, IOVA_TX_BUF + i * 2048L);
                m.memory().write64(d + 8, (long) len | (long) (NicEngine.TX_CMD_EOP | NicEngine.TX_CMD_RS) << 24);
            }
            m.bus().write(BAR0 + NicEngine.TX_QUEUE_BASE + NicEngine.Q_TAIL, 4, packets);
            m.clock().step(1_000_000);
            boolean allLanded = true;
            for (int i = 0; i < packets; i++) {
                byte[] got = m.memory().readBytes(HPA_BASE + 0x4000 + i * 2048L, len);
                allLanded &= Arrays.equals(got, frame(i, len));
            }
            out.printf("   port 3: %d packets sent, %d received; RX data read back from host memory at 0x%x%n",
                    nic.port(3).txPackets(), nic.port(3).rxPackets(), HPA_BASE + 0x4000);
            check(allLanded, packets + " packets landed in the domain's RX buffers (IOVA 0x" + Long.toHexString(IOVA_RX_BUF)
                    + " -> host 0x" + Long.toHexString(HPA_BASE + 0x4000) + ")");
            check(m.memory().read64(IOVA_RX_BUF) == 0, "nothing was written at the IOVA taken as a host address");
            LocalApic cpu0 = m.interrupts().localApic(0);
            long msix = cpu0 == null ? 0 : cpu0.accepted().stream().filter(a -> a.vector() == MSI_VECTOR).count();
            check(msix > 0, "MSI-X vector 0x" + Integer.toHexString(MSI_VECTOR) + " reached CPU 0's local APIC (" + msix + " messages)");

            step("Isolation: the NIC is programmed to DMA at an address its domain does not map");
            int faultsBefore = unit.faults().history().size();
            long d = HPA_BASE + packets * 16L;
            m.memory().write64(d, ROGUE_IOVA);
            m.memory().write64(d + 8, (long) 64 | (long) (NicEngine.TX_CMD_EOP | NicEngine.TX_CMD_RS) << 24);
            m.bus().write(BAR0 + NicEngine.TX_QUEUE_BASE + NicEngine.Q_TAIL, 4, packets + 1);
            m.clock().step(1_000_000);
            List<Fault> faults = unit.faults().history();
            Fault rogue = faults.size() > faultsBefore ? faults.getLast() : null;
            if (rogue != null) out.println("   " + rogue.linuxLine());
            check(rogue != null && rogue.faultInfo() == ROGUE_IOVA && rogue.sourceId() == nicFn.dma().requesterId(),
                    "the rogue read was blocked and recorded with the NIC's source ID and the IOVA");
            long fsts = m.bus().read(base + Reg.FSTS, 4);
            check((fsts & Reg.FSTS_PPF) != 0, "FSTS.PPF: a fault is pending in the fault recording registers");
            check(cpu0 != null && cpu0.accepted().stream().anyMatch(a -> a.vector() == 0x22),
                    "the fault event (FEDATA vector 0x22) was delivered to CPU 0");

            step("Summary");
            RemappingUnit.Stats s = unit.stats();
            out.printf("   DMA: %d requests, %d bytes read, %d bytes written, %d blocked%n", s.dmaRequests(),
                    s.dmaReadBytes(), s.dmaWriteBytes(), s.blockedRequests());
            out.printf("   %s%n   %s%n", s.iotlb(), s.contextCache());
            out.printf("   page walks %d, faults recorded %d, interrupt requests %d%n", s.walks(), s.faultsRecorded(),
                    s.interruptRequests());
        }
        out.println();
        if (failures.isEmpty()) {
            out.println("demo: every step verified");
        } else {
            out.println("demo: " + failures.size() + " step(s) failed");
        }
        out.flush();
        if (!failures.isEmpty()) throw new DemoFailed();
    }

    /** A failed verification: exit code 1. */
    static final class DemoFailed extends RuntimeException {
        DemoFailed() {
            super("demo failed", null, false, false);
        }
    }

    private static byte[] frame(int i, int len) {
        byte[] f = new byte[len];
        for (int k = 0; k < len; k++) f[k] = (byte) (i * 31 + k);
        return f;
    }

    /** BARs, the root port's window, MSI-X vector 0 and the rings, programmed through config space and MMIO. */
    private static void bringUp(Machine m, PciFunction f) {
        PciBridge rp = (PciBridge) m.function("00:01.0");
        rp.configWrite(PciRegs.MEMORY_BASE, 2, (int) (BAR0 >>> 16) & 0xFFF0);
        rp.configWrite(PciRegs.MEMORY_LIMIT, 2, (int) ((BAR0 + 0x3F_FFFF) >>> 16) & 0xFFF0);
        rp.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
        f.configWrite(PciRegs.BAR0, 4, (int) BAR0);
        f.configWrite(PciRegs.BAR0 + 12, 4, (int) MSIX_BAR);
        f.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
        m.bus().write(MSIX_BAR, 4, 0xFEE0_0000L);        // vector 0: CPU 0, vector 0x61
        m.bus().write(MSIX_BAR + 8, 4, MSI_VECTOR);
        m.bus().write(MSIX_BAR + 12, 4, 0);
        MsixCapability x = f.msix();
        f.configWrite(x.offset() + MsixCapability.CONTROL, 2, MsixCapability.CTL_ENABLE);
        m.bus().write(BAR0 + NicEngine.TX_QUEUE_BASE + NicEngine.Q_BAL, 4, IOVA_TX_RING);
        m.bus().write(BAR0 + NicEngine.TX_QUEUE_BASE + NicEngine.Q_LEN, 4, 8 * NicEngine.DESC_SIZE);
        m.bus().write(BAR0 + NicEngine.TX_QUEUE_BASE + NicEngine.Q_DCTL, 4, NicEngine.DCTL_ENABLE);
        m.bus().write(BAR0 + NicEngine.RX_QUEUE_BASE + NicEngine.Q_BAL, 4, IOVA_RX_RING);
        m.bus().write(BAR0 + NicEngine.RX_QUEUE_BASE + NicEngine.Q_LEN, 4, 8 * NicEngine.DESC_SIZE);
        m.bus().write(BAR0 + NicEngine.RX_QUEUE_BASE + NicEngine.Q_DCTL, 4, NicEngine.DCTL_ENABLE);
        for (int i = 0; i < 8; i++) m.memory().write64(HPA_BASE + 0x1000 + i * 16L, IOVA_RX_BUF + i * 2048L);
        m.bus().write(BAR0 + NicEngine.RX_QUEUE_BASE + NicEngine.Q_TAIL, 4, 7);
        m.bus().write(BAR0 + NicEngine.RCTL, 4, NicEngine.RCTL_EN);
        m.bus().write(BAR0 + NicEngine.TCTL, 4, NicEngine.TCTL_EN);
        m.bus().write(BAR0 + NicEngine.EIMS, 4, 1);
    }
}

package dev.vtd.firmware.machine;

import dev.vtd.firmware.acpi.DeviceScope;
import dev.vtd.firmware.acpi.Dmar;
import dev.vtd.firmware.acpi.DmarStructure;
import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.firmware.acpi.DmarTables;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.pci.HostBridge;
import dev.vtd.platform.pci.PciBridge;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciIds;
import dev.vtd.platform.pci.PciSegment;

import java.util.List;

/** Machines built in code: the seeds' Dell R630 and QEMU's q35 layout. */
public final class Presets {
    private Presets() {}

    /** The seeds' Dell R630 values: {@code cap 8d2078c106f0466 ecap f020df}. */
    public static final Cap R630_CAP = new Cap(0x8d2078c106f0466L);
    public static final Ecap R630_ECAP = new Ecap(0xf020dfL);

    /**
     * The seeds' Dell PowerEdge R630: two sockets, two DRHDs (0xfbffc000 for socket 1's root ports on
     * bus 0x80; 0xc7ffc000 INCLUDE_PCI_ALL), host address width 46, an Intel I350 four-port NIC at
     * 01:00.0-3 behind root port 00:01.0, USB controllers with an RMRR at 00:1a.0 and 00:1d.0.
     */
    public static MachineBuilder r630() {
        return new MachineBuilder("r630")
                .description("Dell PowerEdge R630, 2x Xeon E5-2680 v3, Intel I350 4-port NIC at 01:00.0-3")
                .cpu(new Machine.CpuInfo("GenuineIntel", "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz", 4, List.of(
                        "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge",
                        "mca", "cmov", "pat", "pse36", "clflush", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss",
                        "ht", "tm", "pbe", "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "constant_tsc", "arch_perfmon",
                        "pebs", "bts", "rep_good", "nopl", "xtopology", "nonstop_tsc", "aperfmperf", "eagerfpu",
                        "pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3",
                        "fma", "cx16", "xtpr", "pdcm", "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe",
                        "popcnt", "tsc_deadline_timer", "aes", "xsave", "avx", "f16c", "rdrand", "lahf_lm", "abm",
                        "ida", "arat", "epb", "pln", "pts", "dtherm", "tpr_shadow", "vnmi", "flexpriority", "ept",
                        "vpid", "fsgsbase", "tsc_adjust", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "cqm",
                        "xsaveopt", "cqm_llc", "cqm_occup_llc")))
                .ram(0, 2L << 30)
                .ram(4L << 30, 62L << 30)
                .ecam(0x8000_0000L, 256)
                .dmar(DmarTables.dellR630(), DmarTables.DELL_R630_ADDRESS)
                .ioapic(8, 0xFEC0_0000L, 0)
                .ioapic(9, 0xFEC0_1000L, 24)
                .ioapic(10, 0xFEC4_0000L, 48)
                .hpet(0, 0xFED0_0000L)
                .unit(0xFBFFC000L, RemappingUnit.Config.of(R630_CAP, R630_ECAP).withName("dmar0").withHostAddressWidth(46))
                .unit(0xC7FFC000L, RemappingUnit.Config.of(R630_CAP, R630_ECAP).withName("dmar1").withHostAddressWidth(46))
                .pci(ctx -> {
                    PciSegment seg = ctx.pci().addSegment(0);
                    PciBus root0 = seg.addRootBus(0x00, 0x7F);
                    root0.add(0, 0, new HostBridge("hb0", 0x8086, 0x2f00, 0x02, true));
                    PciBridge rp1 = root0.add(1, 0, acs(PciBridge.rootPort("rp-00:01.0", PciIds.of(0x8086, 0x2f02, 0x060400, 0x02))));
                    root0.add(2, 0, acs(PciBridge.rootPort("rp-00:02.0", PciIds.of(0x8086, 0x2f04, 0x060400, 0x02))));
                    root0.add(3, 0, acs(PciBridge.rootPort("rp-00:03.0", PciIds.of(0x8086, 0x2f08, 0x060400, 0x02))));
                    root0.add(5, 0, new PciFunction("vtd-00:05.0", PciIds.of(0x8086, 0x2f28, 0x088000, 0x02), true));
                    root0.add(5, 4, new PciFunction("ioapic-00:05.4", PciIds.of(0x8086, 0x2f2c, 0x080020, 0x02), true));
                    root0.add(0x1A, 0, new PciFunction("ehci-00:1a.0", PciIds.of(0x8086, 0x8d2d, 0x0C0320, 0x05), false));
                    root0.add(0x1D, 0, new PciFunction("ehci-00:1d.0", PciIds.of(0x8086, 0x8d26, 0x0C0320, 0x05), false));
                    I350Nic nic = ctx.register("i350", new I350Nic("i350", ctx.clock()));
                    rp1.secondaryBus().addDevice(0, nic.functions());
                    PciBus root1 = seg.addRootBus(0x80, 0xFF);
                    root1.add(0, 0, new HostBridge("hb1", 0x8086, 0x2f00, 0x02, true));
                    root1.add(2, 0, acs(PciBridge.rootPort("rp-80:02.0", PciIds.of(0x8086, 0x2f04, 0x060400, 0x02))));
                    root1.add(3, 0, acs(PciBridge.rootPort("rp-80:03.0", PciIds.of(0x8086, 0x2f08, 0x060400, 0x02))));
                    root1.add(5, 0, new PciFunction("vtd-80:05.0", PciIds.of(0x8086, 0x2f28, 0x088000, 0x02), true));
                    root1.add(5, 4, new PciFunction("ioapic-80:05.4", PciIds.of(0x8086, 0x2f2c, 0x080020, 0x02), true));
                });
    }

    /** Haswell-EP root ports implement ACS (source validation, request/completion redirect, upstream forwarding). */
    private static PciBridge acs(PciBridge rootPort) {
        rootPort.addCapability(new dev.vtd.platform.pci.AcsCapability(dev.vtd.platform.pci.AcsCapability.LINUX_ISOLATION));
        return rootPort;
    }

    /** One {@code -device edu,addr=DD.F[,dma_mask=N]}. */
    public record Edu(int device, int function, long dmaMask) {}

    /**
     * QEMU's q35 as a qtest run sees it: RAM from 0, the remapping unit at 0xfed90000 (one DRHD,
     * INCLUDE_PCI_ALL), PCI configuration through ports 0xCF8/0xCFC, ECAM at 0xB0000000, edu devices
     * at the given slots.
     *
     * @param hawBits host address width (QEMU uses aw-bits)
     */
    public static MachineBuilder q35(long ramBytes, Cap cap, Ecap ecap, int hawBits, boolean intremap,
                                     List<Edu> edus) {
        DmarTable dmar = DmarTable.of("BOCHS", "BXPC", hawBits,
                (intremap ? Dmar.FLAG_INTR_REMAP : 0) | (intremap && !ecap.eim() ? Dmar.FLAG_X2APIC_OPT_OUT : 0),
                List.of(new DmarStructure.Drhd(DmarStructure.Drhd.FLAG_INCLUDE_PCI_ALL, 0, 0, 0xFED90000L,
                        List.of(DeviceScope.ioapic(0, 0xFF, 0, 0)))));
        return new MachineBuilder("q35")
                .description("QEMU q35 with intel-iommu (qtest layout)")
                .cpu(new Machine.CpuInfo("GenuineIntel", "QEMU Virtual CPU version 2.5+", 1, List.of("fpu", "vmx")))
                .ram(0, ramBytes)
                .ecam(0xB000_0000L, 256)
                .dmar(dmar, 0x7FFE_0000L)
                .unit(0xFED90000L, RemappingUnit.Config.of(cap, ecap).withName("dmar0").withHostAddressWidth(hawBits))
                .ioapic(0, 0xFEC0_0000L, 0)
                .pci(ctx -> {
                    PciBus root = ctx.pci().addSegment(0).addRootBus();
                    root.add(0, 0, HostBridge.q35());
                    int i = 0;
                    for (Edu e : edus) {
                        EduDevice edu = ctx.register("edu" + i++, new EduDevice("edu", ctx.clock(), e.dmaMask()));
                        root.add(e.device(), e.function(), edu.function());
                    }
                });
    }
}

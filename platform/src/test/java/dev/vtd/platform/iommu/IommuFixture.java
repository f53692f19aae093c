package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.InterruptFabric;
import dev.vtd.platform.interrupt.InterruptMessage;
import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.interrupt.InterruptSink;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.ir.InterruptRemappingTable;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * A fully wired unit (Iommu.create) on 64 MiB of RAM with an interrupt fabric of four local APICs
 * (xAPIC IDs 0-3) and a recorder of every message; the queue at 0x20000, the IRT at 0x30000,
 * translation tables from 1 MiB. Layout mirrors the conformance harness (IQ_BASE, IRT_BASE).
 */
final class IommuFixture implements AutoCloseable {
    static final long IQ_BASE = 0x2_0000;
    static final long IRT_BASE = 0x12_0000;
    static final long STATUS = 0x5_0000;
    static final int SID = 0x0020;   // 00:04.0, the harness's edu device

    final PhysicalMemory mem = PhysicalMemory.anonymous(UnitFixture.RAM);
    final InterruptRecorder recorder = new InterruptRecorder();
    final InterruptFabric fabric = new InterruptFabric();
    final Iommu iommu;
    final RemappingUnit unit;
    final TableWriter tables;
    final QueueWriter queue;
    final InterruptRemappingTable irt;

    IommuFixture(Cap cap, Ecap ecap) {
        this(cap, ecap, false, 7);
    }

    IommuFixture(Cap cap, Ecap ecap, boolean wide, int irtSize) {
        for (int i = 0; i < 4; i++) fabric.addLocalApic(LocalApic.xapic(i));
        InterruptSink sink = new InterruptSink() {
            @Override
            public void deliver(long address, int data) {
                recorder.deliver(address, data);
                fabric.deliver(address, data);
            }

            @Override
            public void deliver(InterruptMessage m) {
                recorder.deliver(m);
                fabric.deliver(m);
            }
        };
        iommu = Iommu.create(RemappingUnit.Config.of(cap, ecap).withHostAddressWidth(Math.min(cap.mgawBits(), 46)), mem, sink);
        unit = iommu.unit();
        tables = new TableWriter(mem, 0x10_0000 + 0x10_0000, 0x40_0000);
        queue = new QueueWriter(unit, mem, IQ_BASE, 0, wide);
        irt = new InterruptRemappingTable(mem, IRT_BASE, irtSize);
    }

    /** The R630 (QI, IR, EIM, DT, PI). */
    static IommuFixture r630() {
        return new IommuFixture(UnitFixture.R630_CAP, UnitFixture.R630_ECAP);
    }

    /** QEMU 7.2 intremap=on (QI, IR, no EIM, no DT, no PI). */
    static IommuFixture qemu() {
        return new IommuFixture(UnitFixture.QEMU_CAP, UnitFixture.QEMU_ECAP);
    }

    void enableTranslation() {
        unit.write(Reg.RTADDR, 8, tables.rootTable());
        GlobalCommand.oneShot(unit, Reg.GCMD_SRTP);
        GlobalCommand.set(unit, Reg.GCMD_TE, true);
    }

    long context(int sid, int did) {
        long pt = tables.allocPage();
        int levels = unit.cap().supportsLevels(4) ? 4 : 3;
        tables.setContext(sid, ContextEntry.translated(did, pt, levels - 2));
        return pt;
    }

    int levels() {
        return unit.cap().supportsLevels(4) ? 4 : 3;
    }

    int fsts() {
        return (int) unit.read(Reg.FSTS, 4);
    }

    long reg64(int off) {
        return unit.read(off, 8);
    }

    int reg32(int off) {
        return (int) unit.read(off, 4);
    }

    long frcdLo(int i) {
        return unit.read(unit.cap().froBytes() + 16L * i, 8);
    }

    long frcdHi(int i) {
        return unit.read(unit.cap().froBytes() + 16L * i + 8, 8);
    }

    int faultReason(int i) {
        return (int) ((frcdHi(i) >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF);
    }

    boolean faultPending(int i) {
        return (frcdHi(i) & Reg.FRCD_HI_F) != 0;
    }

    /** An MSI write as a device issues it through the unit. */
    void msi(int sid, long address, int data) {
        unit.writeInt(sid, address, data);
    }

    LocalApic apic(int id) {
        return fabric.localApic(id);
    }

    @Override
    public void close() {
        mem.close();
    }
}

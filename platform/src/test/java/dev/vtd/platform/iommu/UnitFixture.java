package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.memory.PhysicalMemory;

/** A unit on 64 MiB of RAM with a table pool at 1 MiB, programmed as a driver would. */
final class UnitFixture implements AutoCloseable {
    /** The seeds' Dell R630: 4-level, MGAW 48, NFR 8, FRO 0x100, IRO 0x200, 2M+1G, PLMR/PHMR, ZLR. */
    static final Cap R630_CAP = new Cap(0x8d2078c106f0466L);
    static final Ecap R630_ECAP = new Ecap(0xf020dfL);
    /** QEMU 7.2 intel-iommu,intremap=on: 3-level only, MGAW 39, NFR 1, FRO 0x220, IRO 0xf0. */
    static final Cap QEMU_CAP = new Cap(0x00d2008c22260206L);
    static final Ecap QEMU_ECAP = new Ecap(0xf00f4aL);

    static final long RAM = 64L << 20;
    static final int SID = 0x0100; // 01:00.0

    final PhysicalMemory mem;
    final InterruptRecorder irq = new InterruptRecorder();
    final RemappingUnit unit;
    final TableWriter tables;

    UnitFixture() {
        this(RemappingUnit.Config.of(R630_CAP, R630_ECAP).withHostAddressWidth(46));
    }

    UnitFixture(RemappingUnit.Config config) {
        mem = PhysicalMemory.anonymous(RAM);
        unit = new RemappingUnit(config, mem, irq);
        tables = new TableWriter(mem, 0x10_0000, 0x40_0000);
    }

    static UnitFixture withCap(Cap cap, Ecap ecap) {
        return new UnitFixture(RemappingUnit.Config.of(cap, ecap));
    }

    /** SRTP then TE, with the GSTS handshake. */
    void enable() {
        unit.write(Reg.RTADDR, 8, tables.rootTable());
        unit.write(Reg.GCMD, 4, Reg.GCMD_SRTP);
        unit.write(Reg.GCMD, 4, Reg.GCMD_TE);
    }

    /** A translating context for SID with a new page-table root; returns SLPTPTR. */
    long context(int sid, int did, int aw) {
        long pt = tables.allocPage();
        tables.setContext(sid, ContextEntry.translated(did, pt, aw));
        return pt;
    }

    int levels() {
        return unit.cap().supportsLevels(4) ? 4 : 3;
    }

    int aw() {
        return levels() - 2;
    }

    long fsts() {
        return unit.read(Reg.FSTS, 4);
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

    @Override
    public void close() {
        mem.close();
    }
}

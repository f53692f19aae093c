package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.ScalableTableWriter;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import dev.vtd.platform.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;

/**
 * A scalable-mode unit (Iommu.create) on 64 MiB of RAM, HAW 46, with every scalable-mode feature
 * (first-stage incl. 5-level and 1 GiB pages, nested, PASID 20 bits, SRS, ERS, SLADS, PRS, DT,
 * SMPWCS), a 256-bit queue at 0x20000 and structures from 1 MiB.
 */
final class SmFixture implements AutoCloseable {
    static final Cap CAP = UnitFixture.R630_CAP.with(Cap.FL1GP, 1).with(Cap.FL5LP, 1);
    static final Ecap ECAP = UnitFixture.R630_ECAP.with(Ecap.SMTS, 1).with(Ecap.SLTS, 1).with(Ecap.FLTS, 1)
            .with(Ecap.NEST, 1).with(Ecap.PASID, 1).with(Ecap.PSS, 19).with(Ecap.PRS, 1).with(Ecap.SRS, 1)
            .with(Ecap.ERS, 1).with(Ecap.SLADS, 1).with(Ecap.SMPWCS, 1).with(Ecap.PDS, 1);
    /** QEMU 7.2 x-scalable-mode=on. */
    static final Ecap QEMU_SM_ECAP = new Ecap(0x0000480080f00f4aL);
    static final long IQ_BASE = 0x2_0000;
    static final long PRQ_BASE = 0x3_0000;
    static final long STATUS = 0x5_0000;
    static final int SID = 0x0020;

    final PhysicalMemory mem = PhysicalMemory.anonymous(UnitFixture.RAM);
    final InterruptRecorder irq = new InterruptRecorder();
    final Iommu iommu;
    final RemappingUnit unit;
    final ScalableTableWriter tables;
    final QueueWriter queue;
    final long pasidDir;

    SmFixture() {
        this(CAP, ECAP);
    }

    SmFixture(Cap cap, Ecap ecap) {
        iommu = Iommu.create(RemappingUnit.Config.of(cap, ecap).withHostAddressWidth(Math.min(cap.mgawBits(), 46)), mem, irq);
        unit = iommu.unit();
        tables = new ScalableTableWriter(mem, 0x10_0000, 0x80_0000);
        queue = new QueueWriter(unit, mem, IQ_BASE, 0, true);
        pasidDir = tables.allocPage();
    }

    static SmFixture qemu() {
        return new SmFixture(UnitFixture.QEMU_CAP, QEMU_SM_ECAP);
    }

    /** A context for sid pointing at the fixture's PASID directory (PDTS 0: 128 entries). */
    SmContextEntry context(int sid, SmContextEntry ce) {
        tables.setContext(sid, ce);
        return ce;
    }

    SmContextEntry context(int sid, int ridPasid) {
        return context(sid, SmContextEntry.of(pasidDir, 0, ridPasid).withPasidEnable(true).withDeviceTlb(unit.ecap().dt())
                .withPageRequest(unit.ecap().prs()));
    }

    void pasid(int pasid, PasidEntry pe) {
        tables.setPasidEntry(pasidDir, pasid, pe);
    }

    /** RTADDR with TTM = 01b, SRTP, TE. */
    void enable() {
        unit.write(Reg.RTADDR, 8, tables.rootTable() | (1L << Reg.RTADDR_TTM_SHIFT));
        GlobalCommand.oneShot(unit, Reg.GCMD_SRTP);
        GlobalCommand.set(unit, Reg.GCMD_TE, true);
    }

    void enableQueue() {
        queue.enable();
    }

    /** A fresh 4-level first-stage table root. */
    long flRoot() {
        return tables.allocPage();
    }

    long slRoot() {
        return tables.allocPage();
    }

    RemappingUnit.Translation tr(int pasid, long addr, boolean write, boolean priv) {
        return unit.translate(SID, pasid, addr, write ? RemappingUnit.Access.WRITE : RemappingUnit.Access.READ, priv, false);
    }

    long write(int pasid, long addr, byte[] data) {
        return unit.write(SID, pasid, false, addr, MemorySegment.ofArray(data), 0, data.length);
    }

    long read(int pasid, long addr, byte[] data) {
        return unit.read(SID, pasid, false, addr, MemorySegment.ofArray(data), 0, data.length);
    }

    int fsts() {
        return (int) unit.read(Reg.FSTS, 4);
    }

    long frcdHi(int i) {
        return unit.read(unit.cap().froBytes() + 16L * i + 8, 8);
    }

    long frcdLo(int i) {
        return unit.read(unit.cap().froBytes() + 16L * i, 8);
    }

    int reason(int i) {
        return (int) ((frcdHi(i) >>> Reg.FRCD_HI_FR_SHIFT) & 0xFF);
    }

    /** The reason of the last fault the unit detected (recorded or suppressed), or -1. */
    int lastReason() {
        var h = unit.faults().history();
        return h.isEmpty() ? -1 : h.getLast().reason().code;
    }

    int faultCount() {
        return unit.faults().history().size();
    }

    @Override
    public void close() {
        mem.close();
    }
}

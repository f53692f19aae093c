package dev.vtd.platform.devices;

import dev.vtd.platform.clock.VirtualClock;
import dev.vtd.platform.interrupt.InterruptRecorder;
import dev.vtd.platform.iommu.GlobalCommand;
import dev.vtd.platform.iommu.Iommu;
import dev.vtd.platform.iommu.RemappingUnit;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.ContextCacheInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.DeviceTlbInvalidate;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.InvalidationWait;
import dev.vtd.platform.iommu.inval.InvalidationDescriptor.IotlbInvalidate;
import dev.vtd.platform.iommu.inval.QueueWriter;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.iommu.tables.ContextEntry;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.ScalableTableWriter;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import dev.vtd.platform.iommu.tables.TableWriter;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.AtsCapability;
import dev.vtd.platform.pci.AtsEndpoint;
import dev.vtd.platform.pci.PciBus;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.platform.pci.PciHierarchy;
import dev.vtd.platform.pci.PciRegs;
import dev.vtd.platform.pci.PciSegment;
import dev.vtd.platform.pci.PcieCapability;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.vtd.platform.devices.EduDevice.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The edu with an ATS capability behind a remapping unit (PCIe ATS, VT-d spec 4.1-4.2): while the OS
 * has set ATS Enable the DMA engine asks its device-TLB, which sends a translation request on a miss,
 * and moves the data with translated requests; device-TLB invalidations through the invalidation
 * queue reach it. The edu sits at 00:04.0 (requester ID 0x0020).
 */
class EduAtsTest {
    /** Dell R630 CAP/ECAP: 4-level tables, QI, device-TLBs (ECAP.DT). */
    static final Cap CAP = new Cap(0x8d2078c106f0466L);
    static final Ecap ECAP = new Ecap(0xf020dfL);
    static final Ecap SM_ECAP = ECAP.with(Ecap.SMTS, 1).with(Ecap.SLTS, 1).with(Ecap.PASID, 1).with(Ecap.PSS, 19);
    static final int SID = 0x0020;
    static final int DID = 7;
    static final long IQ = 0x2_0000, STATUS = 0x5_0000;
    static final long IOVA = 0x0123_4000L;
    static final long PAGE_A = 0x0200_0000L, PAGE_B = 0x0300_0000L;

    final PhysicalMemory mem = PhysicalMemory.anonymous(64L << 20);
    final InterruptRecorder irq = new InterruptRecorder();
    final VirtualClock clock = new VirtualClock();
    Iommu iommu;
    RemappingUnit unit;
    QueueWriter queue;
    EduDevice edu;
    PciFunction fn;

    @AfterEach
    void close() {
        mem.close();
    }

    /** A unit owning segment 0 and an ATS edu at 00:04.0 whose device-TLB the unit knows; BME on. */
    private void build(Ecap ecap) {
        iommu = Iommu.create(RemappingUnit.Config.of(CAP, ecap).withHostAddressWidth(46), mem, irq);
        unit = iommu.unit();
        // Scalable mode takes 256-bit descriptors only (VT-d spec 6.5.2).
        queue = new QueueWriter(unit, mem, IQ, 0, ecap.smts());
        PciHierarchy pci = new PciHierarchy();
        PciSegment seg = pci.addSegment(0);
        PciBus root = seg.addRootBus();
        edu = EduDevice.withAts("edu", clock, DEFAULT_DMA_MASK, true);
        fn = root.add(4, 0, edu.function());
        seg.setDmaTarget(unit);
        iommu.deviceTlbs().register(fn.rid(), edu.ats().deviceTlb());
        fn.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE | PciRegs.CMD_BUS_MASTER);
    }

    /** Legacy mode: a context of the given TT for the edu with IOVA mapped to PAGE_A; returns the leaf PTE address. */
    private long legacy(int tt) {
        build(ECAP);
        TableWriter tw = new TableWriter(mem, 0x10_0000, 0x40_0000);
        long pt = tw.allocPage();
        tw.setContext(SID, ContextEntry.translated(DID, pt, ContextEntry.AW_48).withTranslationType(tt));
        long leaf = tw.map(pt, 4, IOVA, PAGE_A, 12, true, true);
        unit.write(Reg.RTADDR, 8, tw.rootTable());
        GlobalCommand.oneShot(unit, Reg.GCMD_SRTP);
        GlobalCommand.set(unit, Reg.GCMD_TE, true);
        queue.enable();
        return leaf;
    }

    private void enableAts(int stu) {
        fn.configWrite(ATS_OFFSET + AtsCapability.CONTROL, 2, AtsCapability.CTL_ENABLE | stu);
    }

    private void reg(int offset, long value) {
        fn.barWrite(fn.bar(0), offset, 8, value);
    }

    /** The edu copies {@code data} from its buffer to {@code iova} and the 100 ms pass. */
    private void dmaToRam(long iova, byte[] data) {
        edu.setBuffer(0, data);
        reg(REG_DMA_SRC, DMA_BUFFER_ADDRESS);
        reg(REG_DMA_DST, iova);
        reg(REG_DMA_COUNT, data.length);
        reg(REG_DMA_CMD, DMA_CMD_RUN | DMA_CMD_TO_RAM);
        clock.step(DMA_DELAY_NS);
    }

    private byte[] dmaFromRam(long iova, int n) {
        reg(REG_DMA_SRC, iova);
        reg(REG_DMA_DST, DMA_BUFFER_ADDRESS);
        reg(REG_DMA_COUNT, n);
        reg(REG_DMA_CMD, DMA_CMD_RUN);
        clock.step(DMA_DELAY_NS);
        return Arrays.copyOf(edu.buffer(), n);
    }

    private byte[] readMem(long pa, int n) {
        return mem.readBytes(pa, n);
    }

    private static final byte[] DATA = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x88};

    @Test
    void theDefaultEduHasNoAtsCapabilityAndAConventionalConfigSpace() {
        EduDevice plain = new EduDevice("edu", clock);
        assertNull(plain.ats());
        assertNull(plain.function().pcie());
        assertEquals(256, plain.function().config().size());
        assertEquals(0, plain.function().configRead(MSI_OFFSET + 1, 1), "MSI is the only capability");
    }

    @Test
    void theAtsEduIsAPcieFunctionWithAtsAt0x100() {
        build(ECAP);
        assertEquals(4096, fn.config().size());
        assertEquals(PCIE_OFFSET, fn.configRead(MSI_OFFSET + 1, 1), "MSI -> PCI Express");
        assertEquals(PcieCapability.TYPE_RC_INTEGRATED_ENDPOINT, fn.pcie().deviceType());
        // Extended capability header: ID 000Fh, version 1, no next (PCIe base spec 7.6.3).
        assertEquals(0x0001_000F, fn.configRead(ATS_OFFSET, 4));
        assertEquals(AtsCapability.CAP_PAGE_ALIGNED_REQUEST | AtsCapability.CAP_GLOBAL_INVALIDATE,
                fn.configRead(ATS_OFFSET + AtsCapability.CAPABILITY, 2), "queue depth field 0 = 32");
        assertEquals(32, edu.ats().invalidateQueueDepth());
        assertFalse(edu.ats().enabled(), "ATS is off until software enables it");
        fn.configWrite(ATS_OFFSET + AtsCapability.CONTROL, 2, 0xFFFF);
        assertEquals(AtsCapability.CTL_ENABLE | AtsCapability.CTL_STU_MASK, fn.configRead(ATS_OFFSET + AtsCapability.CONTROL, 2));
        assertEquals(31, edu.ats().deviceTlb().smallestTranslationUnit());
    }

    @Test
    void withAtsDisabledTheEngineIssuesUntranslatedRequests() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        dmaToRam(IOVA + 0x10, DATA);
        assertArrayEquals(DATA, readMem(PAGE_A + 0x10, DATA.length));
        assertEquals(0, edu.ats().deviceTlb().stats().translationRequests());
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
    }

    @Test
    void withAtsEnabledTheDmaGoesByTranslationRequestAndTranslatedRequestAndLands() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(0);
        dmaToRam(IOVA + 0x10, DATA);
        assertArrayEquals(DATA, readMem(PAGE_A + 0x10, DATA.length));
        AtsEndpoint tlb = edu.ats().deviceTlb();
        assertEquals(1, tlb.stats().translationRequests());
        assertEquals(List.of(new AtsEndpoint.Entry(-1, IOVA, 4096, PAGE_A, true, true)), tlb.entries());
        // The second DMA (a read) is served from the device-TLB: no second translation request.
        assertArrayEquals(DATA, dmaFromRam(IOVA + 0x10, DATA.length));
        assertEquals(1, tlb.stats().translationRequests());
        assertEquals(1, tlb.stats().hits());
        assertEquals(0, unit.faults().history().size());
    }

    @Test
    void afterRemappingADeviceTlbInvalidationThroughTheQueueMakesTheDeviceUseTheNewPage() {
        long leaf = legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(0);
        dmaToRam(IOVA, DATA);
        assertArrayEquals(DATA, readMem(PAGE_A, DATA.length));

        // The OS moves the page: the device still holds the old translation until it is invalidated.
        mem.write64(leaf, PAGE_B | 3);
        byte[] second = {1, 2, 3, 4};
        dmaToRam(IOVA, second);
        assertArrayEquals(second, readMem(PAGE_A, 4), "a stale device-TLB entry is used until invalidated");

        queue.submit(IotlbInvalidate.page(DID, IOVA, 0, false),
                new DeviceTlbInvalidate(SID, 0, 0, IOVA, false),
                InvalidationWait.status(STATUS, 0x600d));
        assertEquals(0x600d, mem.read32(STATUS), "the wait completed after the device-TLB invalidation");
        assertEquals(0, unit.read(Reg.FSTS, 4) & (Reg.FSTS_ITE | Reg.FSTS_ICE | Reg.FSTS_IQE));
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        assertEquals(1, edu.ats().deviceTlb().stats().invalidations());

        byte[] third = {9, 9, 9, 9};
        dmaToRam(IOVA, third);
        assertArrayEquals(third, readMem(PAGE_B, 4));
        assertArrayEquals(second, readMem(PAGE_A, 4), "the old page is no longer written");
        assertEquals(2, edu.ats().deviceTlb().stats().translationRequests());
    }

    @Test
    void aTranslationRequestUnderTt00IsBlockedWithFault0dAndTheDmaIsAborted() {
        legacy(ContextEntry.TT_UNTRANSLATED);
        mem.writeBytes(PAGE_A, DATA);
        enableAts(0);
        edu.setBuffer(0, new byte[] {5, 5, 5, 5, 5, 5, 5, 5});
        assertArrayEquals(new byte[8], dmaFromRam(IOVA, 8), "aborted read: the buffer bytes become zero");
        List<Fault> faults = unit.faults().history();
        assertEquals(1, faults.size());
        assertEquals(FaultReason.TRANSLATION_BLOCKED, faults.getFirst().reason());
        assertEquals(Fault.AT_TRANSLATION_REQUEST, faults.getFirst().addressType());
        assertEquals(SID, faults.getFirst().sourceId());
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        assertTrue((fn.status() & PciRegs.STS_RECEIVED_MASTER_ABORT) != 0, "Unsupported Request completion");

        dmaToRam(IOVA, DATA);
        assertArrayEquals(new byte[8], readMem(PAGE_A + 0x1000, 8));
        assertEquals(2, unit.faults().history().size());
        assertEquals(2, edu.ats().deviceTlb().stats().translationRequests());
    }

    @Test
    void translatedRequestsFromADeviceWhoseContextIsNoLongerTt01AreBlocked() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(0);
        dmaToRam(IOVA, DATA);
        // The OS turns the context to TT = 00b and invalidates the context cache, but not the device-TLB.
        long rootTable = unit.read(Reg.RTADDR, 8) & ~0xFFFL;
        long ctxTable = mem.read64(rootTable) & ~0xFFFL;
        long ctx = ctxTable + (SID & 0xFF) * (long) ContextEntry.SIZE;
        mem.write64(ctx, mem.read64(ctx) & ~ContextEntry.TT_MASK);
        queue.submit(ContextCacheInvalidate.global(), IotlbInvalidate.global(), InvalidationWait.status(STATUS, 1));

        byte[] next = {7, 7, 7, 7};
        dmaToRam(IOVA, next);
        assertArrayEquals(DATA, readMem(PAGE_A, DATA.length), "the translated write was blocked");
        Fault f = unit.faults().history().getLast();
        assertEquals(FaultReason.TRANSLATION_BLOCKED, f.reason());
        assertEquals(Fault.AT_TRANSLATED, f.addressType());
        assertEquals(PAGE_A, f.faultInfo(), "a translated request's fault records the host address");
        assertEquals(1, edu.ats().deviceTlb().stats().translationRequests(), "it came from the device-TLB");
    }

    @Test
    void scalableModeWithDteSetTranslatesAndWithDteClearBlocksWith0x44() {
        build(SM_ECAP);
        ScalableTableWriter tw = new ScalableTableWriter(mem, 0x10_0000, 0x40_0000);
        long dir = tw.allocPage();
        long sl = tw.allocPage();
        tw.secondStage().map(sl, 4, IOVA, PAGE_A, 12, true, true);
        tw.setPasidEntry(dir, 0, PasidEntry.secondStage(DID, sl, ContextEntry.AW_48));
        tw.setContext(SID, SmContextEntry.of(dir, 0, 0).withDeviceTlb(true));
        unit.write(Reg.RTADDR, 8, tw.rootTable() | (1L << Reg.RTADDR_TTM_SHIFT));
        GlobalCommand.oneShot(unit, Reg.GCMD_SRTP);
        GlobalCommand.set(unit, Reg.GCMD_TE, true);
        queue.enable();
        enableAts(0);

        dmaToRam(IOVA + 0x20, DATA);
        assertArrayEquals(DATA, readMem(PAGE_A + 0x20, DATA.length));
        assertEquals(1, edu.ats().deviceTlb().stats().translationRequests());
        assertEquals(0, unit.faults().history().size());

        // DTE cleared (and caches invalidated, device-TLB included): translation requests are blocked.
        tw.setContext(SID, SmContextEntry.of(dir, 0, 0));
        queue.submit(ContextCacheInvalidate.global(), new DeviceTlbInvalidate(SID, 0, 0, IOVA, false),
                InvalidationWait.status(STATUS, 2));
        assertEquals(2, mem.read32(STATUS));
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        byte[] next = {3, 3, 3, 3};
        dmaToRam(IOVA + 0x20, next);
        assertArrayEquals(DATA, readMem(PAGE_A + 0x20, DATA.length));
        assertEquals(FaultReason.SM_DTE_CLEAR, unit.faults().history().getLast().reason());
        assertEquals(Fault.AT_TRANSLATION_REQUEST, unit.faults().history().getLast().addressType());
    }

    @Test
    void anInvalidationRemovesEveryTranslationInTheSmallestTranslationUnitsItTouches() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(1);                                                  // STU = 8 KiB
        dmaToRam(IOVA, DATA);
        assertEquals(1, edu.ats().deviceTlb().entries().size());
        // A 4 KiB invalidation of the other half of the 8 KiB unit still covers the cached page.
        queue.submit(new DeviceTlbInvalidate(SID, 0, 0, IOVA + 0x1000, false), InvalidationWait.status(STATUS, 3));
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        dmaToRam(IOVA, DATA);
        // With STU = 0 the same invalidation misses the page.
        enableAts(0);
        dmaToRam(IOVA, DATA);
        queue.submit(new DeviceTlbInvalidate(SID, 0, 0, IOVA + 0x1000, false), InvalidationWait.status(STATUS, 4));
        assertEquals(1, edu.ats().deviceTlb().entries().size());
    }

    @Test
    void clearingAtsEnableOrAFunctionResetEmptiesTheDeviceTlb() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(0);
        dmaToRam(IOVA, DATA);
        assertEquals(1, edu.ats().deviceTlb().entries().size());
        fn.configWrite(ATS_OFFSET + AtsCapability.CONTROL, 2, 0);
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        enableAts(0);
        dmaToRam(IOVA, DATA);
        assertEquals(1, edu.ats().deviceTlb().entries().size());
        fn.reset();
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        assertFalse(edu.ats().enabled());
    }

    @Test
    void withoutBusMasterEnableNoTranslationRequestLeavesTheDevice() {
        legacy(ContextEntry.TT_DEVICE_TLB);
        enableAts(0);
        fn.configWrite(PciRegs.COMMAND, 2, PciRegs.CMD_MEMORY_SPACE);
        dmaToRam(IOVA, DATA);
        assertArrayEquals(new byte[8], readMem(PAGE_A, 8));
        assertEquals(0, unit.faults().history().size());
        assertTrue(edu.ats().deviceTlb().entries().isEmpty());
        assertTrue(fn.dma().gatedRequests() > 0);
    }
}

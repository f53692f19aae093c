package dev.vtd.platform.iommu;

import dev.vtd.platform.iommu.cache.ContextCacheEntry;
import dev.vtd.platform.iommu.cache.IotlbEntry;
import dev.vtd.platform.iommu.cache.PasidCacheEntry;
import dev.vtd.platform.iommu.cache.SetAssociativeCache;
import dev.vtd.platform.iommu.fault.Fault;
import dev.vtd.platform.iommu.fault.FaultReason;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.platform.iommu.tables.Bits;
import dev.vtd.platform.iommu.tables.PasidDirEntry;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import dev.vtd.platform.iommu.tables.SmRootEntry;
import dev.vtd.platform.iommu.walk.FirstStageWalker;
import dev.vtd.platform.iommu.walk.SecondStageWalker;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * Scalable-mode address translation of a {@link RemappingUnit} (VT-d spec 3.4.3, 3.5-3.8, 9.2-9.8):
 * the scalable-mode root and context entries, the PASID directory and PASID table (cached in the
 * PASID cache), and the four PASID-granular translation types: first-stage, second-stage, nested
 * and pass-through. Every fault carries its scalable-mode reason (7.1.3) and, for a request with
 * PASID, the PASID (PP/PV).
 *
 * <p>Only reached on the unit's slow path (after an MRU miss), never by legacy-mode requests.
 */
final class ScalableTranslation {
    /** A resolved request: the context and PASID-table entry, the effective PASID and privilege. */
    record Resolved(SmContextEntry context, PasidEntry entry, int pasid, boolean privileged, boolean fpd) {}

    /** The page-level outcome: a cacheable translation, or a fault ({@code pageCondition}: not present or access). */
    record Walked(IotlbEntry entry, FaultReason fault, boolean pageCondition) {
        static Walked fail(FaultReason r, boolean pageCondition) {
            return new Walked(null, r, pageCondition);
        }
    }

    private final RemappingUnit unit;
    private final PhysicalMemory memory;
    private final Ecap ecap;
    private final int haw;
    private final int mgaw;
    private final SetAssociativeCache<ContextCacheEntry> contextCache;
    private final SetAssociativeCache<IotlbEntry> iotlb;
    private final SetAssociativeCache<PasidCacheEntry> pasidCache;
    private final SecondStageWalker secondStage;
    private final FirstStageWalker firstStage;
    private final FirstStageWalker firstStageNested;
    private final FirstStageWalker.TableAccess direct;
    private final PasidEntry.Support support;
    private final boolean pageWalkSnoopControl;

    ScalableTranslation(RemappingUnit unit, SetAssociativeCache<PasidCacheEntry> pasidCache, SecondStageWalker walker) {
        this.unit = unit;
        this.memory = unit.memory();
        this.ecap = unit.ecap();
        this.haw = unit.config().hostAddressWidth();
        this.mgaw = unit.cap().mgawBits();
        this.contextCache = unit.contextCache();
        this.iotlb = unit.iotlb();
        this.pasidCache = pasidCache;
        this.secondStage = walker;
        this.firstStage = new FirstStageWalker(memory, haw, unit.cap().fl1gp());
        this.firstStageNested = new FirstStageWalker(memory, Math.min(mgaw, PhysicalMemory.MAX_ADDRESS_BITS),
                unit.cap().fl1gp());
        this.direct = FirstStageWalker.direct(memory);
        this.support = new PasidEntry.Support(haw, ecap.flts(), ecap.slts(), ecap.nest(), ecap.pt(), ecap.srs(),
                ecap.ers(), ecap.slads(), Ecap.EAFS.get(ecap.raw()) != 0, unit.cap().fl5lp(), unit.cap().sagaw());
        this.pageWalkSnoopControl = Ecap.SMPWCS.get(ecap.raw()) != 0;
    }

    // =========================================================================================
    // Requests
    // =========================================================================================

    /**
     * The translation that grants this untranslated request, as a per-request view whose R/W say
     * whether a read / a write with the same privilege would pass without a further walk; null
     * after reporting the fault.
     */
    IotlbEntry lookup(int sid, int pasid, long addr, boolean write, boolean privileged, boolean execute) {
        Resolved r = resolve(sid, pasid, addr, write, privileged, execute, Fault.AT_UNTRANSLATED);
        if (r == null) return null;
        Walked w = translatePage(r, addr, write, execute, r.privileged());
        if (w.fault() != null) {
            report(sid, pasid, addr, write, r.privileged(), execute, Fault.AT_UNTRANSLATED, w.fault(), r.fpd());
            return null;
        }
        IotlbEntry e = w.entry();
        boolean rd = deny(e, false, r.privileged(), execute) == null;
        boolean wr = deny(e, true, r.privileged(), execute) == null && e.has(IotlbEntry.ATTR_DIRTY_DONE);
        return e.withPermissions(rd, wr);
    }

    /** An ATS translation request (4.2.3) in scalable mode. */
    RemappingUnit.Translation translationRequest(int sid, int pasid, long addr, boolean write, boolean privileged,
                                                 boolean execute) {
        Resolved r = resolve(sid, pasid, addr, write, privileged, execute, Fault.AT_TRANSLATION_REQUEST);
        if (r == null) return RemappingUnit.Translation.fault(unit.lastFaultReason());
        int did = r.entry().domainId();
        boolean priv = r.privileged();
        Walked w = translatePage(r, addr, false, execute, priv);
        if (w.fault() != null) {
            if (w.pageCondition()) {
                return new RemappingUnit.Translation(true, 0, PhysicalMemory.PAGE_SIZE, did, false, false, null);
            }
            report(sid, pasid, addr, write, priv, execute, Fault.AT_TRANSLATION_REQUEST, w.fault(), r.fpd());
            return RemappingUnit.Translation.fault(w.fault());
        }
        IotlbEntry e = w.entry();
        if (write && deny(e, true, priv, execute) == null && !e.has(IotlbEntry.ATTR_DIRTY_DONE)) {
            Walked ww = translatePage(r, addr, true, execute, priv);        // sets D: the device may now write
            if (ww.entry() != null) e = ww.entry();
        }
        boolean rd = deny(e, false, priv, execute) == null;
        boolean wr = deny(e, true, priv, execute) == null && e.has(IotlbEntry.ATTR_DIRTY_DONE);
        return new RemappingUnit.Translation(true, e.translate(addr) & ~(e.pageSize() - 1), e.pageSize(), did, rd, wr,
                null);
    }

    /** A translated request (AT = 10b, 4.2.4): allowed only when the context entry's DTE is set. */
    FaultReason translatedRequestDenied(int sid) {
        ContextCacheEntry cc = context(sid);
        if (cc.fault() != null) return cc.fault();
        return cc.smContext().deviceTlbEnable() ? null : FaultReason.SM_DTE_CLEAR;
    }

    /** Context-level checks of a page request (7.5.1): present context with PRE (and PASIDE for a PASID). */
    FaultReason pageRequestDenied(int sid, int pasid) {
        ContextCacheEntry cc = context(sid);
        if (cc.fault() != null) return cc.fault();
        SmContextEntry ce = cc.smContext();
        if (!ce.pageRequestEnable()) return FaultReason.SM_PRE_CLEAR;
        if (pasid >= 0 && !ce.pasidEnable()) return FaultReason.SM_PASIDE_CLEAR;
        if (pasid > ce.maxPasid()) return FaultReason.SM_PASID_TOO_LARGE;
        return null;
    }

    boolean contextFpd(int sid) {
        return context(sid).faultProcessingDisable();
    }

    // =========================================================================================
    // Structures: root, context, PASID directory and table
    // =========================================================================================

    /** Resolves context and PASID entry (with the request-level checks), or reports the fault and returns null. */
    private Resolved resolve(int sid, int pasid, long addr, boolean write, boolean priv, boolean exec, int at) {
        ContextCacheEntry cc = context(sid);
        if (cc.fault() != null) return fail(sid, pasid, addr, write, priv, exec, at, cc.fault(), cc.faultProcessingDisable());
        SmContextEntry ce = cc.smContext();
        boolean fpd = ce.faultProcessingDisable();
        // 4.2.3 / 9.4: translation and translated requests need DTE.
        if (at != Fault.AT_UNTRANSLATED && !ce.deviceTlbEnable()) {
            return fail(sid, pasid, addr, write, priv, exec, at, FaultReason.SM_DTE_CLEAR, fpd);
        }
        int effective;
        boolean effPriv = priv;
        if (pasid >= 0) {
            if (!ce.pasidEnable()) return fail(sid, pasid, addr, write, priv, exec, at, FaultReason.SM_PASIDE_CLEAR, fpd);
            if (pasid > ce.maxPasid()) {
                return fail(sid, pasid, addr, write, priv, exec, at, FaultReason.SM_PASID_TOO_LARGE, fpd);
            }
            effective = pasid;
        } else {
            // 9.4: requests without PASID use RID_PASID (and RID_PRIV for their privilege).
            effective = ce.ridPasid();
            effPriv = ce.ridPriv();
            if (effective > ce.maxPasid()) {
                return fail(sid, pasid, addr, write, effPriv, exec, at, FaultReason.SM_RID_PASID_ERROR, fpd);
            }
        }
        PasidCacheEntry pc = pasidCache.get(PasidCacheEntry.key(sid, effective));
        if (pc == null) {
            long epoch = pasidCache.epoch();
            FaultReason[] why = new FaultReason[1];
            boolean[] whyFpd = new boolean[1];
            pc = walkPasid(sid, ce, effective, why, whyFpd);
            if (pc == null) return fail(sid, pasid, addr, write, effPriv, exec, at, why[0], whyFpd[0]);
            pasidCache.put(pc, epoch);
        }
        PasidEntry pe = pc.entry();
        if (pe.usesFirstStage()) {
            // 3.6 / 9.6: supervisor requests need SRE, execute requests ERE.
            if (effPriv && !pe.sre()) {
                return fail(sid, pasid, addr, write, effPriv, exec, at, FaultReason.SM_SRE_CLEAR, pc.faultProcessingDisable());
            }
            if (exec && !pe.ere()) {
                return fail(sid, pasid, addr, write, effPriv, exec, at, FaultReason.SM_ERE_CLEAR, pc.faultProcessingDisable());
            }
        }
        return new Resolved(ce, pe, effective, effPriv, pc.faultProcessingDisable());
    }

    /** The scalable-mode context entry for a source ID: cached, else walked from the root table. */
    ContextCacheEntry context(int sid) {
        ContextCacheEntry cc = contextCache.get(ContextCacheEntry.key(sid));
        if (cc != null) return cc;
        long epoch = contextCache.epoch();
        cc = walkContext(sid);
        boolean cacheable = cc.fault() == null || (unit.cap().cachingMode() && cc.fault() != FaultReason.SM_ROOT_ACCESS
                && cc.fault() != FaultReason.SM_CONTEXT_ACCESS && cc.fault() != FaultReason.SM_ROOT_TABLE_ADDRESS);
        if (cacheable) contextCache.put(cc, epoch);
        return cc;
    }

    private ContextCacheEntry walkContext(int sid) {
        int devfn = sid & 0xFF;
        // 11.4.6: TTM 10b is reserved; 11b (abort DMA mode) is not supported by this unit.
        if (unit.translationTableMode() != RemappingUnit.TTM_SCALABLE) {
            return ContextCacheEntry.scalableFaulting(sid, null, FaultReason.SM_ROOT_TABLE_ADDRESS);
        }
        long rootAddr = unit.rootTableAddress() + (long) (sid >>> 8) * SmRootEntry.SIZE;
        if (!memory.isRam(rootAddr, SmRootEntry.SIZE)) {
            return ContextCacheEntry.scalableFaulting(sid, null, FaultReason.SM_ROOT_ACCESS);
        }
        SmRootEntry root = SmRootEntry.decode(memory.read64(rootAddr), memory.read64(rootAddr + 8));
        if (!root.present(devfn)) return ContextCacheEntry.scalableFaulting(sid, null, FaultReason.SM_ROOT_NOT_PRESENT);
        if (root.hasReservedBits(devfn, haw)) {
            return ContextCacheEntry.scalableFaulting(sid, null, FaultReason.SM_ROOT_RESERVED);
        }
        long ctxAddr = root.contextEntryAddress(devfn);
        if (!memory.isRam(ctxAddr, SmContextEntry.SIZE)) {
            return ContextCacheEntry.scalableFaulting(sid, null, FaultReason.SM_CONTEXT_ACCESS);
        }
        SmContextEntry ce = SmContextEntry.decode(memory.read64(ctxAddr), memory.read64(ctxAddr + 8),
                memory.read64(ctxAddr + 16), memory.read64(ctxAddr + 24));
        if (!ce.present()) return ContextCacheEntry.scalableFaulting(sid, ce, FaultReason.SM_CONTEXT_NOT_PRESENT);
        if (ce.hasReservedBits(haw, Ecap.RPRIVS.get(ecap.raw()) != 0)) {
            return ContextCacheEntry.scalableFaulting(sid, ce, FaultReason.SM_CONTEXT_RESERVED);
        }
        // 9.4: DTE, PRE and PASIDE name features the unit must support (ECAP.DT, PRS, PASID).
        if ((ce.deviceTlbEnable() && !ecap.dt()) || (ce.pageRequestEnable() && !ecap.prs())
                || (ce.pasidEnable() && !ecap.pasid())) {
            return ContextCacheEntry.scalableFaulting(sid, ce, FaultReason.SM_CONTEXT_INVALID);
        }
        return ContextCacheEntry.scalable(sid, ce);
    }

    /** Walks the PASID directory and table (9.5, 9.6); null with the reason and its FPD on a fault. */
    private PasidCacheEntry walkPasid(int sid, SmContextEntry ce, int pasid, FaultReason[] why, boolean[] whyFpd) {
        boolean fpd = ce.faultProcessingDisable();
        whyFpd[0] = fpd;
        long dirAddr = ce.pasidDirPointer() + (long) PasidDirEntry.directoryIndex(pasid) * PasidDirEntry.SIZE;
        if (!memory.isRam(dirAddr, PasidDirEntry.SIZE)) return none(why, FaultReason.SM_PASID_DIR_ACCESS);
        PasidDirEntry de = PasidDirEntry.decode(memory.read64(dirAddr));
        if (!de.present()) return none(why, FaultReason.SM_PASID_DIR_NOT_PRESENT);
        fpd |= de.faultProcessingDisable();
        whyFpd[0] = fpd;
        if (de.hasReservedBits(haw)) return none(why, FaultReason.SM_PASID_DIR_RESERVED);
        long peAddr = de.entryAddress(pasid);
        if (!memory.isRam(peAddr, PasidEntry.SIZE)) return none(why, FaultReason.SM_PASID_ACCESS);
        long[] q = new long[8];
        for (int i = 0; i < 8; i++) q[i] = memory.read64(peAddr + 8L * i);
        PasidEntry pe = PasidEntry.decode(q);
        if (!pe.present()) return none(why, FaultReason.SM_PASID_NOT_PRESENT);
        whyFpd[0] = fpd | pe.faultProcessingDisable();
        if (pe.hasReservedBits(support)) return none(why, FaultReason.SM_PASID_RESERVED);
        if (pe.isInvalid(support)) return none(why, FaultReason.SM_PASID_INVALID);
        return PasidCacheEntry.of(sid, pasid, pe, fpd);
    }

    private static PasidCacheEntry none(FaultReason[] why, FaultReason r) {
        why[0] = r;
        return null;
    }

    // =========================================================================================
    // Page-level translation by PGTT
    // =========================================================================================

    private boolean snooped(PasidEntry pe) {
        // Page walks are snooped only with ECAP.SMPWCS and the PASID entry's PWSNP (9.6).
        return pageWalkSnoopControl && pe.pwsnp();
    }

    /** Why this request may not use this translation (null: allowed), per 3.6.2 and 3.7.2. */
    static FaultReason deny(IotlbEntry e, boolean write, boolean privileged, boolean execute) {
        if (e.has(IotlbEntry.ATTR_FIRST_STAGE)) {
            FaultReason r = FirstStageWalker.check(e.has(IotlbEntry.ATTR_FS_WRITE), e.has(IotlbEntry.ATTR_FS_USER),
                    e.has(IotlbEntry.ATTR_FS_XD), write, privileged, execute, e.has(IotlbEntry.ATTR_WPE));
            if (r != null) return r;
        }
        if (write ? !e.write() : !e.read()) return write ? FaultReason.SM_NO_WRITE : FaultReason.SM_NO_READ;
        return null;
    }

    private Walked translatePage(Resolved r, long addr, boolean write, boolean exec, boolean priv) {
        PasidEntry pe = r.entry();
        int did = pe.domainId();
        switch (pe.pgtt()) {
            case PasidEntry.PGTT_PASS_THROUGH -> {
                if ((addr >>> haw) != 0) return Walked.fail(FaultReason.SM_BEYOND_DMA_MAX, false);
                return new Walked(IotlbEntry.passThrough(did, addr), null, false);
            }
            case PasidEntry.PGTT_SECOND_STAGE -> {
                return secondStageOnly(pe, did, addr, write, exec, priv);
            }
            default -> {
                return firstStageOrNested(pe, did, r.pasid(), addr, write, exec, priv);
            }
        }
    }

    private int secondStageWidth(PasidEntry pe) {
        return Math.min(mgaw, 12 + 9 * pe.secondStageLevels());
    }

    private Walked secondStageOnly(PasidEntry pe, int did, long addr, boolean write, boolean exec, boolean priv) {
        if ((addr >>> secondStageWidth(pe)) != 0) return Walked.fail(FaultReason.SM_BEYOND_DMA_MAX, false);
        IotlbEntry e = iotlb.peek(IotlbEntry.key(did, addr, IotlbEntry.SHIFT_4K));
        if (e == null) e = iotlb.peek(IotlbEntry.key(did, addr, IotlbEntry.SHIFT_2M));
        if (e == null) e = iotlb.peek(IotlbEntry.key(did, addr, IotlbEntry.SHIFT_1G));
        if (e != null && (!write || e.has(IotlbEntry.ATTR_DIRTY_DONE) || !e.write())) {
            iotlb.countHit();
        } else {
            iotlb.countMiss();
            long epoch = iotlb.epoch();
            SecondStageWalker.ScalableResult s = secondStage.walkScalable(pe.slptptr(), pe.secondStageLevels(), addr, write,
                    pe.slade(), snooped(pe), unit.walkObserver());
            if (s.fault() != null) return Walked.fail(s.fault(), s.notPresent());
            e = IotlbEntry.secondStage(did, addr, s.outputBase(), s.pageShift(), s.read(), s.write(), s.dirtyDone());
            if (interruptRange(e)) return Walked.fail(FaultReason.SM_INTERRUPT_ADDRESS, false);
            iotlb.put(e, epoch);
        }
        FaultReason d = deny(e, write, priv, exec);
        return d != null ? Walked.fail(d, true) : new Walked(e, null, false);
    }

    private Walked firstStageOrNested(PasidEntry pe, int did, int pasid, long addr, boolean write, boolean exec,
                                      boolean priv) {
        int levels = pe.firstStageLevels();
        if (!FirstStageWalker.canonical(addr, levels)) return Walked.fail(FaultReason.SM_NOT_CANONICAL, false);
        IotlbEntry e = iotlb.peek(IotlbEntry.taggedKey(did, addr, IotlbEntry.SHIFT_4K), pasid);
        if (e == null) e = iotlb.peek(IotlbEntry.taggedKey(did, addr, IotlbEntry.SHIFT_2M), pasid);
        if (e == null) e = iotlb.peek(IotlbEntry.taggedKey(did, addr, IotlbEntry.SHIFT_1G), pasid);
        if (e != null) {
            FaultReason d = deny(e, write, priv, exec);
            if (d != null) return Walked.fail(d, true);
            if (!write || e.has(IotlbEntry.ATTR_DIRTY_DONE)) {
                iotlb.countHit();
                return new Walked(e, null, false);
            }
        }
        iotlb.countMiss();
        long epoch = iotlb.epoch();
        boolean nested = pe.pgtt() == PasidEntry.PGTT_NESTED;
        boolean snoop = snooped(pe);
        FirstStageWalker.TableAccess access = nested ? nestedAccess(pe, snoop) : direct;
        FirstStageWalker walker = nested ? firstStageNested : firstStage;
        FirstStageWalker.Result f = walker.walk(pe.flptptr(), levels, addr, pe.nxe(), access, unit.walkObserver());
        if (f.fault() != null) return Walked.fail(f.fault(), f.notPresent());
        FaultReason d = FirstStageWalker.check(f.write(), f.user(), f.executeDisable(), write, priv, exec, pe.wpe());
        if (d != null) return Walked.fail(d, true);
        long out = f.outputBase();
        int shift = f.pageShift();
        boolean slRead = true, slWrite = true, slDirtyDone = true;
        if (nested) {
            // 3.8: the first stage's output is a guest-physical address, translated by the second stage.
            long gpa = out | (addr & Bits.addressMask(shift));
            if ((gpa >>> secondStageWidth(pe)) != 0) return Walked.fail(FaultReason.SM_FL_BEYOND_MGAW_NESTED, false);
            SecondStageWalker.ScalableResult s = secondStage.walkScalable(pe.slptptr(), pe.secondStageLevels(), gpa, write,
                    pe.slade(), snoop, unit.walkObserver());
            if (s.fault() != null) return Walked.fail(s.fault(), s.notPresent());
            if (write ? !s.write() : !s.read()) {
                return Walked.fail(write ? FaultReason.SM_NO_WRITE : FaultReason.SM_NO_READ, true);
            }
            slRead = s.read();
            slWrite = s.write();
            slDirtyDone = s.dirtyDone();
            int min = Math.min(shift, s.pageShift());
            out = (s.outputBase() | (gpa & Bits.addressMask(s.pageShift()))) & ~Bits.addressMask(min);
            shift = min;
        }
        FaultReason ad = walker.updateAccessedDirty(f, write, snoop, access, addr);
        if (ad != null) return Walked.fail(ad, false);
        int attrs = (f.write() ? IotlbEntry.ATTR_FS_WRITE : 0) | (f.user() ? IotlbEntry.ATTR_FS_USER : 0)
                | (f.executeDisable() ? IotlbEntry.ATTR_FS_XD : 0) | (f.global() ? IotlbEntry.ATTR_GLOBAL : 0)
                | (pe.wpe() ? IotlbEntry.ATTR_WPE : 0)
                | ((f.dirty() || write) && slDirtyDone ? IotlbEntry.ATTR_DIRTY_DONE : 0);
        e = IotlbEntry.firstStage(did, pasid, addr, out, shift, slRead, slWrite, attrs);
        if (interruptRange(e)) return Walked.fail(FaultReason.SM_INTERRUPT_ADDRESS, false);
        iotlb.put(e, epoch);
        return new Walked(e, null, false);
    }

    /**
     * Nested translation (3.8): each first-stage entry address is a guest-physical address,
     * translated through the second stage; the table FLPTPTR names gets the FL-PML4 reasons.
     */
    private FirstStageWalker.TableAccess nestedAccess(PasidEntry pe, boolean snoop) {
        int width = secondStageWidth(pe);
        return (gpa, level, root, forUpdate) -> {
            FaultReason perm = forUpdate ? FaultReason.SM_FL_WRITE_NESTED
                    : root ? FaultReason.SM_FL_PML4_READ_NESTED : FaultReason.SM_FL_READ_NESTED;
            if ((gpa >>> width) != 0) return -1 - FaultReason.SM_FL_BEYOND_MGAW_NESTED.code;
            SecondStageWalker.ScalableResult s = secondStage.walkScalable(pe.slptptr(), pe.secondStageLevels(), gpa,
                    forUpdate, pe.slade(), snoop, unit.walkObserver());
            if (s.fault() != null) return -1 - (s.notPresent() ? perm : s.fault()).code;
            if (forUpdate ? !s.write() : !s.read()) return -1 - perm.code;
            long hpa = s.outputBase() | (gpa & Bits.addressMask(s.pageShift()));
            if (!memory.isRam(hpa, 8)) {
                return -1 - (root ? FaultReason.SM_FL_PML4_ACCESS : FaultReason.SM_FL_ACCESS).code;
            }
            return hpa;
        };
    }

    /** 3.14: a translation whose output page overlaps the interrupt address range is invalid (0x87). */
    private static boolean interruptRange(IotlbEntry e) {
        long first = e.hpaBase(), last = first + e.pageSize() - 1;
        return first < RemappingUnit.INTERRUPT_RANGE_BASE + RemappingUnit.INTERRUPT_RANGE_SIZE
                && RemappingUnit.INTERRUPT_RANGE_BASE <= last;
    }

    // =========================================================================================
    // Faults
    // =========================================================================================

    private Resolved fail(int sid, int pasid, long addr, boolean write, boolean priv, boolean exec, int at,
                          FaultReason reason, boolean fpd) {
        report(sid, pasid, addr, write, priv, exec, at, reason, fpd);
        return null;
    }

    /** Records a fault with PP/PV for a request with PASID (7.3, 11.4.9.3). */
    private void report(int sid, int pasid, long addr, boolean write, boolean priv, boolean exec, int at,
                        FaultReason reason, boolean fpd) {
        boolean pp = pasid >= 0;
        unit.reportFault(new Fault(sid, addr & ~0xFFFL, !write, at, pp, pp ? pasid : 0, exec, priv, reason), fpd);
    }

    // =========================================================================================
    // Invalidation (6.5.2.2, 6.5.2.4)
    // =========================================================================================

    /** PASID-cache invalidation: G 00 domain, 01 PASID within domain, 11 global. */
    void invalidatePasidCache(int granularity, int domainId, int pasid) {
        switch (granularity) {
            case 0 -> pasidCache.invalidateIf(e -> e.domainId() == domainId);
            case 1 -> pasidCache.invalidateIf(e -> e.domainId() == domainId && e.pasid() == pasid);
            default -> pasidCache.invalidateAll();
        }
    }

    /**
     * PASID-based IOTLB invalidation: G 10 every non-global first-stage/nested mapping of the PASID
     * in the domain, G 11 the pages [address, address + 2^(12+AM)) of the PASID (global ones too).
     * Second-stage-only mappings (domain-tagged) are not its scope and stay (6.5.2.4).
     */
    void invalidatePasidIotlb(int granularity, int domainId, int pasid, long address, int addressMask) {
        if (granularity == 3) {
            long size = 1L << (12 + addressMask);
            long first = address & ~(size - 1);
            long last = first + size - 1;
            iotlb.invalidateIf(e -> e.pasidTagged() && e.domainId() == domainId && e.pasid() == pasid
                    && e.overlaps(first, last));
        } else {
            iotlb.invalidateIf(e -> e.pasidTagged() && e.domainId() == domainId && e.pasid() == pasid
                    && !e.has(IotlbEntry.ATTR_GLOBAL));
        }
    }
}

package dev.vtd.kernel.iommu;

import dev.vtd.firmware.acpi.DmarTable;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.iommu.ir.InterruptRemappingTable;
import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.ir.MsiMessage;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Interrupt remapping as the kernel sets it up at APIC initialisation (Linux's intel_prepare_irq_remapping and
 * intel_enable_irq_remapping): when the DMAR table has INTR_REMAP and every unit ECAP.IR, each unit gets a
 * 64K-entry remapping table (IRTA, SIRTP with the GSTS.IRTPS handshake, a global interrupt-entry-cache flush
 * through the invalidation queue, then IRE with GSTS.IRES), in x2APIC mode (IRTA.EIME) unless the CPU lacks
 * x2APIC, the firmware opts out (DMAR flag X2APIC_OPT_OUT, overridable by intremap=no_x2apic_optout) or a unit
 * lacks ECAP.EIM. Drivers then allocate IRTEs and program their devices with remappable-format messages
 * (VT-d spec 5.1.2.2, 5.1.5).
 */
public final class IrqRemapping {
    /** IRTA.S: 2^(S+1) entries; Linux uses INTR_REMAP_TABLE_REG_SIZE 0xf (65536 entries). */
    public static final int TABLE_SIZE_FIELD = 0xF;
    static final int TABLE_ENTRIES = 2 << TABLE_SIZE_FIELD;
    static final int TABLE_ORDER = 8;   // 65536 * 16 bytes = 256 pages

    private final class UnitTable {
        final IntelIommu unit;
        final InterruptRemappingTable table;
        final BitSet used = new BitSet(TABLE_ENTRIES);

        UnitTable(IntelIommu unit, long base) {
            this.unit = unit;
            this.table = new InterruptRemappingTable(memory, base, TABLE_SIZE_FIELD);
        }
    }

    private final PhysicalMemory memory;
    private final boolean x2apicMode;
    private final Map<IntelIommu, UnitTable> tables = new LinkedHashMap<>();

    private IrqRemapping(PhysicalMemory memory, boolean x2apicMode) {
        this.memory = memory;
        this.x2apicMode = x2apicMode;
    }

    /**
     * Enables remapping on every unit, logging Linux's DMAR-IR lines; returns null (with nothing enabled) when
     * the command line, the table or a unit rules it out.
     */
    static IrqRemapping enable(List<IntelIommu> units, DmarTable table, KernelCmdline cmdline, boolean cpuX2apic,
                               PhysicalMemory memory, PageAllocator pages, KernelLog log) {
        if (cmdline.intremapOff() || units.isEmpty() || !table.intrRemap()) return null;
        for (IntelIommu u : units) if (!u.ecap().ir()) return null;
        boolean eim = false;
        if (cpuX2apic) {
            eim = !table.x2apicOptOut() || cmdline.intremapNoX2apicOptout();
            if (!eim) {
                log.info("DMAR-IR: x2apic is disabled because BIOS sets x2apic opt out bit.");
                log.info("DMAR-IR: Use 'intremap=no_x2apic_optout' to override the BIOS setting.");
            }
        }
        for (IntelIommu u : units) {
            if (eim && !u.ecap().eim()) {
                log.info("DMAR-IR: " + u.name() + " does not support EIM");
                eim = false;
            }
        }
        if (eim) log.info("DMAR-IR: Queued invalidation will be enabled to support x2apic and Intr-remapping.");
        IrqRemapping ir = new IrqRemapping(memory, eim);
        for (IntelIommu u : units) {
            if (!u.enableQueuedInvalidationEarly()) {
                log.err("DMAR-IR: Failed to setup irq remapping for " + u.name());
                return null;
            }
            ir.tables.put(u, ir.new UnitTable(u, pages.allocPages(TABLE_ORDER)));
        }
        for (UnitTable t : ir.tables.values()) ir.setIrqRemapping(t);
        log.info("DMAR-IR: Enabled IRQ remapping in " + (eim ? "x2apic" : "xapic") + " mode");
        if (cpuX2apic && !eim) log.info("x2apic: IRQ remapping doesn't support X2APIC mode");
        return ir;
    }

    /** iommu_set_irq_remapping: IRTA, SIRTP (IRTPS), global IEC flush, block compatibility format, IRE (IRES). */
    private void setIrqRemapping(UnitTable t) {
        UnitRegisters regs = t.unit.registers();
        regs.write64(Reg.IRTA, t.table.base() | (x2apicMode ? InterruptRemappingUnit.IRTA_EIME : 0) | TABLE_SIZE_FIELD);
        int persistent = regs.read32(Reg.GSTS) & UnitRegisters.GCMD_PERSISTENT_MASK;
        regs.write32(Reg.GCMD, persistent | Reg.GCMD_SIRTP);
        regs.poll32(Reg.GSTS, v -> (v & Reg.GSTS_IRTPS) != 0, "set interrupt remapping table pointer");
        ((QueuedInvalidator) t.unit.invalidator()).flushIec(true, 0, 0);
        if ((regs.read32(Reg.GSTS) & Reg.GSTS_CFIS) != 0) regs.globalCommand(Reg.GCMD_CFI, false, "block compatibility format");
        regs.globalCommand(Reg.GCMD_IRE, true, "enable interrupt remapping");
    }

    /** True when IRTEs name x2APIC destinations (IRTA.EIME). */
    public boolean x2apicMode() { return x2apicMode; }

    public boolean covers(IntelIommu unit) { return tables.containsKey(unit); }

    /** Base address of a unit's remapping table. */
    public long tableBase(IntelIommu unit) { return require(unit).table.base(); }

    private UnitTable require(IntelIommu unit) {
        UnitTable t = tables.get(unit);
        if (t == null) throw new IommuException("ENODEV", unit.name() + " has no interrupt remapping table");
        return t;
    }

    /** alloc_irte: {@code count} consecutive free entries (count rounded up to a power of two); the first index. */
    public synchronized int allocate(IntelIommu unit, int count) {
        UnitTable t = require(unit);
        if (count < 1 || count > TABLE_ENTRIES) throw new IommuException("EINVAL", "IRTE count " + count);
        int n = Integer.highestOneBit(count) == count ? count : Integer.highestOneBit(count) << 1;
        for (int i = 0; i + n <= TABLE_ENTRIES; i += n) {
            if (t.used.nextSetBit(i) < 0 || t.used.nextSetBit(i) >= i + n) {
                t.used.set(i, i + n);
                return i;
            }
        }
        throw new IommuException("ENOSPC", unit.name() + ": no free IRTEs");
    }

    /** modify_irte: writes the entry and invalidates its interrupt-entry-cache line. */
    public synchronized void program(IntelIommu unit, int index, Irte entry) {
        UnitTable t = require(unit);
        if (index < 0 || index >= TABLE_ENTRIES || !t.used.get(index)) {
            throw new IommuException("EINVAL", unit.name() + ": IRTE " + index + " is not allocated");
        }
        t.table.set(index, entry);
        ((QueuedInvalidator) unit.invalidator()).flushIec(false, index, 0);
    }

    /** free_irte: clears the entries and gives them back. */
    public synchronized void free(IntelIommu unit, int index, int count) {
        UnitTable t = require(unit);
        for (int i = index; i < index + count && i < TABLE_ENTRIES; i++) {
            if (!t.used.get(i)) continue;
            t.table.setRaw(i, 0, 0);
            t.used.clear(i);
        }
        ((QueuedInvalidator) unit.invalidator()).flushIec(true, 0, 0);
    }

    public synchronized Irte entry(IntelIommu unit, int index) {
        return require(unit).table.get(index);
    }

    public synchronized int entriesInUse(IntelIommu unit) {
        return require(unit).used.cardinality();
    }

    /** A remapped-format entry for a fixed, edge-triggered interrupt to an APIC ID, validating the source ID. */
    public Irte remappedEntry(int vector, int apicId, int sourceId) {
        int dest = x2apicMode ? apicId : Irte.xapicDestination(apicId);
        return Irte.remapped(vector, dest, false, false, false, 0)
                .withSourceValidation(Irte.SVT_SID, 0, sourceId);
    }

    /** The remappable-format MSI address for an IRTE handle (5.1.5.2): format, SHV, handle 14:0 and 15. */
    public static long msiAddress(int handle) {
        return MsiMessage.INTERRUPT_BASE | MsiMessage.ADDR_FORMAT | MsiMessage.ADDR_SHV
                | (((long) handle & 0x7FFF) << MsiMessage.ADDR_HANDLE_SHIFT)
                | ((handle & 0x8000) != 0 ? MsiMessage.ADDR_HANDLE15 : 0);
    }
}

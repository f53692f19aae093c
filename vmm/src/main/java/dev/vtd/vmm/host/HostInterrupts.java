package dev.vtd.vmm.host;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.kernel.host.Kernel;
import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.kernel.iommu.IommuSubsystem;
import dev.vtd.kernel.iommu.IrqRemapping;
import dev.vtd.kernel.iommu.KernelIrq;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.kernel.log.KernelLog;
import dev.vtd.platform.interrupt.LocalApic;
import dev.vtd.platform.iommu.ir.InterruptRemappingTable;
import dev.vtd.platform.iommu.ir.Irte;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.vmm.VmmException;

import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The host's interrupt-remapping driver and its CPUs' interrupt entry points.
 * <ul>
 * <li>Per remapping unit with ECAP.IR: a 256-entry interrupt-remapping table (VT-d spec 9.10) in kernel pages,
 * made active with IRTA, SIRTP and IRE (5.1, 11.4.4), EIME as ECAP.EIM allows. IRTEs are allocated per
 * interrupt and invalidated in the interrupt entry cache when changed (6.5.5).</li>
 * <li>Per host CPU: vectors handed to the VMM for remapped device interrupts, and the posted-interrupt
 * notification vector (Linux's POSTED_INTR_VECTOR 0xf2) whose handler syncs the posted-interrupt descriptors.</li>
 * <li>{@link #service()}: each CPU takes the interrupts its local APIC accepted, in order: the kernel's own
 * vectors (the remapping units' fault events) go to {@link KernelIrq}, the others to their handlers.</li>
 * </ul>
 */
public final class HostInterrupts {
    public static final int IRT_SIZE_FIELD = 7;                 // 2^(7+1) = 256 entries
    public static final int IRT_ENTRIES = 2 << IRT_SIZE_FIELD;
    public static final int POSTED_INTR_VECTOR = 0xF2;
    /** The CPU whose interrupts the host kernel takes. */
    public static final int KERNEL_CPU = 0;
    public static final int FIRST_VMM_VECTOR = 0x80, LAST_VMM_VECTOR = 0xEF;

    /**
     * One unit's table: the kernel's (IrqRemapping, which allocates, programs and invalidates through the unit's
     * invalidation queue) when the kernel enabled interrupt remapping at boot, else one set up here.
     */
    public final class Table {
        final Machine.Unit unit;
        final InterruptRemappingTable irt;
        final BitSet used = new BitSet(IRT_ENTRIES);
        final boolean eime;
        final IrqRemapping kernelIr;
        final IntelIommu kernelUnit;

        Table(Machine.Unit unit, long base, boolean eime) {
            this.unit = unit;
            this.irt = new InterruptRemappingTable(machine.memory(), base, IRT_SIZE_FIELD);
            this.eime = eime;
            this.kernelIr = null;
            this.kernelUnit = null;
        }

        Table(Machine.Unit unit, IrqRemapping ir, IntelIommu ku) {
            this.unit = unit;
            this.irt = null;
            this.eime = ir.x2apicMode();
            this.kernelIr = ir;
            this.kernelUnit = ku;
        }

        public Machine.Unit unit() { return unit; }
        public boolean extendedInterruptMode() { return eime; }
        public boolean postedSupported() { return unit.hardware().cap().pi(); }
        public Irte get(int index) { return kernelIr != null ? kernelIr.entry(kernelUnit, index) : irt.get(index); }

        public synchronized int allocate() {
            if (kernelIr != null) {
                try {
                    return kernelIr.allocate(kernelUnit, 1);
                } catch (dev.vtd.kernel.iommu.IommuException e) {
                    throw new VmmException(unit.hardware().config().name() + ": no free IRTE");
                }
            }
            int i = used.nextClearBit(0);
            if (i >= IRT_ENTRIES) throw new VmmException(unit.hardware().config().name() + ": no free IRTE");
            used.set(i);
            return i;
        }

        /** Writes the entry, then invalidates its interrupt-entry-cache line. */
        public void set(int index, Irte e) {
            if (kernelIr != null) {
                kernelIr.program(kernelUnit, index, e);
                return;
            }
            irt.set(index, e);
            invalidate(index);
        }

        /** Clears the entry (not present), invalidates it and frees the index. */
        public synchronized void free(int index) {
            if (kernelIr != null) {
                kernelIr.free(kernelUnit, index, 1);
                return;
            }
            irt.setRaw(index, 0, 0);
            invalidate(index);
            used.clear(index);
        }

        public synchronized int inUse() {
            return kernelIr != null ? kernelIr.entriesInUse(kernelUnit) : used.cardinality();
        }

        /**
         * IEC invalidation of one index (6.5.2.7). The kernel owns the unit's invalidation queue and offers no IEC
         * request yet, so the index-selective invalidation is applied at the unit's interrupt remapping block, which
         * is what the descriptor does when the queue processes it.
         */
        private void invalidate(int index) {
            var ir = unit.iommu().interruptRemapping();
            if (ir != null) ir.invalidate(index, 0);
        }
    }

    private record Key(int cpu, int vector) {}

    private final Machine machine;
    private final Kernel kernel;
    private final KernelIrq kernelIrq;
    /** How many of CPU 0's accepted interrupts were looked at (the kernel reads that list by index too). */
    private int cpu0Seen;
    private final Map<Machine.Unit, Table> tables = new LinkedHashMap<>();
    private final Map<Key, IntConsumer> handlers = new HashMap<>();
    private final Map<Integer, BitSet> vectors = new HashMap<>();
    private final Map<Integer, IntConsumer> notificationHandlers = new HashMap<>();
    private long taken, notifications, spurious;

    HostInterrupts(Machine machine, Kernel kernel, KernelIrq kernelIrq, PageAllocator pages, KernelLog log, IommuSubsystem iommu) {
        this.machine = machine;
        this.kernel = kernel;
        this.kernelIrq = kernelIrq;
        IrqRemapping kir = iommu == null ? null : iommu.irqRemapping();
        if (kir != null) {
            for (Machine.Unit u : machine.units()) {
                for (IntelIommu ku : iommu.units()) {
                    if (ku.registerBase() == u.registerBase() && kir.covers(ku)) tables.put(u, new Table(u, kir, ku));
                }
            }
            return;
        }
        boolean x2apic = false;
        for (Machine.Unit u : machine.units()) {
            if (u.iommu().interruptRemapping() == null) continue;
            boolean eime = u.hardware().ecap().eim();
            x2apic |= eime;
            long base = pages.allocPage();
            for (int i = 0; i < 2 * IRT_ENTRIES; i++) machine.memory().write64(base + 8L * i, 0);
            Table t = new Table(u, base, eime);
            int gsts = t.irt.enable(u.hardware(), eime);
            if ((gsts & Reg.GSTS_IRES) == 0) continue;
            tables.put(u, t);
        }
        if (!tables.isEmpty()) {
            log.info("DMAR-IR: Enabled IRQ remapping in " + (x2apic ? "x2apic" : "xapic") + " mode");
        }
    }

    /** The table of the unit that remaps this unit's interrupts, or null without interrupt remapping. */
    public Table table(Machine.Unit unit) {
        return tables.get(unit);
    }

    /** True when IRTEs and posted-interrupt descriptors name 32-bit x2APIC destinations (IRTA.EIME). */
    public boolean x2apicMode() {
        for (Table t : tables.values()) return t.eime;
        return false;
    }

    public boolean enabled() {
        return !tables.isEmpty();
    }

    /** A free vector on a host CPU with its handler (the vector is passed to it). */
    public synchronized int allocateVector(int cpu, IntConsumer handler) {
        BitSet b = vectors.computeIfAbsent(cpu, k -> new BitSet());
        int v = b.nextClearBit(FIRST_VMM_VECTOR);
        if (v > LAST_VMM_VECTOR) throw new VmmException("no free interrupt vector on CPU " + cpu);
        b.set(v);
        handlers.put(new Key(cpu, v), handler);
        return v;
    }

    public synchronized void freeVector(int cpu, int vector) {
        BitSet b = vectors.get(cpu);
        if (b != null) b.clear(vector);
        handlers.remove(new Key(cpu, vector));
    }

    /** The handler run when CPU {@code cpu} receives a posted-interrupt notification. */
    public synchronized void onPostedNotification(int cpu, Runnable handler) {
        notificationHandlers.put(cpu, v -> handler.run());
    }

    /** The same, with the notification's vector (the notification vector, or a vCPU's wakeup vector). */
    public synchronized void onPostedNotification(int cpu, IntConsumer handler) {
        notificationHandlers.put(cpu, handler);
    }

    /**
     * Every CPU takes its accepted interrupts; returns how many were taken. CPU 0 is the kernel's: the vectors
     * handed to the VMM and posted-interrupt notifications are taken here, the kernel takes the rest (its own
     * handlers, such as the units' fault events) from the same list.
     */
    public int service() {
        int n = 0;
        for (LocalApic apic : machine.interrupts().localApics()) {
            if (apic.id() == KERNEL_CPU) {
                int from = Math.min(cpu0Seen, apic.acceptedCount());
                List<LocalApic.Accepted> fresh = apic.acceptedSince(from);
                for (LocalApic.Accepted a : fresh) {
                    if (ownedByVmm(KERNEL_CPU, a)) {
                        n++;
                        dispatch(KERNEL_CPU, a);
                    }
                }
                cpu0Seen = from + fresh.size();
                continue;
            }
            List<LocalApic.Accepted> acc = apic.accepted();
            if (acc.isEmpty()) continue;
            apic.clear();
            for (LocalApic.Accepted a : acc) {
                n++;
                dispatch(apic.id(), a);
            }
        }
        kernel.takeInterrupts();
        return n;
    }

    private synchronized boolean ownedByVmm(int cpu, LocalApic.Accepted a) {
        return a.postedNotification() || handlers.containsKey(new Key(cpu, a.vector()));
    }

    private void dispatch(int cpu, LocalApic.Accepted a) {
        IntConsumer notify;
        IntConsumer h;
        synchronized (this) {
            taken++;
            if (a.postedNotification()) notifications++;
            notify = a.postedNotification() ? notificationHandlers.get(cpu) : null;
            h = a.postedNotification() ? null : handlers.get(new Key(cpu, a.vector()));
        }
        if (notify != null) {
            notify.accept(a.vector());
        } else if (h != null) {
            h.accept(a.vector());
        } else {
            synchronized (this) { spurious++; }
        }
    }

    public synchronized long taken() { return taken; }
    public synchronized long notifications() { return notifications; }
    public synchronized long spurious() { return spurious; }
}

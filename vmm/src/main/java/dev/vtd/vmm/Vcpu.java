package dev.vtd.vmm;

import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.ir.PostedInterruptDescriptor;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * A vCPU: its APIC ID, the host CPU it runs on, its virtual LAPIC, and its posted-interrupt descriptor (VT-d spec
 * 9.12) in host memory, NV the host's notification vector and NDST the host CPU. When a notification reaches that
 * CPU, {@link #syncPostedInterrupts()} does what the processor's posted-interrupt processing does: clears ON,
 * takes the PIR bits and requests those vectors in the virtual APIC.
 */
public final class Vcpu {
    /**
     * Where the vCPU is, as KVM tracks it for posted interrupts: in guest mode on its host CPU (notifications are
     * processed by the processor without a VM exit), blocked in HLT (the descriptor's NV is the wakeup vector, so
     * a notification wakes it through the host), or preempted (SN = 1: the IOMMU records in PIR and sends nothing).
     */
    public enum RunState { RUNNING, HALTED, PREEMPTED }

    /** Linux's POSTED_INTR_WAKEUP_VECTOR. */
    public static final int WAKEUP_VECTOR = 0xF1;

    private final int index;
    private final int hostCpu;
    private final VirtualLapic lapic;
    private final PhysicalMemory memory;
    private final long pid;
    private final int notificationVector;
    private final dev.vtd.vmm.exits.VmExits exits;
    private RunState state = RunState.RUNNING;
    private long postedInGuest, wakeups, syncedOnEntry;

    Vcpu(int index, int hostCpu, PhysicalMemory memory, long pidAddress, int notificationVector, int ndst,
         dev.vtd.vmm.exits.VmExits exits) {
        this.index = index;
        this.notificationVector = notificationVector;
        this.exits = exits;
        this.hostCpu = hostCpu;
        this.lapic = new VirtualLapic(index);
        this.memory = memory;
        this.pid = pidAddress;
        PostedInterruptDescriptor.of(notificationVector, ndst, false).write(memory, pidAddress);
    }

    public int index() { return index; }
    public int apicId() { return lapic.apicId(); }
    public int hostCpu() { return hostCpu; }
    public VirtualLapic lapic() { return lapic; }
    public long pidAddress() { return pid; }

    public synchronized RunState state() { return state; }
    /** Posted interrupts the processor took while the vCPU ran in guest mode (no VM exit). */
    public synchronized long postedInGuest() { return postedInGuest; }
    /** Wakeup-vector notifications that woke the vCPU from HLT. */
    public synchronized long wakeups() { return wakeups; }
    /** Posted interrupts found pending in PIR at VM entry (after a wakeup or preemption). */
    public synchronized long syncedOnEntry() { return syncedOnEntry; }

    /** The guest executes HLT: the vCPU blocks and KVM points NV at the wakeup vector (SN stays 0). */
    public synchronized void halt() {
        if (state != RunState.RUNNING) return;
        state = RunState.HALTED;
        updateControl(WAKEUP_VECTOR, false);
    }

    /** The host scheduler preempts the vCPU: SN = 1, so the IOMMU only records in PIR (9.12). */
    public synchronized void preempt() {
        if (state != RunState.RUNNING) return;
        state = RunState.PREEMPTED;
        updateControl(notificationVector, true);
    }

    /** The vCPU is scheduled in and enters guest mode: NV back to the notification vector, SN = 0, PIR synced. */
    public synchronized void resume() {
        if (state == RunState.RUNNING) return;
        state = RunState.RUNNING;
        updateControl(notificationVector, false);
        syncedOnEntry += syncPostedInterrupts();
    }

    /**
     * A notification reached the vCPU's host CPU with {@code vector}: in guest mode the processor does the
     * posted-interrupt processing (no exit); the wakeup vector wakes a halted vCPU, which syncs PIR on entry.
     */
    public synchronized void notified(int vector) {
        if (vector == WAKEUP_VECTOR && state == RunState.HALTED) {
            wakeups++;
            resume();
        } else if (vector == notificationVector && state == RunState.RUNNING) {
            postedInGuest += syncPostedInterrupts();
        }
    }

    /**
     * A host interrupt for this vCPU arrived while it ran in guest mode (the remapped, not posted, path): a VM exit
     * (external interrupt), then KVM injects the guest's vector on the next entry.
     */
    public void injectFromHost(int guestVector) {
        exits.exit(dev.vtd.vmm.exits.VmExits.Reason.EXTERNAL_INTERRUPT);
        exits.injected(guestVector);
        lapic.deliver(guestVector, false);
    }

    private void updateControl(int nv, boolean sn) {
        long ctl = pid + InterruptRemappingUnit.PID_CONTROL_OFFSET;
        while (true) {
            long c = memory.read64(ctl);
            long n = c & ~(0xFFL << InterruptRemappingUnit.PID_NV_SHIFT) & ~InterruptRemappingUnit.PID_SN
                    | (long) (nv & 0xFF) << InterruptRemappingUnit.PID_NV_SHIFT | (sn ? InterruptRemappingUnit.PID_SN : 0);
            if (memory.compareAndSet64(ctl, c, n)) return;
        }
    }

    public PostedInterruptDescriptor descriptor() {
        return PostedInterruptDescriptor.read(memory, pid);
    }

    /** Posted-interrupt processing: ON cleared, PIR drained atomically into the virtual APIC; returns vectors taken. */
    public int syncPostedInterrupts() {
        long ctl = pid + InterruptRemappingUnit.PID_CONTROL_OFFSET;
        while (true) {
            long c = memory.read64(ctl);
            if (memory.compareAndSet64(ctl, c, c & ~InterruptRemappingUnit.PID_ON)) break;
        }
        int n = 0;
        for (int q = 0; q < 4; q++) {
            long bits;
            while (true) {
                bits = memory.read64(pid + 8L * q);
                if (memory.compareAndSet64(pid + 8L * q, bits, 0)) break;
            }
            for (long b = bits; b != 0; b &= b - 1) {
                lapic.deliver(q * 64 + Long.numberOfTrailingZeros(b), true);
                n++;
            }
        }
        return n;
    }
}

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
    private final int index;
    private final int hostCpu;
    private final VirtualLapic lapic;
    private final PhysicalMemory memory;
    private final long pid;

    Vcpu(int index, int hostCpu, PhysicalMemory memory, long pidAddress, int notificationVector, int ndst) {
        this.index = index;
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

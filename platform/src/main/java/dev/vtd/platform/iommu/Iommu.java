package dev.vtd.platform.iommu;

import dev.vtd.platform.interrupt.InterruptSink;
import dev.vtd.platform.iommu.inval.DeviceTlbRegistry;
import dev.vtd.platform.iommu.inval.InvalidationQueue;
import dev.vtd.platform.iommu.ir.InterruptRemappingUnit;
import dev.vtd.platform.iommu.prq.PageRequestQueue;
import dev.vtd.platform.iommu.regs.Reg;
import dev.vtd.platform.memory.PhysicalMemory;

/**
 * A remapping unit with the blocks its ECAP advertises attached: queued invalidation (ECAP.QI)
 * interrupt remapping (ECAP.IR, with posted interrupts when CAP.PI) and page request services
 * (ECAP.PRS: the page request queue, answered through page group responses). The one call callers
 * (machines, qtest) use to get a fully wired unit:
 * {@code Iommu iommu = Iommu.create(config, memory, sink); iommu.unit()}.
 */
public final class Iommu {
    /** Default interrupt entry cache size. */
    public static final int DEFAULT_IEC_ENTRIES = 256;

    private final RemappingUnit unit;
    private final InvalidationQueue queue;
    private final InterruptRemappingUnit interruptRemapping;
    private final PageRequestQueue pageRequests;
    private final DeviceTlbRegistry deviceTlbs = new DeviceTlbRegistry();

    private Iommu(RemappingUnit.Config config, PhysicalMemory memory, InterruptSink sink) {
        this.unit = new RemappingUnit(config, memory, sink);
        this.queue = config.ecap().qi() ? new InvalidationQueue(unit, deviceTlbs) : null;
        this.interruptRemapping = config.ecap().ir() ? new InterruptRemappingUnit(unit, DEFAULT_IEC_ENTRIES) : null;
        if (queue != null && interruptRemapping != null) queue.setInterruptEntryCache(interruptRemapping);
        if (interruptRemapping != null) unit.setInterruptRemapping(interruptRemapping);
        this.pageRequests = config.ecap().prs() ? new PageRequestQueue(unit, deviceTlbs) : null;
        if (pageRequests != null) {
            unit.setPageRequestSink(pageRequests);
            if (queue != null) queue.setPageRequestDrain(pageRequests);
        }
        if (queue != null || interruptRemapping != null || pageRequests != null) unit.setRegisterExtension(new Extension());
    }

    public static Iommu create(RemappingUnit.Config config, PhysicalMemory memory, InterruptSink sink) {
        return new Iommu(config, memory, sink);
    }

    public RemappingUnit unit() { return unit; }

    /** The invalidation queue, or null without ECAP.QI. */
    public InvalidationQueue queue() { return queue; }

    /** The interrupt-remapping block, or null without ECAP.IR. */
    public InterruptRemappingUnit interruptRemapping() { return interruptRemapping; }

    /** The page request queue, or null without ECAP.PRS. */
    public PageRequestQueue pageRequests() { return pageRequests; }

    /** Device-TLBs of the unit's endpoints, for device-TLB invalidations (register them by SID). */
    public DeviceTlbRegistry deviceTlbs() { return deviceTlbs; }

    /** Dispatches the registers beyond the legacy set to the block that owns them. */
    private final class Extension implements RemappingUnit.RegisterExtension {
        @Override
        public long readQword(int off) {
            if (queue != null && InvalidationQueue.owns(off)) return queue.readQword(off);
            if (interruptRemapping != null && InterruptRemappingUnit.owns(off)) return interruptRemapping.readQword(off);
            if (pageRequests != null && PageRequestQueue.owns(off)) return pageRequests.readQword(off);
            return 0;
        }

        @Override
        public void writeQword(int off, long value, long mask) {
            if (queue != null && InvalidationQueue.owns(off)) queue.writeQword(off, value, mask);
            else if (interruptRemapping != null && InterruptRemappingUnit.owns(off)) {
                interruptRemapping.writeQword(off, value, mask);
            } else if (pageRequests != null && PageRequestQueue.owns(off)) {
                pageRequests.writeQword(off, value, mask);
            }
        }

        @Override
        public int command(int gcmd, int gsts) {
            int st = gsts;
            if (queue != null) st = queue.command(gcmd, st);
            if (interruptRemapping != null) st = interruptRemapping.command(gcmd, st);
            return st;
        }

        @Override
        public void faultStatusWritten(int value) {
            if (queue != null && (value & Reg.FSTS_IQE) != 0) queue.faultStatusWritten(value);
        }

        @Override
        public void reset() {
            if (queue != null) queue.reset();
            if (interruptRemapping != null) interruptRemapping.reset();
            if (pageRequests != null) pageRequests.reset();
        }
    }
}

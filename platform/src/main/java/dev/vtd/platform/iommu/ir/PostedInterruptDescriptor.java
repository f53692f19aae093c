package dev.vtd.platform.iommu.ir;

import dev.vtd.platform.memory.PhysicalMemory;

/**
 * The 64-byte posted-interrupt descriptor (VT-d spec 9.12): PIR bits 255:0 (one request bit per
 * vector), ON 256 (outstanding notification), SN 257 (suppress notification), NV 279:272
 * (notification vector), NDST 319:288 (notification destination: x2APIC ID, or the xAPIC ID in
 * bits 15:8), bits 511:320 reserved.
 */
public record PostedInterruptDescriptor(long[] pir, boolean outstanding, boolean suppress, int notificationVector,
                                        int notificationDestination) {
    public PostedInterruptDescriptor {
        pir = pir.clone();
        if (pir.length != 4) throw new IllegalArgumentException("PIR is 4 qwords");
    }

    public static PostedInterruptDescriptor of(int nv, int ndst, boolean sn) {
        return new PostedInterruptDescriptor(new long[4], false, sn, nv, ndst);
    }

    /** NDST for an xAPIC destination (IRTA.EIME = 0): the ID in bits 15:8. */
    public static int xapicNdst(int apicId) {
        return (apicId & 0xFF) << 8;
    }

    public static PostedInterruptDescriptor read(PhysicalMemory m, long pa) {
        long[] pir = new long[4];
        for (int i = 0; i < 4; i++) pir[i] = m.read64(pa + 8L * i);
        long c = m.read64(pa + InterruptRemappingUnit.PID_CONTROL_OFFSET);
        return new PostedInterruptDescriptor(pir, (c & InterruptRemappingUnit.PID_ON) != 0,
                (c & InterruptRemappingUnit.PID_SN) != 0, (int) ((c >>> InterruptRemappingUnit.PID_NV_SHIFT) & 0xFF),
                (int) (c >>> InterruptRemappingUnit.PID_NDST_SHIFT));
    }

    public long controlQword() {
        return (outstanding ? InterruptRemappingUnit.PID_ON : 0) | (suppress ? InterruptRemappingUnit.PID_SN : 0)
                | ((long) (notificationVector & 0xFF) << InterruptRemappingUnit.PID_NV_SHIFT)
                | ((notificationDestination & 0xFFFF_FFFFL) << InterruptRemappingUnit.PID_NDST_SHIFT);
    }

    public void write(PhysicalMemory m, long pa) {
        for (int i = 0; i < 4; i++) m.write64(pa + 8L * i, pir[i]);
        m.write64(pa + InterruptRemappingUnit.PID_CONTROL_OFFSET, controlQword());
        for (int off = 40; off < InterruptRemappingUnit.PID_SIZE; off += 8) m.write64(pa + off, 0);
    }

    public boolean requested(int vector) {
        return (pir[(vector >>> 6) & 3] & (1L << (vector & 63))) != 0;
    }

    @Override
    public long[] pir() {
        return pir.clone();
    }
}

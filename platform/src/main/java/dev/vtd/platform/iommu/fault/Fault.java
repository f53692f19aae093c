package dev.vtd.platform.iommu.fault;

/**
 * One fault condition as the unit detects it (the content of a fault recording register, VT-d spec
 * 11.4.9.3): requester (source ID), the page-aligned fault information (FI: the faulting address,
 * or for interrupt requests the interrupt index in bits 63:48), the request type, address type
 * (AT: 0 untranslated, 1 translation request, 2 translated), PASID if any, and the reason.
 */
public record Fault(int sourceId, long faultInfo, boolean read, int addressType, boolean pasidPresent, int pasid,
                    boolean exe, boolean priv, FaultReason reason) {
    public static final int AT_UNTRANSLATED = 0;
    public static final int AT_TRANSLATION_REQUEST = 1;
    public static final int AT_TRANSLATED = 2;

    public static Fault dma(int sid, long address, boolean read, FaultReason reason) {
        return new Fault(sid, address & ~0xFFFL, read, AT_UNTRANSLATED, false, 0, false, false, reason);
    }

    /** An interrupt-remapping fault: FI bits 63:48 carry the interrupt index (spec 11.4.9.3). */
    public static Fault interrupt(int sid, int index, FaultReason reason) {
        return new Fault(sid, ((long) index & 0xFFFF) << 48, false, AT_UNTRANSLATED, false, 0, false, false, reason);
    }

    /** "DMA Read" / "DMA Write" / "INTR-REMAP" as Linux's fault log line names the request. */
    public String requestKind() {
        if (reason.isInterruptRemapping()) return "INTR-REMAP";
        return read ? "DMA Read" : "DMA Write";
    }

    /** The fault the way the Linux driver logs it (dmar_fault_do_one). */
    public String linuxLine() {
        String bdf = String.format("%02x:%02x.%d", sourceId >>> 8, (sourceId >>> 3) & 0x1F, sourceId & 7);
        if (reason.isInterruptRemapping()) {
            return String.format("DMAR: [INTR-REMAP] Request device [%s] fault index 0x%x [fault reason 0x%02x] %s",
                    bdf, faultInfo >>> 48, reason.code, reason.text);
        }
        String pasidText = pasidPresent ? String.format("PASID 0x%x", pasid) : "NO_PASID";
        return String.format("DMAR: [%s %s] Request device [%s] fault addr 0x%x [fault reason 0x%02x] %s",
                requestKind(), pasidText, bdf, faultInfo, reason.code, reason.text);
    }
}

package dev.vtd.platform.iommu.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * An interrupt request (an MSI: a DWORD write of {@code data} to {@code address} in 0xFEEx_xxxx)
 * in either format (VT-d spec 5.1.2): bit 4 of the address selects compatibility (0, Intel SDM
 * 10.11 layout) or remappable (1) format.
 *
 * <p>Remappable: address 31:20 = 0xFEE, 19:5 handle[14:0], 4 = 1, 3 SHV, 2 handle[15]; data 15:0 the
 * subhandle when SHV = 1 (data 31:16 reserved then). Compatibility: address 19:12 destination
 * ID, 3 RH, 2 DM; data 7:0 vector, 10:8 delivery mode, 14 level, 15 trigger mode.
 */
public record MsiMessage(long address, int data) {
    public static final long INTERRUPT_BASE = 0xFEE0_0000L;
    public static final long HEAD_MASK = 0xFFF0_0000L;
    public static final long ADDR_FORMAT = 1L << 4;          // interrupt format: 1 = remappable
    public static final long ADDR_SHV = 1L << 3;
    public static final long ADDR_HANDLE15 = 1L << 2;
    public static final int ADDR_HANDLE_SHIFT = 5;
    public static final long ADDR_HANDLE_MASK = 0x7FFFL << ADDR_HANDLE_SHIFT;
    public static final long ADDR_RH = 1L << 3;
    public static final long ADDR_DM = 1L << 2;
    public static final int ADDR_DEST_SHIFT = 12;
    public static final int DATA_SUBHANDLE_MASK = 0xFFFF;
    public static final int DATA_DLM_SHIFT = 8;
    public static final int DATA_LEVEL = 1 << 14;
    public static final int DATA_TM = 1 << 15;

    public boolean remappable() {
        return (address & ADDR_FORMAT) != 0;
    }

    public boolean subhandleValid() {
        return (address & ADDR_SHV) != 0;
    }

    /** handle[15] from address bit 2, handle[14:0] from bits 19:5. */
    public int handle() {
        return (int) ((address & ADDR_HANDLE_MASK) >>> ADDR_HANDLE_SHIFT) | ((address & ADDR_HANDLE15) != 0 ? 1 << 15 : 0);
    }

    /** 5.1.3: interrupt_index = handle, plus the subhandle when SHV = 1. */
    public int interruptIndex() {
        return subhandleValid() ? handle() + (data & DATA_SUBHANDLE_MASK) : handle();
    }

    /** 5.1.4 fault 0x20: the request's reserved fields (upper address, data 31:16 with SHV = 1). */
    public boolean hasReservedFields() {
        if ((address >>> 32) != 0 || (address & HEAD_MASK) != INTERRUPT_BASE) return true;
        return subhandleValid() && (data & ~DATA_SUBHANDLE_MASK) != 0;
    }

    public static MsiMessage remappable(int handle, boolean shv, int subhandle) {
        long a = INTERRUPT_BASE | ADDR_FORMAT | ((long) (handle & 0x7FFF) << ADDR_HANDLE_SHIFT)
                | ((handle & 0x8000) != 0 ? ADDR_HANDLE15 : 0) | (shv ? ADDR_SHV : 0);
        return new MsiMessage(a, shv ? subhandle & DATA_SUBHANDLE_MASK : 0);
    }

    public static MsiMessage compatibility(int destination, int vector, boolean logical, boolean redirectionHint,
                                           int deliveryMode, boolean level) {
        long a = INTERRUPT_BASE | ((long) (destination & 0xFF) << ADDR_DEST_SHIFT) | (logical ? ADDR_DM : 0)
                | (redirectionHint ? ADDR_RH : 0);
        int d = (vector & 0xFF) | ((deliveryMode & 7) << DATA_DLM_SHIFT) | (level ? DATA_TM | DATA_LEVEL : DATA_LEVEL);
        return new MsiMessage(a, d);
    }

    /** Every field of the address and data in the format the address selects. */
    public List<Irte.Field> fields() {
        List<Irte.Field> f = new ArrayList<>();
        f.add(new Irte.Field("ADDR[31:20]", "31:20", String.format("0x%03x%s", (address >>> 20) & 0xFFF,
                (address & HEAD_MASK) == INTERRUPT_BASE && (address >>> 32) == 0 ? " (interrupt range)" : " (not an interrupt address)")));
        if (remappable()) {
            f.add(new Irte.Field("Interrupt Format", "addr 4", "1 (remappable)"));
            f.add(new Irte.Field("Handle", "addr 19:5,2", String.format("0x%04x (%d)", handle(), handle())));
            f.add(new Irte.Field("SHV", "addr 3", subhandleValid() ? "1 (subhandle valid)" : "0"));
            f.add(new Irte.Field("Subhandle", "data 15:0", subhandleValid()
                    ? String.format("0x%04x", data & DATA_SUBHANDLE_MASK) : "ignored (SHV=0)"));
            f.add(new Irte.Field("Interrupt Index", "", String.format("0x%04x (%d)", interruptIndex(), interruptIndex())));
            if (hasReservedFields()) f.add(new Irte.Field("reserved", "", "set (fault 0x20)"));
        } else {
            f.add(new Irte.Field("Interrupt Format", "addr 4", "0 (compatibility)"));
            f.add(new Irte.Field("Destination ID", "addr 19:12", String.format("0x%02x", (address >>> ADDR_DEST_SHIFT) & 0xFF)));
            f.add(new Irte.Field("RH", "addr 3", (address & ADDR_RH) != 0 ? "1 (redirectable)" : "0"));
            f.add(new Irte.Field("DM", "addr 2", (address & ADDR_DM) != 0 ? "1 (logical)" : "0 (physical)"));
            f.add(new Irte.Field("Vector", "data 7:0", String.format("0x%02x (%d)", data & 0xFF, data & 0xFF)));
            int dlm = (data >>> DATA_DLM_SHIFT) & 7;
            f.add(new Irte.Field("Delivery Mode", "data 10:8", dlm + " (" + Irte.deliveryModeName(dlm) + ")"));
            f.add(new Irte.Field("Level", "data 14", (data & DATA_LEVEL) != 0 ? "1 (assert)" : "0 (deassert)"));
            f.add(new Irte.Field("Trigger Mode", "data 15", (data & DATA_TM) != 0 ? "1 (level)" : "0 (edge)"));
        }
        return f;
    }
}

package dev.vtd.platform.trace;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One event of a vtd trace (format version {@value TraceFormat#VERSION}, docs/trace-format.md): a DMA
 * request with its translation or fault, an invalidation, or an interrupt request. Every record is
 * {@value TraceFormat#RECORD_BYTES} bytes, little-endian:
 *
 * <pre>
 *  0  u8   kind        1 translation, 2 invalidation, 3 interrupt
 *  1  u8   flags       translation: {@link #F_WRITE} {@link #F_PASID} {@link #F_IOTLB_HIT} {@link #F_FAULT} {@link #F_TRANSLATED}
 *                      {@link #F_ATS_REQUEST}; invalidation: {@link #F_IH} {@link #F_PASID}; interrupt: {@link #F_FAULT}
 *  2  u8   unit        index of the remapping unit in the machine
 *  3  u8   code        translation: fault reason (0 if none); invalidation: {@link Invalidation} ordinal;
 *                      interrupt: {@link InterruptPath} ordinal
 *  4  u16  sid         requester ID (bus &lt;&lt; 8 | devfn)
 *  6  u16  did         domain ID (0 where the request had none)
 *  8  u32  pasid       PASID (valid with F_PASID)
 * 12  u8   shift       translation: page size of the translation as log2 (12, 21, 30; 0 if none);
 *                      invalidation: address mask (AM)
 * 13  u8   zero
 * 14  u16  zero
 * 16  u64  addr        translation: input address; invalidation: address; interrupt: MSI address
 * 24  u64  out         translation: output address; interrupt: MSI data (low 32 bits) and vector (bits 32-39)
 * 32  u32  length      bytes of the transfer
 * 36  u32  zero
 * 40  u64  time        the machine's virtual time in ns (or a sequence number)
 * </pre>
 */
public record TraceRecord(int kind, int flags, int unit, int code, int sid, int did, int pasid, int shift,
                          long addr, long out, int length, long time) {
    public static final int KIND_TRANSLATION = 1, KIND_INVALIDATION = 2, KIND_INTERRUPT = 3;
    public static final int F_WRITE = 1, F_PASID = 1 << 1, F_IOTLB_HIT = 1 << 2, F_FAULT = 1 << 3,
            F_TRANSLATED = 1 << 4, F_ATS_REQUEST = 1 << 5, F_IH = 1 << 6;

    /** What an invalidation record removes (the granularities of 6.5.2.3, 6.5.2.4 and 6.5.2.6). */
    public enum Invalidation {
        NONE, IOTLB_GLOBAL, IOTLB_DOMAIN, IOTLB_PAGE, PASID_IOTLB_PASID, PASID_IOTLB_PAGE,
        CONTEXT_GLOBAL, CONTEXT_DOMAIN, CONTEXT_DEVICE, PASID_CACHE, DEVICE_TLB, IEC
    }

    /** How an interrupt request left the interrupt-remapping hardware. */
    public enum InterruptPath { REMAPPED, POSTED, COMPATIBILITY, BLOCKED }

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static TraceRecord translation(int unit, int sid, int did, int pasid, boolean pasidValid, long iova,
                                          boolean write, boolean iotlbHit, int faultReason, long hpa, int pageShift,
                                          int length, long time) {
        int f = (write ? F_WRITE : 0) | (pasidValid ? F_PASID : 0) | (iotlbHit ? F_IOTLB_HIT : 0)
                | (faultReason != 0 ? F_FAULT : 0);
        return new TraceRecord(KIND_TRANSLATION, f, unit, faultReason, sid, did, pasidValid ? pasid : 0,
                faultReason != 0 ? 0 : pageShift, iova, faultReason != 0 ? 0 : hpa, length, time);
    }

    public static TraceRecord invalidation(int unit, Invalidation what, int did, int pasid, boolean pasidValid,
                                           long addr, int am, boolean ih, int sid, long time) {
        int f = (ih ? F_IH : 0) | (pasidValid ? F_PASID : 0);
        return new TraceRecord(KIND_INVALIDATION, f, unit, what.ordinal(), sid, did, pasidValid ? pasid : 0, am,
                addr, 0, 0, time);
    }

    public static TraceRecord interrupt(int unit, int sid, long msiAddress, int msiData, InterruptPath path,
                                        int vector, boolean fault, long time) {
        return new TraceRecord(KIND_INTERRUPT, fault ? F_FAULT : 0, unit, path.ordinal(), sid, 0, 0, 0, msiAddress,
                (msiData & 0xFFFF_FFFFL) | (long) (vector & 0xFF) << 32, 0, time);
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** Writes the record at {@code offset} of {@code seg}. */
    public void encode(MemorySegment seg, long offset) {
        seg.set(ValueLayout.JAVA_BYTE, offset, (byte) kind);
        seg.set(ValueLayout.JAVA_BYTE, offset + 1, (byte) flags);
        seg.set(ValueLayout.JAVA_BYTE, offset + 2, (byte) unit);
        seg.set(ValueLayout.JAVA_BYTE, offset + 3, (byte) code);
        seg.set(U16, offset + 4, (short) sid);
        seg.set(U16, offset + 6, (short) did);
        seg.set(U32, offset + 8, pasid);
        seg.set(ValueLayout.JAVA_BYTE, offset + 12, (byte) shift);
        seg.set(ValueLayout.JAVA_BYTE, offset + 13, (byte) 0);
        seg.set(U16, offset + 14, (short) 0);
        seg.set(U64, offset + 16, addr);
        seg.set(U64, offset + 24, out);
        seg.set(U32, offset + 32, length);
        seg.set(U32, offset + 36, 0);
        seg.set(U64, offset + 40, time);
    }

    /**
     * Reads the record at {@code offset}; the caller has checked that a whole record is there.
     *
     * @throws TraceFormatException if a field holds a value the format does not define
     */
    public static TraceRecord decode(MemorySegment seg, long offset) throws TraceFormatException {
        check(seg, offset);
        return new TraceRecord(seg.get(ValueLayout.JAVA_BYTE, offset) & 0xFF, seg.get(ValueLayout.JAVA_BYTE, offset + 1) & 0xFF,
                seg.get(ValueLayout.JAVA_BYTE, offset + 2) & 0xFF, seg.get(ValueLayout.JAVA_BYTE, offset + 3) & 0xFF,
                seg.get(U16, offset + 4) & 0xFFFF, seg.get(U16, offset + 6) & 0xFFFF, seg.get(U32, offset + 8),
                seg.get(ValueLayout.JAVA_BYTE, offset + 12) & 0xFF, seg.get(U64, offset + 16), seg.get(U64, offset + 24),
                seg.get(U32, offset + 32), seg.get(U64, offset + 40));
    }

    /**
     * Checks, without allocating, that the record at {@code offset} holds only values the format defines.
     *
     * @throws TraceFormatException naming the field that does not
     */
    public static void check(MemorySegment seg, long offset) throws TraceFormatException {
        int kind = seg.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
        int code = seg.get(ValueLayout.JAVA_BYTE, offset + 3) & 0xFF;
        if (kind < KIND_TRANSLATION || kind > KIND_INTERRUPT) {
            throw new TraceFormatException(offset, "record kind " + kind + " is not 1 (translation), 2 (invalidation) or 3 (interrupt)");
        }
        if (kind == KIND_INVALIDATION && code >= INVALIDATIONS) {
            throw new TraceFormatException(offset, "invalidation kind " + code + " is not defined");
        }
        if (kind == KIND_INTERRUPT && code >= INTERRUPT_PATHS) {
            throw new TraceFormatException(offset, "interrupt path " + code + " is not defined");
        }
        int shift = seg.get(ValueLayout.JAVA_BYTE, offset + 12) & 0xFF;
        if (kind == KIND_TRANSLATION && shift != 0 && shift != 12 && shift != 21 && shift != 30) {
            throw new TraceFormatException(offset, "page size 2^" + shift + " is not 4 KiB, 2 MiB or 1 GiB");
        }
        if (kind == KIND_INVALIDATION && shift > 63) {
            throw new TraceFormatException(offset, "address mask " + shift + " above 63");
        }
        if (seg.get(ValueLayout.JAVA_BYTE, offset + 13) != 0 || seg.get(U16, offset + 14) != 0
                || seg.get(U32, offset + 36) != 0) {
            throw new TraceFormatException(offset, "reserved bytes are not zero");
        }
    }

    private static final int INVALIDATIONS = Invalidation.values().length, INTERRUPT_PATHS = InterruptPath.values().length;

    /** The record as one JSON object (the JSON-lines form of the trace). */
    public String toJson() {
        StringBuilder b = new StringBuilder(160);
        b.append("{\"t\":").append(time).append(",\"kind\":\"").append(kindName(kind)).append('"');
        b.append(",\"unit\":").append(unit).append(",\"sid\":\"").append(bdf(sid)).append('"');
        switch (kind) {
            case KIND_TRANSLATION -> {
                b.append(",\"did\":").append(did);
                if (has(F_PASID)) b.append(",\"pasid\":").append(pasid);
                b.append(",\"iova\":\"0x").append(Long.toHexString(addr)).append('"');
                b.append(",\"write\":").append(has(F_WRITE)).append(",\"len\":").append(Integer.toUnsignedLong(length));
                if (has(F_TRANSLATED)) b.append(",\"translated\":true");
                if (has(F_ATS_REQUEST)) b.append(",\"ats\":true");
                if (has(F_FAULT)) {
                    b.append(",\"fault\":\"0x").append(String.format("%02x", code)).append('"');
                } else {
                    b.append(",\"hpa\":\"0x").append(Long.toHexString(out)).append("\",\"shift\":").append(shift)
                            .append(",\"hit\":").append(has(F_IOTLB_HIT));
                }
            }
            case KIND_INVALIDATION -> {
                b.append(",\"what\":\"").append(Invalidation.values()[code].name().toLowerCase()).append('"');
                b.append(",\"did\":").append(did);
                if (has(F_PASID)) b.append(",\"pasid\":").append(pasid);
                b.append(",\"addr\":\"0x").append(Long.toHexString(addr)).append("\",\"am\":").append(shift)
                        .append(",\"ih\":").append(has(F_IH));
            }
            default -> {
                b.append(",\"path\":\"").append(InterruptPath.values()[code].name().toLowerCase()).append('"');
                b.append(",\"address\":\"0x").append(Long.toHexString(addr)).append("\",\"data\":\"0x")
                        .append(Long.toHexString(out & 0xFFFF_FFFFL)).append("\",\"vector\":").append(out >>> 32 & 0xFF);
                if (has(F_FAULT)) b.append(",\"fault\":true");
            }
        }
        return b.append('}').toString();
    }

    static String kindName(int kind) {
        return switch (kind) {
            case KIND_TRANSLATION -> "dma";
            case KIND_INVALIDATION -> "inval";
            default -> "irq";
        };
    }

    static String bdf(int sid) {
        return String.format("%02x:%02x.%x", sid >>> 8 & 0xFF, sid >>> 3 & 0x1F, sid & 7);
    }
}

package dev.vtd.platform.iommu.inval;

/**
 * The invalidation descriptors of the invalidation queue (VT-d spec 6.5.2), one record per type,
 * each with {@code encode()} (the low and high qwords of a 128-bit descriptor; a 256-bit queue
 * holds the same two qwords followed by two zero qwords) and decoded by {@link #decode}.
 *
 * <p>The type is bits 3:0 with bits 11:9 as its high bits (type[6:4]).
 */
public sealed interface InvalidationDescriptor {
    int TYPE_CONTEXT_CACHE = 0x1;
    int TYPE_IOTLB = 0x2;
    int TYPE_DEVICE_TLB = 0x3;
    int TYPE_IEC = 0x4;
    int TYPE_WAIT = 0x5;
    int TYPE_PASID_IOTLB = 0x6;
    int TYPE_PASID_CACHE = 0x7;
    int TYPE_PASID_DEVICE_TLB = 0x8;
    int TYPE_PAGE_GROUP_RESPONSE = 0x9;
    int TYPE_PAGE_STREAM_RESPONSE = 0xA;

    long TYPE_LO_MASK = 0xFL;
    int TYPE_HI_SHIFT = 9;
    long TYPE_HI_MASK = 0x7L << TYPE_HI_SHIFT;

    /** Granularity field G, bits 5:4 (context-cache, IOTLB, PASID-based descriptors). */
    int G_SHIFT = 4;
    int DID_SHIFT = 16;
    int PASID_SHIFT = 32;
    long PASID_MASK = 0xFFFFFL;
    /** Address and mask in the high qword (IOTLB and P_IOTLB): ADDR 63:12, IH 6, AM 5:0. */
    long HI_ADDR_MASK = ~0xFFFL;
    long HI_IH = 1L << 6;
    long HI_AM_MASK = 0x3FL;

    /** The descriptor's type code (bits 11:9 and 3:0 combined). */
    int type();

    /** Qword 0 and qword 1 of the descriptor. */
    long[] encode();

    /** Human-readable one-line summary. */
    String describe();

    static int typeOf(long q0) {
        return (int) ((q0 & TYPE_LO_MASK) | ((q0 & TYPE_HI_MASK) >>> (TYPE_HI_SHIFT - 4)));
    }

    // ------------------------------------------------------------------------------------------

    /** Context-cache invalidate (6.5.2.1): G 01 global, 10 domain, 11 device (SID with FM). */
    record ContextCacheInvalidate(int granularity, int domainId, int sourceId, int functionMask)
            implements InvalidationDescriptor {
        public static final int G_GLOBAL = 1, G_DOMAIN = 2, G_DEVICE = 3;
        static final int SID_SHIFT = 32, FM_SHIFT = 48;
        /** Defined bits of qword 0: type, G, DID, SID, FM. */
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (3L << G_SHIFT) | (0xFFFFL << DID_SHIFT)
                | (0xFFFFL << SID_SHIFT) | (3L << FM_SHIFT);

        public static ContextCacheInvalidate global() { return new ContextCacheInvalidate(G_GLOBAL, 0, 0, 0); }
        public static ContextCacheInvalidate domain(int did) { return new ContextCacheInvalidate(G_DOMAIN, did, 0, 0); }
        public static ContextCacheInvalidate device(int did, int sid, int fm) {
            return new ContextCacheInvalidate(G_DEVICE, did, sid, fm);
        }

        @Override public int type() { return TYPE_CONTEXT_CACHE; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_CONTEXT_CACHE | ((long) (granularity & 3) << G_SHIFT)
                    | ((long) (domainId & 0xFFFF) << DID_SHIFT) | ((long) (sourceId & 0xFFFF) << SID_SHIFT)
                    | ((long) (functionMask & 3) << FM_SHIFT), 0};
        }

        @Override
        public String describe() {
            return switch (granularity) {
                case G_GLOBAL -> "context-cache invalidate: global";
                case G_DOMAIN -> String.format("context-cache invalidate: domain %d", domainId);
                default -> String.format("context-cache invalidate: device %s of domain %d, FM %d",
                        bdf(sourceId), domainId, functionMask);
            };
        }
    }

    /** IOTLB invalidate (6.5.2.3): G 01 global, 10 domain, 11 page (ADDR, AM, IH); DR/DW drain. */
    record IotlbInvalidate(int granularity, boolean drainReads, boolean drainWrites, int domainId, long address,
                           int addressMask, boolean invalidationHint) implements InvalidationDescriptor {
        public static final int G_GLOBAL = 1, G_DOMAIN = 2, G_PAGE = 3;
        static final long DW = 1L << 6, DR = 1L << 7;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (3L << G_SHIFT) | DW | DR | (0xFFFFL << DID_SHIFT);
        static final long Q1_DEFINED = HI_ADDR_MASK | HI_IH | HI_AM_MASK;

        public static IotlbInvalidate global() { return new IotlbInvalidate(G_GLOBAL, true, true, 0, 0, 0, false); }
        public static IotlbInvalidate domain(int did) { return new IotlbInvalidate(G_DOMAIN, true, true, did, 0, 0, false); }
        public static IotlbInvalidate page(int did, long addr, int am, boolean ih) {
            return new IotlbInvalidate(G_PAGE, true, true, did, addr & HI_ADDR_MASK, am, ih);
        }

        @Override public int type() { return TYPE_IOTLB; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_IOTLB | ((long) (granularity & 3) << G_SHIFT) | (drainWrites ? DW : 0)
                    | (drainReads ? DR : 0) | ((long) (domainId & 0xFFFF) << DID_SHIFT),
                    (address & HI_ADDR_MASK) | (invalidationHint ? HI_IH : 0) | (addressMask & HI_AM_MASK)};
        }

        @Override
        public String describe() {
            return switch (granularity) {
                case G_GLOBAL -> "IOTLB invalidate: global";
                case G_DOMAIN -> String.format("IOTLB invalidate: domain %d", domainId);
                default -> String.format("IOTLB invalidate: domain %d, 0x%x, %d page(s)%s", domainId, address,
                        1L << addressMask, invalidationHint ? ", IH" : "");
            };
        }
    }

    /**
     * Device-TLB invalidate (6.5.2.5): to the endpoint SID's device-TLB; PFSID (physical function
     * SID, bits 15:12 and 63:52), MIP 20:16; ADDR 63:12 with S (size) bit 0 in the high qword.
     */
    record DeviceTlbInvalidate(int sourceId, int physicalFunctionSid, int maxInvalidationsPending, long address,
                               boolean sizeBit) implements InvalidationDescriptor {
        static final int PFSID_LO_SHIFT = 12, MIP_SHIFT = 16, SID_SHIFT = 32, PFSID_HI_SHIFT = 52;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (0xFL << PFSID_LO_SHIFT) | (0x1FL << MIP_SHIFT)
                | (0xFFFFL << SID_SHIFT) | (0xFFFL << PFSID_HI_SHIFT);
        static final long S = 1;
        static final long Q1_DEFINED = HI_ADDR_MASK | S;

        @Override public int type() { return TYPE_DEVICE_TLB; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_DEVICE_TLB | ((long) (physicalFunctionSid & 0xF) << PFSID_LO_SHIFT)
                    | ((long) (maxInvalidationsPending & 0x1F) << MIP_SHIFT) | ((long) (sourceId & 0xFFFF) << SID_SHIFT)
                    | ((long) ((physicalFunctionSid >>> 4) & 0xFFF) << PFSID_HI_SHIFT),
                    (address & HI_ADDR_MASK) | (sizeBit ? S : 0)};
        }

        /** The invalidation range in bytes: with S, the lowest clear bit of ADDR[63:12] gives the size (PCIe ATS). */
        public long rangeSize() {
            if (!sizeBit) return 4096;
            long a = address >>> 12;
            int zeros = Long.numberOfTrailingZeros(~a);          // count of trailing one bits
            return zeros >= 52 ? -1L >>> 1 : 1L << (12 + zeros + 1);
        }

        @Override
        public String describe() {
            return String.format("device-TLB invalidate: %s (PF %s), 0x%x, %d bytes", bdf(sourceId),
                    bdf(physicalFunctionSid), address & ~(rangeSize() - 1), rangeSize());
        }
    }

    /** Interrupt-entry-cache invalidate (6.5.2.7): G bit 4 (0 global, 1 index), IM 31:27, IIDX 47:32. */
    record IecInvalidate(boolean indexSelective, int indexMask, int index) implements InvalidationDescriptor {
        static final long G = 1L << 4;
        static final int IM_SHIFT = 27, IIDX_SHIFT = 32;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | G | (0x1FL << IM_SHIFT) | (0xFFFFL << IIDX_SHIFT);

        public static IecInvalidate global() { return new IecInvalidate(false, 0, 0); }
        public static IecInvalidate index(int index, int mask) { return new IecInvalidate(true, mask, index); }

        @Override public int type() { return TYPE_IEC; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_IEC | (indexSelective ? G : 0) | ((long) (indexMask & 0x1F) << IM_SHIFT)
                    | ((long) (index & 0xFFFF) << IIDX_SHIFT), 0};
        }

        @Override
        public String describe() {
            return indexSelective ? String.format("interrupt-entry-cache invalidate: index %d, %d entr%s", index,
                    1 << indexMask, indexMask == 0 ? "y" : "ies") : "interrupt-entry-cache invalidate: global";
        }
    }

    /**
     * Invalidation wait (6.5.2.8): IF bit 4 (interrupt via IECTL), SW 5 (write status data 63:32 to
     * the status address, high qword 63:2), FN 6 (fence), PD 7 (page-request drain).
     */
    record InvalidationWait(boolean interruptFlag, boolean statusWrite, boolean fence, boolean pageRequestDrain,
                            int statusData, long statusAddress) implements InvalidationDescriptor {
        static final long IF = 1L << 4, SW = 1L << 5, FN = 1L << 6, PD = 1L << 7;
        static final int DATA_SHIFT = 32;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | IF | SW | FN | PD | (0xFFFF_FFFFL << DATA_SHIFT);
        static final long Q1_DEFINED = ~3L;

        public static InvalidationWait status(long address, int data) {
            return new InvalidationWait(false, true, false, false, data, address);
        }

        public static InvalidationWait interrupt() {
            return new InvalidationWait(true, false, false, false, 0, 0);
        }

        @Override public int type() { return TYPE_WAIT; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_WAIT | (interruptFlag ? IF : 0) | (statusWrite ? SW : 0) | (fence ? FN : 0)
                    | (pageRequestDrain ? PD : 0) | ((statusData & 0xFFFF_FFFFL) << DATA_SHIFT), statusAddress & ~3L};
        }

        @Override
        public String describe() {
            StringBuilder sb = new StringBuilder("invalidation wait:");
            if (statusWrite) sb.append(String.format(" write 0x%08x to 0x%x", statusData, statusAddress));
            if (interruptFlag) sb.append(" interrupt");
            if (fence) sb.append(" fence");
            if (pageRequestDrain) sb.append(" page-drain");
            return sb.toString();
        }
    }

    /** PASID-based IOTLB invalidate (6.5.2.4): G 10 all of a PASID, 11 page within a PASID. */
    record PasidIotlbInvalidate(int granularity, int domainId, int pasid, long address, int addressMask,
                                boolean invalidationHint) implements InvalidationDescriptor {
        public static final int G_PASID = 2, G_PAGE = 3;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (3L << G_SHIFT) | (0xFFFFL << DID_SHIFT)
                | (PASID_MASK << PASID_SHIFT);
        static final long Q1_DEFINED = HI_ADDR_MASK | HI_IH | HI_AM_MASK;

        @Override public int type() { return TYPE_PASID_IOTLB; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_PASID_IOTLB | ((long) (granularity & 3) << G_SHIFT)
                    | ((long) (domainId & 0xFFFF) << DID_SHIFT) | ((pasid & PASID_MASK) << PASID_SHIFT),
                    (address & HI_ADDR_MASK) | (invalidationHint ? HI_IH : 0) | (addressMask & HI_AM_MASK)};
        }

        @Override
        public String describe() {
            return granularity == G_PASID ? String.format("PASID-based IOTLB invalidate: domain %d PASID 0x%x", domainId, pasid)
                    : String.format("PASID-based IOTLB invalidate: domain %d PASID 0x%x, 0x%x, %d page(s)", domainId,
                    pasid, address, 1L << addressMask);
        }
    }

    /** PASID-cache invalidate (6.5.2.2): G 00 domain, 01 PASID, 11 global (10 reserved). */
    record PasidCacheInvalidate(int granularity, int domainId, int pasid) implements InvalidationDescriptor {
        public static final int G_DOMAIN = 0, G_PASID = 1, G_GLOBAL = 3;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (3L << G_SHIFT) | (0xFFFFL << DID_SHIFT)
                | (PASID_MASK << PASID_SHIFT);

        @Override public int type() { return TYPE_PASID_CACHE; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_PASID_CACHE | ((long) (granularity & 3) << G_SHIFT)
                    | ((long) (domainId & 0xFFFF) << DID_SHIFT) | ((pasid & PASID_MASK) << PASID_SHIFT), 0};
        }

        @Override
        public String describe() {
            return switch (granularity) {
                case G_DOMAIN -> String.format("PASID-cache invalidate: domain %d", domainId);
                case G_PASID -> String.format("PASID-cache invalidate: domain %d PASID 0x%x", domainId, pasid);
                default -> "PASID-cache invalidate: global";
            };
        }
    }

    /**
     * PASID-based device-TLB invalidate (6.5.2.6): to the endpoint SID's device-TLB for one PASID;
     * qw0: MIP 8:4, PFSID 15:12 and 63:52, SID 31:16, PASID 51:32; qw1: G 0 (all PASIDs' global
     * mappings), S 11, ADDR 63:12 (S: the lowest clear bit of ADDR[63:12] gives the size).
     */
    record PasidDeviceTlbInvalidate(int sourceId, int physicalFunctionSid, int maxInvalidationsPending, int pasid,
                                    long address, boolean sizeBit, boolean global) implements InvalidationDescriptor {
        static final int MIP_SHIFT = 4, PFSID_LO_SHIFT = 12, SID_SHIFT = 16, PFSID_HI_SHIFT = 52;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | (0x1FL << MIP_SHIFT) | (0xFL << PFSID_LO_SHIFT)
                | (0xFFFFL << SID_SHIFT) | (PASID_MASK << PASID_SHIFT) | (0xFFFL << PFSID_HI_SHIFT);
        static final long G = 1, S = 1L << 11;
        static final long Q1_DEFINED = HI_ADDR_MASK | S | G;

        @Override public int type() { return TYPE_PASID_DEVICE_TLB; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_PASID_DEVICE_TLB | ((long) (maxInvalidationsPending & 0x1F) << MIP_SHIFT)
                    | ((long) (physicalFunctionSid & 0xF) << PFSID_LO_SHIFT) | ((long) (sourceId & 0xFFFF) << SID_SHIFT)
                    | ((pasid & PASID_MASK) << PASID_SHIFT) | ((long) ((physicalFunctionSid >>> 4) & 0xFFF) << PFSID_HI_SHIFT),
                    (address & HI_ADDR_MASK) | (sizeBit ? S : 0) | (global ? G : 0)};
        }

        /** The invalidation range in bytes, as for {@link DeviceTlbInvalidate#rangeSize()}. */
        public long rangeSize() {
            return new DeviceTlbInvalidate(sourceId, physicalFunctionSid, 0, address, sizeBit).rangeSize();
        }

        @Override
        public String describe() {
            return String.format("PASID-based device-TLB invalidate: %s PASID 0x%x, 0x%x, %d bytes%s", bdf(sourceId), pasid,
                    address & ~(rangeSize() - 1), rangeSize(), global ? ", global" : "");
        }
    }

    /**
     * Page group response (7.5.1 / 6.5.2.9): to requester RID; qw0: PP 4 (PASID present), PDP 5
     * (private data present), RC 15:12 (0 success, 1 invalid request, 0xF response failure),
     * RID 31:16, PASID 51:32; qw1: LPIG 2, PRGI 11:3; qw2-qw3: private data.
     */
    record PageGroupResponse(int requesterId, boolean pasidPresent, int pasid, boolean privateDataPresent,
                             int responseCode, boolean lastInGroup, int groupIndex, long privateData0,
                             long privateData1) implements InvalidationDescriptor {
        public static final int SUCCESS = 0x0, INVALID_REQUEST = 0x1, RESPONSE_FAILURE = 0xF;
        static final long PP = 1L << 4, PDP = 1L << 5;
        static final int RC_SHIFT = 12, RID_SHIFT = 16;
        static final long LPIG = 1L << 2;
        static final int PRGI_SHIFT = 3;
        static final long Q0_DEFINED = TYPE_LO_MASK | TYPE_HI_MASK | PP | PDP | (0xFL << RC_SHIFT) | (0xFFFFL << RID_SHIFT)
                | (PASID_MASK << PASID_SHIFT);
        static final long Q1_DEFINED = LPIG | (0x1FFL << PRGI_SHIFT);

        public static PageGroupResponse of(int rid, int pasidOrMinus1, int code, int groupIndex) {
            return new PageGroupResponse(rid, pasidOrMinus1 >= 0, Math.max(0, pasidOrMinus1), false, code, true,
                    groupIndex, 0, 0);
        }

        @Override public int type() { return TYPE_PAGE_GROUP_RESPONSE; }

        @Override
        public long[] encode() {
            return new long[]{TYPE_PAGE_GROUP_RESPONSE | (pasidPresent ? PP : 0) | (privateDataPresent ? PDP : 0)
                    | ((long) (responseCode & 0xF) << RC_SHIFT) | ((long) (requesterId & 0xFFFF) << RID_SHIFT)
                    | ((pasid & PASID_MASK) << PASID_SHIFT),
                    (lastInGroup ? LPIG : 0) | ((long) (groupIndex & 0x1FF) << PRGI_SHIFT), privateData0, privateData1};
        }

        @Override
        public String describe() {
            return String.format("page group response: %s %s group %d, code %d%s", bdf(requesterId),
                    pasidPresent ? String.format("PASID 0x%x", pasid) : "no PASID", groupIndex, responseCode,
                    lastInGroup ? ", last" : "");
        }
    }

    // ------------------------------------------------------------------------------------------

    /** What the unit supports, deciding which types and fields are valid. */
    record Support(boolean deviceTlb, boolean interruptRemapping, boolean scalableMode, boolean pageRequestDrain,
                   int maxAddressMask, int hostAddressWidth, boolean pageRequests) {
        public Support(boolean deviceTlb, boolean interruptRemapping, boolean scalableMode, boolean pageRequestDrain,
                       int maxAddressMask, int hostAddressWidth) {
            this(deviceTlb, interruptRemapping, scalableMode, pageRequestDrain, maxAddressMask, hostAddressWidth, false);
        }
    }

    /** A decoded descriptor, or the IQEI code ({@link QueueErrorInfo}) explaining why it is invalid. */
    record Decoded(InvalidationDescriptor descriptor, QueueErrorInfo error) {
        static Decoded ok(InvalidationDescriptor d) { return new Decoded(d, null); }
        static Decoded bad(QueueErrorInfo e) { return new Decoded(null, e); }
    }

    /**
     * Decodes one descriptor. {@code q2}/{@code q3} are the upper qwords of a 256-bit descriptor
     * (pass 0 for a 128-bit queue): the types defined in 128 bits keep them reserved.
     */
    static Decoded decode(long q0, long q1, long q2, long q3, Support s) {
        int type = typeOf(q0);
        Decoded d = switch (type) {
            case TYPE_CONTEXT_CACHE -> {
                if ((q0 & ~ContextCacheInvalidate.Q0_DEFINED) != 0 || q1 != 0) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                int g = granularity(q0);
                if (g == 0) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                yield Decoded.ok(new ContextCacheInvalidate(g, did(q0), (int) ((q0 >>> ContextCacheInvalidate.SID_SHIFT) & 0xFFFF),
                        (int) ((q0 >>> ContextCacheInvalidate.FM_SHIFT) & 3)));
            }
            case TYPE_IOTLB -> {
                if ((q0 & ~IotlbInvalidate.Q0_DEFINED) != 0 || (q1 & ~IotlbInvalidate.Q1_DEFINED) != 0) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                int g = granularity(q0);
                int am = (int) (q1 & HI_AM_MASK);
                if (g == 0 || (g == IotlbInvalidate.G_PAGE && am > s.maxAddressMask())) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                yield Decoded.ok(new IotlbInvalidate(g, (q0 & IotlbInvalidate.DR) != 0, (q0 & IotlbInvalidate.DW) != 0,
                        did(q0), q1 & HI_ADDR_MASK, am, (q1 & HI_IH) != 0));
            }
            case TYPE_DEVICE_TLB -> {
                if (!s.deviceTlb()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~DeviceTlbInvalidate.Q0_DEFINED) != 0 || (q1 & ~DeviceTlbInvalidate.Q1_DEFINED) != 0) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                int pfsid = (int) (((q0 >>> DeviceTlbInvalidate.PFSID_LO_SHIFT) & 0xF)
                        | (((q0 >>> DeviceTlbInvalidate.PFSID_HI_SHIFT) & 0xFFF) << 4));
                yield Decoded.ok(new DeviceTlbInvalidate((int) ((q0 >>> DeviceTlbInvalidate.SID_SHIFT) & 0xFFFF), pfsid,
                        (int) ((q0 >>> DeviceTlbInvalidate.MIP_SHIFT) & 0x1F), q1 & HI_ADDR_MASK,
                        (q1 & DeviceTlbInvalidate.S) != 0));
            }
            case TYPE_IEC -> {
                if (!s.interruptRemapping()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~IecInvalidate.Q0_DEFINED) != 0 || q1 != 0) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                yield Decoded.ok(new IecInvalidate((q0 & IecInvalidate.G) != 0, (int) ((q0 >>> IecInvalidate.IM_SHIFT) & 0x1F),
                        (int) ((q0 >>> IecInvalidate.IIDX_SHIFT) & 0xFFFF)));
            }
            case TYPE_WAIT -> {
                long hawMask = s.hostAddressWidth() >= 64 ? -1L : (1L << s.hostAddressWidth()) - 1;
                boolean pd = (q0 & InvalidationWait.PD) != 0;
                boolean sw = (q0 & InvalidationWait.SW) != 0;
                if ((q0 & ~InvalidationWait.Q0_DEFINED) != 0 || (q1 & ~InvalidationWait.Q1_DEFINED) != 0
                        || (pd && !s.pageRequestDrain()) || (sw && (q1 & ~hawMask) != 0)) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                yield Decoded.ok(new InvalidationWait((q0 & InvalidationWait.IF) != 0, sw, (q0 & InvalidationWait.FN) != 0,
                        pd, (int) (q0 >>> InvalidationWait.DATA_SHIFT), q1 & ~3L));
            }
            case TYPE_PASID_IOTLB -> {
                if (!s.scalableMode()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~PasidIotlbInvalidate.Q0_DEFINED) != 0 || (q1 & ~PasidIotlbInvalidate.Q1_DEFINED) != 0) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                int g = granularity(q0);
                int am = (int) (q1 & HI_AM_MASK);
                if (g < PasidIotlbInvalidate.G_PASID || (g == PasidIotlbInvalidate.G_PAGE && am > s.maxAddressMask())) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                yield Decoded.ok(new PasidIotlbInvalidate(g, did(q0), (int) ((q0 >>> PASID_SHIFT) & PASID_MASK),
                        q1 & HI_ADDR_MASK, am, (q1 & HI_IH) != 0));
            }
            case TYPE_PASID_CACHE -> {
                if (!s.scalableMode()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~PasidCacheInvalidate.Q0_DEFINED) != 0 || q1 != 0) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                int g = granularity(q0);
                if (g == 2) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                yield Decoded.ok(new PasidCacheInvalidate(g, did(q0), (int) ((q0 >>> PASID_SHIFT) & PASID_MASK)));
            }
            case TYPE_PASID_DEVICE_TLB -> {
                if (!s.scalableMode() || !s.deviceTlb()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~PasidDeviceTlbInvalidate.Q0_DEFINED) != 0 || (q1 & ~PasidDeviceTlbInvalidate.Q1_DEFINED) != 0) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                int pfsid = (int) (((q0 >>> PasidDeviceTlbInvalidate.PFSID_LO_SHIFT) & 0xF)
                        | (((q0 >>> PasidDeviceTlbInvalidate.PFSID_HI_SHIFT) & 0xFFF) << 4));
                yield Decoded.ok(new PasidDeviceTlbInvalidate((int) ((q0 >>> PasidDeviceTlbInvalidate.SID_SHIFT) & 0xFFFF),
                        pfsid, (int) ((q0 >>> PasidDeviceTlbInvalidate.MIP_SHIFT) & 0x1F),
                        (int) ((q0 >>> PASID_SHIFT) & PASID_MASK), q1 & HI_ADDR_MASK,
                        (q1 & PasidDeviceTlbInvalidate.S) != 0, (q1 & PasidDeviceTlbInvalidate.G) != 0));
            }
            case TYPE_PAGE_GROUP_RESPONSE -> {
                if (!s.scalableMode() || !s.pageRequests()) yield Decoded.bad(QueueErrorInfo.INVALID_TYPE);
                if ((q0 & ~PageGroupResponse.Q0_DEFINED) != 0 || (q1 & ~PageGroupResponse.Q1_DEFINED) != 0) {
                    yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                }
                boolean pdp = (q0 & PageGroupResponse.PDP) != 0;
                if (!pdp && (q2 != 0 || q3 != 0)) yield Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
                yield Decoded.ok(new PageGroupResponse((int) ((q0 >>> PageGroupResponse.RID_SHIFT) & 0xFFFF),
                        (q0 & PageGroupResponse.PP) != 0, (int) ((q0 >>> PASID_SHIFT) & PASID_MASK), pdp,
                        (int) ((q0 >>> PageGroupResponse.RC_SHIFT) & 0xF), (q1 & PageGroupResponse.LPIG) != 0,
                        (int) ((q1 >>> PageGroupResponse.PRGI_SHIFT) & 0x1FF), q2, q3));
            }
            // Page-stream responses (0xA) answer page-stream requests, which this unit never issues.
            default -> Decoded.bad(QueueErrorInfo.INVALID_TYPE);
        };
        if (d.error() == null && !(d.descriptor() instanceof PageGroupResponse) && (q2 != 0 || q3 != 0)) {
            return Decoded.bad(QueueErrorInfo.RESERVED_FIELD);
        }
        return d;
    }

    private static int granularity(long q0) {
        return (int) ((q0 >>> G_SHIFT) & 3);
    }

    private static int did(long q0) {
        return (int) ((q0 >>> DID_SHIFT) & 0xFFFF);
    }

    static String bdf(int sid) {
        return String.format("%02x:%02x.%d", (sid >>> 8) & 0xFF, (sid >>> 3) & 0x1F, sid & 7);
    }
}

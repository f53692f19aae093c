package dev.vtd.platform.iommu.inval;

import dev.vtd.platform.iommu.inval.InvalidationDescriptor.*;
import dev.vtd.platform.iommu.ir.Irte;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Encode/decode round trips of invalidation descriptors (6.5.2) and IRTEs (9.10/9.11), seeded. */
class DescriptorCodecTest {
    static final Support ALL = new Support(true, true, true, true, 63, 52);

    private static InvalidationDescriptor roundTrip(InvalidationDescriptor d) {
        long[] q = d.encode();
        Decoded r = InvalidationDescriptor.decode(q[0], q[1], 0, 0, ALL);
        assertNull(r.error(), d.describe());
        return r.descriptor();
    }

    @Test
    void everyDescriptorTypeSurvivesEncodeAndDecode() {
        Random r = new Random(5);
        for (int i = 0; i < 500; i++) {
            InvalidationDescriptor[] ds = {
                    new ContextCacheInvalidate(1 + r.nextInt(3), r.nextInt(0x10000), r.nextInt(0x10000), r.nextInt(4)),
                    new IotlbInvalidate(1 + r.nextInt(3), r.nextBoolean(), r.nextBoolean(), r.nextInt(0x10000),
                            (r.nextLong() & ((1L << 52) - 1)) << 12, r.nextInt(64), r.nextBoolean()),
                    new DeviceTlbInvalidate(r.nextInt(0x10000), r.nextInt(0x10000), r.nextInt(32),
                            (r.nextLong() & ((1L << 52) - 1)) << 12, r.nextBoolean()),
                    new IecInvalidate(r.nextBoolean(), r.nextInt(32), r.nextInt(0x10000)),
                    new InvalidationWait(r.nextBoolean(), r.nextBoolean(), r.nextBoolean(), r.nextBoolean(), r.nextInt(),
                            (r.nextLong() & ((1L << 50) - 1)) << 2),
                    new PasidIotlbInvalidate(2 + r.nextInt(2), r.nextInt(0x10000), r.nextInt(1 << 20),
                            (r.nextLong() & ((1L << 52) - 1)) << 12, r.nextInt(64), r.nextBoolean()),
                    new PasidCacheInvalidate(new int[]{0, 1, 3}[r.nextInt(3)], r.nextInt(0x10000), r.nextInt(1 << 20)),
            };
            for (InvalidationDescriptor d : ds) assertEquals(d, roundTrip(d), d.describe());
        }
    }

    @Test
    void typeCodeCombinesBits3To0And11To9() {
        assertEquals(0x15, InvalidationDescriptor.typeOf(0x5 | (1L << 9)));
        assertEquals(0x5, InvalidationDescriptor.typeOf(new InvalidationWait(true, true, true, true, -1, -4L).encode()[0]));
    }

    @Test
    void qemuHarnessEncodingsDecodeToTheSameDescriptors() {
        // vtdlib.py: d_cc_global, d_iotlb_global (DR|DW), d_iec_global, d_wait(sw) - the harness's qwords.
        assertEquals(ContextCacheInvalidate.global(), InvalidationDescriptor.decode(0x11, 0, 0, 0, ALL).descriptor());
        assertEquals(IotlbInvalidate.global(), InvalidationDescriptor.decode(0xD2, 0, 0, 0, ALL).descriptor());
        assertEquals(IecInvalidate.global(), InvalidationDescriptor.decode(0x4, 0, 0, 0, ALL).descriptor());
        assertEquals(InvalidationWait.status(0x50000, 0x1234ABCD),
                InvalidationDescriptor.decode(0x1234ABCD_00000025L, 0x50000, 0, 0, ALL).descriptor());
    }

    @Test
    void irteSurvivesDecodeAndEncodeInBothFormats() {
        Random r = new Random(9);
        for (int i = 0; i < 500; i++) {
            long lo = r.nextLong() & Irte.LO_REMAPPED_DEFINED & ~Irte.IM;
            long hi = r.nextLong() & Irte.HI_REMAPPED_DEFINED;
            Irte e = Irte.decode(lo, hi);
            assertArrayEquals(new long[]{lo, hi}, e.encode());
            assertEquals(e, Irte.decode(e.rawLo(), e.rawHi()));
            long pda = (r.nextLong() & ((1L << 46) - 1)) & ~63L;
            Irte p = Irte.postedEntry(r.nextInt(256), pda, r.nextBoolean());
            assertEquals(pda, p.descriptorAddress());
            assertTrue(p.posted());
        }
    }

    @Test
    void remappedIrteFieldsAreWhereTheSpecificationPutsThem() {
        Irte e = Irte.remapped(0x40, Irte.xapicDestination(2), true, true, true, 1).withSourceValidation(Irte.SVT_SID, 3, 0x20);
        assertEquals(0x0000_0200_0040_003DL, e.rawLo());       // P (0) DM (2) RH (3) TM (4) DLM=1 (7:5), V 0x40, DST 0x200
        assertEquals(0x7_0020L, e.rawHi());                     // SVT 01, SQ 11, SID 0x20
        assertEquals(2, e.apicId(false));
    }
}

package dev.vtd.firmware.acpi.ivrs;

import java.nio.ByteBuffer;
import java.util.List;

/** A subtable after the IVRS header: an IVHD (10h, 11h, 40h), an IVMD (20h, 21h, 22h) or a type kept raw. */
public sealed interface IvrsSubtable {
    int type();

    int length();

    void encodeTo(ByteBuffer b);

    /**
     * I/O Virtualization Hardware Definition. Header (24 bytes for 10h, 40 for 11h/40h): type, flags, length,
     * IOMMU device ID (4), capability offset (6), IOMMU base address (8), PCI segment group (16), IOMMU info
     * (18: MSI number 4:0, UnitID 12:8), then for 10h the IOMMU Feature Reporting dword (20), for 11h/40h the
     * IOMMU Attributes dword (20), the EFR register image (24) and EFR register image 2 (32, reserved in older
     * revisions). Device entries fill the rest.
     *
     * <p>Flags: HtTunEn 0, PassPW 1, ResPassPW 2, Isoc 3, IotlbSup 4, Coherent 5, PreFSup 6, PPRSup 7.
     */
    record Ivhd(int type, int flags, int deviceId, int capabilityOffset, long baseAddress, int segment,
                int iommuInfo, long featureInfo, long efrImage, long efrImage2, List<IvhdDeviceEntry> entries)
            implements IvrsSubtable {
        public static final int FLAG_HT_TUN_EN = 1, FLAG_PASS_PW = 1 << 1, FLAG_RES_PASS_PW = 1 << 2,
                FLAG_ISOC = 1 << 3, FLAG_IOTLB_SUP = 1 << 4, FLAG_COHERENT = 1 << 5, FLAG_PREF_SUP = 1 << 6,
                FLAG_PPR_SUP = 1 << 7;

        public Ivhd {
            if (!Ivrs.isIvhd(type)) throw new IllegalArgumentException("IVHD type 0x" + Integer.toHexString(type));
            Ivrs.checkUnsigned("IVHD flags", flags, 8);
            Ivrs.checkUnsigned("IOMMU device ID", deviceId, 16);
            Ivrs.checkUnsigned("capability offset", capabilityOffset, 16);
            Ivrs.checkUnsigned("PCI segment group", segment, 16);
            Ivrs.checkUnsigned("IOMMU info", iommuInfo, 16);
            Ivrs.checkUnsigned(type == Ivrs.IVHD_10 ? "IOMMU feature reporting" : "IOMMU attributes", featureInfo, 32);
            if (type == Ivrs.IVHD_10 && (efrImage != 0 || efrImage2 != 0)) {
                throw new IllegalArgumentException("IVHD type 10h has no EFR image");
            }
            entries = List.copyOf(entries);
            int n = Ivrs.ivhdHeaderLength(type);
            for (IvhdDeviceEntry e : entries) n += e.length();
            if (n > 0xFFFF) throw new IllegalArgumentException("IVHD longer than 65535 bytes");
        }

        public int headerLength() {
            return Ivrs.ivhdHeaderLength(type);
        }

        public int length() {
            int n = headerLength();
            for (IvhdDeviceEntry e : entries) n += e.length();
            return n;
        }

        /** MSI message number the IOMMU uses for its event/PPR log interrupts (IOMMU info bits 4:0). */
        public int msiNumber() {
            return iommuInfo & 0x1F;
        }

        /** HyperTransport UnitID (IOMMU info bits 12:8). */
        public int unitId() {
            return iommuInfo >>> 8 & 0x1F;
        }

        public void encodeTo(ByteBuffer b) {
            b.put((byte) type).put((byte) flags).putShort((short) length()).putShort((short) deviceId)
                    .putShort((short) capabilityOffset).putLong(baseAddress).putShort((short) segment)
                    .putShort((short) iommuInfo).putInt((int) featureInfo);
            if (type != Ivrs.IVHD_10) b.putLong(efrImage).putLong(efrImage2);
            for (IvhdDeviceEntry e : entries) e.encodeTo(b);
        }
    }

    /**
     * I/O Virtualization Memory Definition (32 bytes): 20h applies to all peripherals, 21h to the one in
     * {@code deviceId}, 22h to the range {@code deviceId}..{@code auxiliaryData}. Flags: Unity 0, IR 1, IW 2,
     * ExclusionRange 3. Bytes 8-15 are reserved.
     */
    record Ivmd(int type, int flags, int deviceId, int auxiliaryData, long startAddress, long memoryLength)
            implements IvrsSubtable {
        public static final int FLAG_UNITY = 1, FLAG_IR = 1 << 1, FLAG_IW = 1 << 2, FLAG_EXCLUSION_RANGE = 1 << 3;

        public Ivmd {
            if (!Ivrs.isIvmd(type)) throw new IllegalArgumentException("IVMD type 0x" + Integer.toHexString(type));
            Ivrs.checkUnsigned("IVMD flags", flags, 8);
            Ivrs.checkUnsigned("device ID", deviceId, 16);
            Ivrs.checkUnsigned("auxiliary data", auxiliaryData, 16);
        }

        public int length() {
            return Ivrs.IVMD_LENGTH;
        }

        public void encodeTo(ByteBuffer b) {
            b.put((byte) type).put((byte) flags).putShort((short) Ivrs.IVMD_LENGTH).putShort((short) deviceId)
                    .putShort((short) auxiliaryData).putLong(0).putLong(startAddress).putLong(memoryLength);
        }
    }

    /** A subtable of a type this model does not decode, skipped by its length as Linux skips it; kept raw. */
    record Unknown(byte[] raw) implements IvrsSubtable {
        public Unknown {
            if (raw.length < Ivrs.SUBTABLE_HEADER_LENGTH || raw.length > 0xFFFF
                    || ((raw[2] & 0xFF) | (raw[3] & 0xFF) << 8) != raw.length) {
                throw new IllegalArgumentException("raw subtable must hold its own length");
            }
            raw = raw.clone();
        }

        public byte[] raw() {
            return raw.clone();
        }

        public int type() {
            return raw[0] & 0xFF;
        }

        public int length() {
            return raw.length;
        }

        public void encodeTo(ByteBuffer b) {
            b.put(raw);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && java.util.Arrays.equals(raw, u.raw);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(raw);
        }

        @Override
        public String toString() {
            return "Unknown[type=0x" + Integer.toHexString(type()) + ", length=" + raw.length + "]";
        }
    }
}

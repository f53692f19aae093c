package dev.vtd.firmware.acpi.ivrs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An IVHD device entry. The entry type's bits 7:6 give the length of the fixed-size kinds (00b: 4 bytes,
 * 01b: 8 bytes); type F0h (ACPI HID device) is variable: 22 bytes plus the UID length in byte 21.
 */
public sealed interface IvhdDeviceEntry {
    int type();

    /** Device ID (bus << 8 | device << 3 | function) in bytes 1-2. */
    int deviceId();

    /** DTE setting byte (3): INITPass 0, EIntPass 1, NMIPass 2, SysMgt 5:4, Lint0Pass 6, Lint1Pass 7. */
    int dataSetting();

    int length();

    void encodeTo(ByteBuffer b);

    /** 4-byte entries: padding 00h, all 01h, select 02h, start of range 03h, end of range 04h, reserved 05h-3Fh. */
    record Fixed4(int type, int deviceId, int dataSetting) implements IvhdDeviceEntry {
        public Fixed4 {
            if (type < 0 || type > 0x3F) throw new IllegalArgumentException("4-byte entry type 0x" + Integer.toHexString(type));
            Ivrs.checkUnsigned("device ID", deviceId, 16);
            Ivrs.checkUnsigned("data setting", dataSetting, 8);
        }

        public int length() {
            return 4;
        }

        public void encodeTo(ByteBuffer b) {
            b.put((byte) type).putShort((short) deviceId).put((byte) dataSetting);
        }
    }

    /**
     * 8-byte entries (types 40h-7Fh): bytes 4-7 as one little-endian dword {@code data}. Alias select 42h and
     * alias range 43h: source device ID in bytes 5-6; extended select 46h and range 47h: extended DTE setting
     * (bit 31 ATS disabled); special 48h: handle (byte 4), source/used device ID (5-6), variety (7: 1 IOAPIC,
     * 2 HPET).
     */
    record Fixed8(int type, int deviceId, int dataSetting, long data) implements IvhdDeviceEntry {
        public Fixed8 {
            if (type < 0x40 || type > 0x7F) throw new IllegalArgumentException("8-byte entry type 0x" + Integer.toHexString(type));
            Ivrs.checkUnsigned("device ID", deviceId, 16);
            Ivrs.checkUnsigned("data setting", dataSetting, 8);
            Ivrs.checkUnsigned("entry data", data, 32);
        }

        public int length() {
            return 8;
        }

        public void encodeTo(ByteBuffer b) {
            b.put((byte) type).putShort((short) deviceId).put((byte) dataSetting).putInt((int) data);
        }

        /** Alias entries: the device ID the IOMMU sees for requests of the range (bytes 5-6). */
        public int sourceDeviceId() {
            return (int) (data >>> 8) & 0xFFFF;
        }

        public long extendedSetting() {
            return data;
        }

        public int handle() {
            return (int) data & 0xFF;
        }

        public int variety() {
            return (int) (data >>> 24) & 0xFF;
        }
    }

    /**
     * ACPI HID device entry (F0h): HID (8 bytes, 4-11), CID (8 bytes, 12-19), UID format (20: 0 none,
     * 1 integer, 2 string), UID length (21), UID. Byte strings are kept as ISO-8859-1 text (one char per byte).
     */
    record AcpiHid(int deviceId, int dataSetting, String hid, String cid, int uidFormat, String uid)
            implements IvhdDeviceEntry {
        public AcpiHid {
            Ivrs.checkUnsigned("device ID", deviceId, 16);
            Ivrs.checkUnsigned("data setting", dataSetting, 8);
            Ivrs.checkUnsigned("UID format", uidFormat, 8);
            hid = fixed8("HID", hid);
            cid = fixed8("CID", cid);
            if (uid.length() > 255 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(uid)) {
                throw new IllegalArgumentException("UID must be at most 255 single-byte characters");
            }
        }

        private static String fixed8(String what, String s) {
            if (s.length() > 8 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(s)) {
                throw new IllegalArgumentException(what + " '" + s + "' must be at most 8 single-byte characters");
            }
            return s + "\0".repeat(8 - s.length());
        }

        public int type() {
            return Ivrs.DEV_ACPI_HID;
        }

        public int length() {
            return 22 + uid.length();
        }

        public void encodeTo(ByteBuffer b) {
            b.put((byte) Ivrs.DEV_ACPI_HID).putShort((short) deviceId).put((byte) dataSetting);
            b.put(hid.getBytes(StandardCharsets.ISO_8859_1)).put(cid.getBytes(StandardCharsets.ISO_8859_1));
            b.put((byte) uidFormat).put((byte) uid.length()).put(uid.getBytes(StandardCharsets.ISO_8859_1));
        }

        /** CID as a little-endian 64-bit number (iasl shows it so). */
        public long cidValue() {
            long v = 0;
            for (int i = 7; i >= 0; i--) v = v << 8 | (cid.charAt(i) & 0xFF);
            return v;
        }
    }

    static Fixed4 select(int deviceId, int dataSetting) {
        return new Fixed4(Ivrs.DEV_SELECT, deviceId, dataSetting);
    }

    static Fixed4 all(int dataSetting) {
        return new Fixed4(Ivrs.DEV_ALL, 0, dataSetting);
    }

    static Fixed4 rangeStart(int deviceId, int dataSetting) {
        return new Fixed4(Ivrs.DEV_RANGE_START, deviceId, dataSetting);
    }

    static Fixed4 rangeEnd(int deviceId) {
        return new Fixed4(Ivrs.DEV_RANGE_END, deviceId, 0);
    }

    static Fixed8 alias(boolean range, int deviceId, int dataSetting, int sourceDeviceId) {
        Ivrs.checkUnsigned("source device ID", sourceDeviceId, 16);
        return new Fixed8(range ? Ivrs.DEV_ALIAS_RANGE : Ivrs.DEV_ALIAS_SELECT, deviceId, dataSetting,
                (long) sourceDeviceId << 8);
    }

    static Fixed8 extended(boolean range, int deviceId, int dataSetting, long extendedSetting) {
        return new Fixed8(range ? Ivrs.DEV_EXT_RANGE : Ivrs.DEV_EXT_SELECT, deviceId, dataSetting, extendedSetting);
    }

    /** Special device 48h: an IOAPIC (variety 1) or HPET (2) with its handle (IOAPIC ID / HPET number). */
    static Fixed8 special(int variety, int handle, int usedDeviceId, int dataSetting) {
        Ivrs.checkUnsigned("handle", handle, 8);
        Ivrs.checkUnsigned("variety", variety, 8);
        Ivrs.checkUnsigned("source device ID", usedDeviceId, 16);
        return new Fixed8(Ivrs.DEV_SPECIAL, 0, dataSetting, handle | (long) usedDeviceId << 8 | (long) variety << 24);
    }

    static Fixed8 ioapic(int id, int usedDeviceId, int dataSetting) {
        return special(Ivrs.VARIETY_IOAPIC, id, usedDeviceId, dataSetting);
    }

    static Fixed8 hpet(int id, int usedDeviceId) {
        return special(Ivrs.VARIETY_HPET, id, usedDeviceId, 0);
    }
}

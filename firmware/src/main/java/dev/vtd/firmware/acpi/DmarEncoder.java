package dev.vtd.firmware.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds the binary DMAR table: little-endian fields, the length field and the ACPI checksum (ACPI 5.2.6). */
public final class DmarEncoder {
    private DmarEncoder() {}

    public static byte[] encode(DmarTable t) {
        int length = t.length();
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Dmar.SIGNATURE.getBytes(StandardCharsets.US_ASCII));
        b.putInt(length);
        b.put((byte) t.revision());
        b.put((byte) 0); // checksum, filled in below
        b.put(t.oemId().getBytes(StandardCharsets.ISO_8859_1));
        b.put(t.oemTableId().getBytes(StandardCharsets.ISO_8859_1));
        b.putInt((int) t.oemRevision());
        b.put(t.creatorId().getBytes(StandardCharsets.ISO_8859_1));
        b.putInt((int) t.creatorRevision());
        b.put((byte) t.hostAddressWidthField());
        b.put((byte) t.flags());
        b.put(new byte[Dmar.RESERVED_LENGTH]);
        for (DmarStructure s : t.structures()) {
            s.encodeTo(b);
        }
        byte[] out = b.array();
        out[Dmar.OFF_CHECKSUM] = (byte) -sum(out);
        return out;
    }

    /** Sum of all bytes mod 256; 0 for a table with a valid checksum. */
    public static int sum(byte[] bytes) {
        int s = 0;
        for (byte x : bytes) s += x;
        return s & 0xFF;
    }
}

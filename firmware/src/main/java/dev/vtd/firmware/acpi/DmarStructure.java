package dev.vtd.firmware.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * A remapping structure of the DMAR table (VT-d spec 8.2): every one starts with a 2-byte type and a 2-byte
 * length. Known types are records with their decoded fields; others are kept as {@link Unknown} raw bytes so
 * a table round-trips unchanged.
 */
public sealed interface DmarStructure {
    /** The structure type (one of {@code Dmar.TYPE_*}). */
    int type();

    /** Encoded length in bytes (the value of the length field). */
    int length();

    /** Writes the structure, header included, at the buffer's position (little-endian buffer). */
    void encodeTo(ByteBuffer out);

    /** The encoded structure on its own. */
    default byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(length()).order(ByteOrder.LITTLE_ENDIAN);
        encodeTo(b);
        return b.array();
    }

    /** Largest value of the 16-bit structure length field. */
    int MAX_LENGTH = 0xFFFF;

    private static int scopesLength(List<DeviceScope> scopes) {
        int n = 0;
        for (DeviceScope s : scopes) n += s.length();
        return n;
    }

    private static void putHeader(ByteBuffer out, int type, int length) {
        out.putShort((short) type).putShort((short) length);
    }

    private static void putScopes(ByteBuffer out, List<DeviceScope> scopes) {
        for (DeviceScope s : scopes) s.encodeTo(out);
    }

    /** The layout ATSR and SATC share: header, flags (1), reserved (1), segment (2), scopes. */
    private static void putFlagsSegmentScopes(ByteBuffer out, int type, int length, int flags, int segment,
                                              List<DeviceScope> scopes) {
        putHeader(out, type, length);
        out.put((byte) flags).put((byte) 0).putShort((short) segment);
        putScopes(out, scopes);
    }

    private static void checkLength(String what, int length) {
        if (length > MAX_LENGTH) {
            throw new IllegalArgumentException(what + " length " + length + " exceeds the 16-bit length field");
        }
    }

    /**
     * DMA Remapping Hardware Unit Definition (VT-d 8.3): one remapping unit, its register page and the devices
     * it translates. Layout: header (4), flags (1), size (1; reserved before VT-d 3.x), segment (2), register
     * base address (8), device scopes.
     *
     * @param flags        {@link #FLAG_INCLUDE_PCI_ALL}
     * @param size         register set size: 2^N 4 KiB pages in bits 3:0 (0 in tables that predate the field)
     * @param segment      PCI segment number
     * @param registerBase base address of the unit's register set
     * @param scopes       devices in scope (IOAPIC/HPET/namespace only when INCLUDE_PCI_ALL is set)
     */
    record Drhd(int flags, int size, int segment, long registerBase, List<DeviceScope> scopes)
            implements DmarStructure {
        public static final int FLAG_INCLUDE_PCI_ALL = 1 << 0;
        public static final int HEADER_LENGTH = 16;
        /** Bits 3:0 of the size field. */
        public static final int SIZE_MASK = 0xF;

        public Drhd {
            Dmar.checkUnsigned("DRHD flags", flags, 8);
            Dmar.checkUnsigned("DRHD size", size, 8);
            Dmar.checkUnsigned("DRHD segment", segment, 16);
            scopes = List.copyOf(scopes);
            checkLength("DRHD", HEADER_LENGTH + scopesLength(scopes));
        }

        public boolean includePciAll() {
            return (flags & FLAG_INCLUDE_PCI_ALL) != 0;
        }

        /** Number of 4 KiB pages of the register set the size field announces (2^N). */
        public int registerSetPages() {
            return 1 << (size & SIZE_MASK);
        }

        @Override public int type() { return Dmar.TYPE_DRHD; }

        @Override public int length() { return HEADER_LENGTH + scopesLength(scopes); }

        @Override
        public void encodeTo(ByteBuffer out) {
            putHeader(out, type(), length());
            out.put((byte) flags).put((byte) size).putShort((short) segment).putLong(registerBase);
            putScopes(out, scopes);
        }
    }

    /**
     * Reserved Memory Region Reporting (VT-d 8.4): memory the listed devices may DMA to before and after the OS
     * takes over. Layout: header (4), reserved (2), segment (2), base (8), limit (8, inclusive end), scopes.
     */
    record Rmrr(int segment, long base, long limit, List<DeviceScope> scopes) implements DmarStructure {
        public static final int HEADER_LENGTH = 24;

        public Rmrr {
            Dmar.checkUnsigned("RMRR segment", segment, 16);
            scopes = List.copyOf(scopes);
            checkLength("RMRR", HEADER_LENGTH + scopesLength(scopes));
        }

        @Override public int type() { return Dmar.TYPE_RMRR; }

        @Override public int length() { return HEADER_LENGTH + scopesLength(scopes); }

        @Override
        public void encodeTo(ByteBuffer out) {
            putHeader(out, type(), length());
            out.putShort((short) 0).putShort((short) segment).putLong(base).putLong(limit);
            putScopes(out, scopes);
        }
    }

    /**
     * Root Port ATS Capability Reporting (VT-d 8.5). Layout: header (4), flags (1), reserved (1), segment (2),
     * scopes (sub-hierarchy root ports, empty when ALL_PORTS is set).
     */
    record Atsr(int flags, int segment, List<DeviceScope> scopes) implements DmarStructure {
        public static final int FLAG_ALL_PORTS = 1 << 0;
        public static final int HEADER_LENGTH = 8;

        public Atsr {
            Dmar.checkUnsigned("ATSR flags", flags, 8);
            Dmar.checkUnsigned("ATSR segment", segment, 16);
            scopes = List.copyOf(scopes);
            checkLength("ATSR", HEADER_LENGTH + scopesLength(scopes));
        }

        public boolean allPorts() {
            return (flags & FLAG_ALL_PORTS) != 0;
        }

        @Override public int type() { return Dmar.TYPE_ATSR; }

        @Override public int length() { return HEADER_LENGTH + scopesLength(scopes); }

        @Override
        public void encodeTo(ByteBuffer out) {
            putFlagsSegmentScopes(out, type(), length(), flags, segment, scopes);
        }
    }

    /**
     * Remapping Hardware Static Affinity (VT-d 8.6): the NUMA proximity domain of a DRHD's unit. Layout:
     * header (4), reserved (4), register base address (8), proximity domain (4).
     */
    record Rhsa(long registerBase, long proximityDomain) implements DmarStructure {
        public static final int LENGTH = 20;

        public Rhsa {
            Dmar.checkUnsigned("RHSA proximity domain", proximityDomain, 32);
        }

        @Override public int type() { return Dmar.TYPE_RHSA; }

        @Override public int length() { return LENGTH; }

        @Override
        public void encodeTo(ByteBuffer out) {
            putHeader(out, type(), LENGTH);
            out.putInt(0).putLong(registerBase).putInt((int) proximityDomain);
        }
    }

    /**
     * ACPI Name-space Device Declaration (VT-d 8.7): names the ACPI object behind a namespace-device scope.
     * Layout: header (4), reserved (3), ACPI device number (1), NUL-terminated object name, zero padding up to
     * the length. Firmware often pads (to 0x1C); {@code length} keeps the structure's own length so such
     * tables round-trip.
     *
     * @param deviceNumber matches the enumeration ID of a namespace-device scope
     * @param name         the object path, e.g. {@code \_SB.PCI0.I2C0} (bytes as ISO-8859-1 characters)
     * @param length       encoded length, at least {@link #minimalLength(String)}
     */
    record Andd(int deviceNumber, String name, int length) implements DmarStructure {
        public static final int HEADER_LENGTH = 8;

        public Andd {
            Dmar.checkUnsigned("ANDD device number", deviceNumber, 8);
            if (name.indexOf('\0') >= 0 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(name)) {
                throw new IllegalArgumentException("ANDD name must be single-byte characters without NUL: " + name);
            }
            if (length < minimalLength(name)) {
                throw new IllegalArgumentException("ANDD length " + length + " is shorter than the "
                        + minimalLength(name) + " bytes its name needs");
            }
            checkLength("ANDD", length);
        }

        /** An ANDD of minimal length (header, name, NUL). */
        public Andd(int deviceNumber, String name) {
            this(deviceNumber, name, minimalLength(name));
        }

        public static int minimalLength(String name) {
            return HEADER_LENGTH + name.length() + 1;
        }

        @Override public int type() { return Dmar.TYPE_ANDD; }

        @Override
        public void encodeTo(ByteBuffer out) {
            putHeader(out, type(), length);
            out.put((byte) 0).put((byte) 0).put((byte) 0).put((byte) deviceNumber);
            out.put(name.getBytes(StandardCharsets.ISO_8859_1));
            for (int i = HEADER_LENGTH + name.length(); i < length; i++) out.put((byte) 0);
        }
    }

    /**
     * SoC Integrated Address Translation Cache reporting (VT-d 8.8). Layout: header (4), flags (1),
     * reserved (1), segment (2), scopes.
     */
    record Satc(int flags, int segment, List<DeviceScope> scopes) implements DmarStructure {
        public static final int FLAG_ATC_REQUIRED = 1 << 0;
        public static final int HEADER_LENGTH = 8;

        public Satc {
            Dmar.checkUnsigned("SATC flags", flags, 8);
            Dmar.checkUnsigned("SATC segment", segment, 16);
            scopes = List.copyOf(scopes);
            checkLength("SATC", HEADER_LENGTH + scopesLength(scopes));
        }

        public boolean atcRequired() {
            return (flags & FLAG_ATC_REQUIRED) != 0;
        }

        @Override public int type() { return Dmar.TYPE_SATC; }

        @Override public int length() { return HEADER_LENGTH + scopesLength(scopes); }

        @Override
        public void encodeTo(ByteBuffer out) {
            putFlagsSegmentScopes(out, type(), length(), flags, segment, scopes);
        }
    }

    /**
     * SoC Integrated Device Property reporting (VT-d 8.9): per-device properties carried in the device scope
     * flags. Layout: header (4), reserved (2), segment (2), scopes.
     */
    record Sidp(int segment, List<DeviceScope> scopes) implements DmarStructure {
        public static final int HEADER_LENGTH = 8;

        public Sidp {
            Dmar.checkUnsigned("SIDP segment", segment, 16);
            scopes = List.copyOf(scopes);
            checkLength("SIDP", HEADER_LENGTH + scopesLength(scopes));
        }

        @Override public int type() { return Dmar.TYPE_SIDP; }

        @Override public int length() { return HEADER_LENGTH + scopesLength(scopes); }

        @Override
        public void encodeTo(ByteBuffer out) {
            putHeader(out, type(), length());
            out.putShort((short) 0).putShort((short) segment);
            putScopes(out, scopes);
        }
    }

    /**
     * A structure of a type this model does not know (reserved for future use by the specification), kept
     * byte for byte, header included.
     */
    record Unknown(byte[] bytes) implements DmarStructure {
        public Unknown {
            bytes = bytes.clone();
            if (bytes.length < Dmar.STRUCTURE_HEADER_LENGTH || bytes.length > MAX_LENGTH) {
                throw new IllegalArgumentException("structure of " + bytes.length + " bytes has no room for its header");
            }
            int declared = (bytes[2] & 0xFF) | (bytes[3] & 0xFF) << 8;
            if (declared != bytes.length) {
                throw new IllegalArgumentException("length field " + declared + " differs from " + bytes.length + " bytes");
            }
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override public int type() { return (bytes[0] & 0xFF) | (bytes[1] & 0xFF) << 8; }

        @Override public int length() { return bytes.length; }

        @Override
        public void encodeTo(ByteBuffer out) {
            out.put(bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && Arrays.equals(bytes, u.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Unknown[" + HexFormat.of().formatHex(bytes) + "]";
        }
    }
}

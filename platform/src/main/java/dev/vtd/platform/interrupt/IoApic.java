package dev.vtd.platform.interrupt;

import dev.vtd.platform.bus.MmioDevice;

/**
 * An I/O APIC (82093AA / ICH register model, version 0x20): 24 input pins, IOREGSEL at 0x00, IOWIN
 * at 0x10 and the EOI register at 0x40 of its MMIO window (e.g. at 0xFEC00000). Registers: 0x00 ID
 * (27:24), 0x01 VER (version 7:0, maximum redirection entry 23:16), 0x02 ARB, 0x10 + 2n the
 * redirection table entry of pin n (low dword, then high dword).
 *
 * <p>A redirection entry is in compatibility format (bit 48 = 0: destination 63:56, DM 11, delivery
 * mode 10:8) or, with interrupt remapping, remappable format (VT-d spec 5.1.5.1: bit 48 = 1,
 * interrupt index[14:0] in 63:49 and index[15] in bit 11, 10:8 = 000b); both keep vector 7:0,
 * polarity 13, remote IRR 14 (RO), trigger mode 15 and mask 16. Interrupt requests go out through
 * an {@link InterruptRequestPort} with the IOAPIC's source ID (from the DMAR device scope).
 * Pin levels are logical: {@code asserted} already accounts for the pin's polarity.
 */
public final class IoApic implements MmioDevice {
    public static final int PINS = 24;
    public static final int VERSION = 0x20;
    public static final long DEFAULT_BASE = 0xFEC0_0000L;
    public static final int IOREGSEL = 0x00, IOWIN = 0x10, EOI = 0x40;
    public static final int REG_ID = 0x00, REG_VER = 0x01, REG_ARB = 0x02, REG_REDTBL = 0x10;

    public static final long RTE_VECTOR_MASK = 0xFF;
    public static final int RTE_DLM_SHIFT = 8;
    public static final long RTE_DM = 1L << 11;
    public static final long RTE_INDEX15 = 1L << 11;
    public static final long RTE_DELIVERY_STATUS = 1L << 12;
    public static final long RTE_POLARITY = 1L << 13;
    public static final long RTE_REMOTE_IRR = 1L << 14;
    public static final long RTE_TM = 1L << 15;
    public static final long RTE_MASK = 1L << 16;
    public static final long RTE_FORMAT = 1L << 48;
    public static final int RTE_INDEX_SHIFT = 49;
    public static final int RTE_DEST_SHIFT = 56;
    /** Bits software cannot write: delivery status and remote IRR. */
    static final long RTE_READ_ONLY = RTE_DELIVERY_STATUS | RTE_REMOTE_IRR;
    /** Bits 47:17 are reserved in compatibility format; in remappable format 47:17 stay reserved too. */
    static final long RTE_WRITABLE = 0xFFFF_0000_0001_FFFFL & ~RTE_READ_ONLY;

    private final int sourceId;
    private final InterruptRequestPort port;
    private int id;
    private int ioregsel;
    private final long[] rte = new long[PINS];
    private final boolean[] level = new boolean[PINS];
    private long requestsSent;

    public IoApic(int apicId, int sourceId, InterruptRequestPort port) {
        this.id = apicId & 0xF;
        this.sourceId = sourceId & 0xFFFF;
        this.port = port;
        for (int i = 0; i < PINS; i++) rte[i] = RTE_MASK;       // reset: every pin masked
    }

    public int sourceId() { return sourceId; }

    @Override
    public long length() { return 0x100; }

    @Override
    public synchronized long read(long offset, int size) {
        if (offset == IOREGSEL) return ioregsel;
        if (offset == IOWIN) return readRegister(ioregsel) & 0xFFFF_FFFFL;
        return size >= 8 ? -1L : (1L << (8 * Math.max(1, size))) - 1;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == IOREGSEL) {
            synchronized (this) { ioregsel = (int) value & 0xFF; }
        } else if (offset == IOWIN) {
            writeRegister(ioregselValue(), (int) value);
        } else if (offset == EOI) {
            eoi((int) value & 0xFF);
        }
    }

    private synchronized int ioregselValue() { return ioregsel; }

    public synchronized int readRegister(int index) {
        if (index == REG_ID) return id << 24;
        if (index == REG_VER) return VERSION | ((PINS - 1) << 16);
        if (index == REG_ARB) return id << 24;
        if (index >= REG_REDTBL && index < REG_REDTBL + 2 * PINS) {
            long e = rte[(index - REG_REDTBL) / 2];
            return (index & 1) == 0 ? (int) e : (int) (e >>> 32);
        }
        return 0;
    }

    public void writeRegister(int index, int value) {
        int fire = -1;
        synchronized (this) {
            if (index == REG_ID) {
                id = (value >>> 24) & 0xF;
            } else if (index >= REG_REDTBL && index < REG_REDTBL + 2 * PINS) {
                int pin = (index - REG_REDTBL) / 2;
                long old = rte[pin];
                long v = (index & 1) == 0 ? (old & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL)
                        : (old & 0xFFFF_FFFFL) | ((long) value << 32);
                rte[pin] = (v & RTE_WRITABLE) | (old & RTE_READ_ONLY);
                // Unmasking a level-triggered pin that is asserted and not awaiting EOI delivers it.
                if ((old & RTE_MASK) != 0 && (rte[pin] & RTE_MASK) == 0 && levelPending(pin)) fire = pin;
            }
        }
        if (fire >= 0) send(fire);
    }

    /** Programs a whole redirection entry (both dwords), as a driver would through IOWIN. */
    public void setRedirection(int pin, long entry) {
        writeRegister(REG_REDTBL + 2 * pin + 1, (int) (entry >>> 32));
        writeRegister(REG_REDTBL + 2 * pin, (int) entry);
    }

    public synchronized long redirection(int pin) {
        return rte[pin];
    }

    private boolean levelPending(int pin) {
        return (rte[pin] & RTE_TM) != 0 && level[pin] && (rte[pin] & RTE_REMOTE_IRR) == 0;
    }

    /** Drives input pin {@code pin}: an edge pin fires on assertion, a level pin while asserted. */
    public void setPin(int pin, boolean asserted) {
        if (pin < 0 || pin >= PINS) return;
        boolean fire;
        synchronized (this) {
            boolean was = level[pin];
            level[pin] = asserted;
            long e = rte[pin];
            if ((e & RTE_MASK) != 0) return;
            fire = (e & RTE_TM) != 0 ? levelPending(pin) : asserted && !was;
        }
        if (fire) send(pin);
    }

    /** EOI for vector (the local APIC's broadcast or the EOI register): clears remote IRR, re-fires if still asserted. */
    public void eoi(int vector) {
        for (int pin = 0; pin < PINS; pin++) {
            boolean fire;
            synchronized (this) {
                long e = rte[pin];
                if ((e & RTE_TM) == 0 || (e & RTE_VECTOR_MASK) != vector || (e & RTE_REMOTE_IRR) == 0) continue;
                rte[pin] = e & ~RTE_REMOTE_IRR;
                fire = (e & RTE_MASK) == 0 && levelPending(pin);
            }
            if (fire) send(pin);
        }
    }

    private void send(int pin) {
        long e;
        synchronized (this) {
            e = rte[pin];
            if ((e & RTE_TM) != 0) rte[pin] = e | RTE_REMOTE_IRR;
            requestsSent++;
        }
        port.interruptRequest(sourceId, messageAddress(e), messageData(e));
    }

    /** The interrupt request address an entry produces (compatibility or remappable format). */
    public static long messageAddress(long e) {
        if ((e & RTE_FORMAT) != 0) {
            int index = (int) ((e >>> RTE_INDEX_SHIFT) & 0x7FFF) | ((e & RTE_INDEX15) != 0 ? 0x8000 : 0);
            return InterruptMessage.MSI_BASE | ((long) (index & 0x7FFF) << 5) | (1L << 4) | ((index & 0x8000) != 0 ? 1L << 2 : 0);
        }
        return InterruptMessage.MSI_BASE | ((e >>> RTE_DEST_SHIFT) << InterruptMessage.ADDR_DEST_SHIFT)
                | ((e & RTE_DM) != 0 ? InterruptMessage.ADDR_DM : 0);
    }

    /** The interrupt request data: vector, delivery mode (000b in remappable format), trigger mode. */
    public static int messageData(long e) {
        int d = (int) (e & RTE_VECTOR_MASK) | InterruptMessage.DATA_LEVEL | ((e & RTE_TM) != 0 ? InterruptMessage.DATA_TM : 0);
        if ((e & RTE_FORMAT) == 0) d |= (int) ((e >>> RTE_DLM_SHIFT) & 7) << InterruptMessage.DATA_DLM_SHIFT;
        return d;
    }

    /** A compatibility-format entry (unmasked). */
    public static long compatibilityEntry(int vector, int destination, boolean logical, int deliveryMode, boolean level) {
        return (vector & 0xFF) | ((long) (deliveryMode & 7) << RTE_DLM_SHIFT) | (logical ? RTE_DM : 0)
                | (level ? RTE_TM : 0) | ((long) (destination & 0xFF) << RTE_DEST_SHIFT);
    }

    /** A remappable-format entry (unmasked) naming IRTE {@code index}; vector must equal the IRTE's for level pins. */
    public static long remappableEntry(int index, int vector, boolean level) {
        return (vector & 0xFF) | (level ? RTE_TM : 0) | RTE_FORMAT | ((long) (index & 0x7FFF) << RTE_INDEX_SHIFT)
                | ((index & 0x8000) != 0 ? RTE_INDEX15 : 0);
    }

    public synchronized long requestsSent() { return requestsSent; }
}

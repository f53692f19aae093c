package dev.vtd.platform.interrupt;

/**
 * An interrupt as the platform's local APICs receive it (Intel SDM 10.11/10.12): destination
 * (8-bit xAPIC or 32-bit x2APIC ID, physical or logical), vector, delivery mode, trigger mode and
 * redirection hint. {@code x2apicDestination} says the destination is a 32-bit x2APIC ID (from an
 * IRTE with IRTA.EIME = 1); {@code postedNotification} marks the notification event of a posted
 * interrupt (VT-d spec 5.2.3, vector NV to NDST).
 */
public record InterruptMessage(int destination, int vector, int deliveryMode, boolean logical,
                               boolean redirectionHint, boolean levelTriggered, boolean x2apicDestination,
                               boolean postedNotification) {
    public static final int DM_FIXED = 0, DM_LOWEST_PRIORITY = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_EXTINT = 7;

    public static final long MSI_BASE = 0xFEE0_0000L;
    public static final int ADDR_DEST_SHIFT = 12;
    public static final long ADDR_RH = 1L << 3;
    public static final long ADDR_DM = 1L << 2;
    public static final int DATA_DLM_SHIFT = 8;
    public static final int DATA_LEVEL = 1 << 14;
    public static final int DATA_TM = 1 << 15;

    /** Decodes a compatibility-format MSI (address 19:12 destination, data vector/mode/trigger). */
    public static InterruptMessage fromMsi(long address, int data) {
        return new InterruptMessage((int) ((address >>> ADDR_DEST_SHIFT) & 0xFF), data & 0xFF,
                (data >>> DATA_DLM_SHIFT) & 7, (address & ADDR_DM) != 0, (address & ADDR_RH) != 0,
                (data & DATA_TM) != 0, false, false);
    }

    /** The posted-interrupt notification event: vector NV, physical, fixed, edge, to NDST. */
    public static InterruptMessage notification(int vector, int ndst, boolean x2apic) {
        return new InterruptMessage(ndst, vector & 0xFF, DM_FIXED, false, false, false, x2apic, true);
    }

    /** Compatibility MSI address carrying this message (8-bit destination). */
    public long msiAddress() {
        return MSI_BASE | ((long) (destination & 0xFF) << ADDR_DEST_SHIFT) | (logical ? ADDR_DM : 0)
                | (redirectionHint ? ADDR_RH : 0);
    }

    /** Compatibility MSI data carrying this message. */
    public int msiData() {
        return (vector & 0xFF) | ((deliveryMode & 7) << DATA_DLM_SHIFT) | DATA_LEVEL | (levelTriggered ? DATA_TM : 0);
    }
}

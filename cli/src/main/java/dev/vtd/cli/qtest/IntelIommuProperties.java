package dev.vtd.cli.qtest;

import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;

import java.util.Map;

/**
 * The properties of QEMU's {@code -device intel-iommu} (QEMU 7.2: the x86-iommu properties
 * intremap, device-iotlb and pt, and intel-iommu's eim, aw-bits, caching-mode, x-scalable-mode,
 * x-pasid-mode, dma-drain and snoop-control) and the capability registers QEMU 7.2 derives from
 * them. The derivation repeats the facts of QEMU's vtd_init (which field is set for which property),
 * expressed with the VT-d specification's field names (11.4.2 CAP, 11.4.3 ECAP).
 *
 * @param intremap   interrupt remapping (QEMU: on/off/auto; auto is on without a KVM in-kernel irqchip)
 * @param awBits     guest (and host) address width, 39 or 48
 * @param eim        extended interrupt mode (x2APIC); QEMU's auto is off without KVM
 */
public record IntelIommuProperties(boolean intremap, int awBits, boolean cachingMode, boolean eim,
                                   boolean deviceIotlb, boolean pt, boolean scalableMode, boolean pasidMode,
                                   boolean dmaDrain, boolean snoopControl) {
    /** QEMU's defaults: intremap auto (= on under qtest/TCG), aw-bits 39, pt and dma-drain on, the rest off. */
    public static final IntelIommuProperties DEFAULTS =
            new IntelIommuProperties(true, 39, false, false, false, true, false, false, true, false);

    /** The register-block offsets QEMU places its fault recording and IOTLB registers at. */
    public static final int FAULT_RECORDING_OFFSET = 0x220;
    public static final int IOTLB_REGISTERS_OFFSET = 0xF0;
    /** QEMU 7.2 reports version 1.0. */
    public static final int VERSION = 0x10;
    /** 16-bit domain IDs: ND = (16 - 4) / 2. */
    static final int ND_65536_DOMAINS = 6;
    /** Largest address mask a page-selective invalidation takes (QEMU's VTD_MAMV). */
    static final int MAMV = 18;
    /** Largest handle mask of an index-selective interrupt entry cache invalidation. */
    static final int MHMV = 15;
    /** SLLPS bit 0: 2 MiB pages, bit 1: 1 GiB pages. */
    static final int SLLPS_2M_1G = 0b11;
    /** SAGAW bit 1: 39-bit (3-level) tables, bit 2: 48-bit (4-level) tables. */
    static final int SAGAW_39 = 0b010;
    static final int SAGAW_48 = 0b100;

    /** Capability register as QEMU 7.2 advertises it for these properties. */
    public Cap cap() {
        Cap c = new Cap(0)
                .with(Cap.ND, ND_65536_DOMAINS)
                .with(Cap.SAGAW, awBits >= 48 ? SAGAW_39 | SAGAW_48 : SAGAW_39)
                .with(Cap.MGAW, awBits - 1)
                .with(Cap.FRO, FAULT_RECORDING_OFFSET / 16)
                .with(Cap.SLLPS, SLLPS_2M_1G)
                .with(Cap.PSI, 1)
                .with(Cap.NFR, 0)                      // one fault recording register
                .with(Cap.MAMV, MAMV);
        if (dmaDrain) c = c.with(Cap.DRD, 1).with(Cap.DWD, 1);
        if (cachingMode) c = c.with(Cap.CM, 1);
        return c;
    }

    /** Extended capability register as QEMU 7.2 advertises it for these properties. */
    public Ecap ecap() {
        Ecap e = new Ecap(0).with(Ecap.QI, 1).with(Ecap.IRO, IOTLB_REGISTERS_OFFSET / 16);
        if (intremap) {
            e = e.with(Ecap.IR, 1).with(Ecap.MHMV, MHMV);
            if (eim) e = e.with(Ecap.EIM, 1);
        }
        if (deviceIotlb) e = e.with(Ecap.DT, 1);
        if (pt) e = e.with(Ecap.PT, 1);
        if (scalableMode) e = e.with(Ecap.SMTS, 1).with(Ecap.SRS, 1).with(Ecap.SLTS, 1);
        if (snoopControl) e = e.with(Ecap.SC, 1);
        if (pasidMode) e = e.with(Ecap.PASID, 1);
        return e;
    }

    /**
     * Parses the properties of one {@code -device intel-iommu,...} option (already split into
     * name/value pairs, in order) and checks them as QEMU's realize does.
     *
     * @param option the whole option text, for messages
     */
    public static IntelIommuProperties parse(String option, Map<String, String> props) {
        boolean intremap = DEFAULTS.intremap, cm = DEFAULTS.cachingMode, dt = DEFAULTS.deviceIotlb, pt = DEFAULTS.pt;
        boolean sm = DEFAULTS.scalableMode, pasid = DEFAULTS.pasidMode, drain = DEFAULTS.dmaDrain;
        boolean sc = DEFAULTS.snoopControl;
        Boolean eim = null;                         // auto
        int aw = DEFAULTS.awBits;
        for (Map.Entry<String, String> p : props.entrySet()) {
            String k = p.getKey(), v = p.getValue();
            switch (k) {
                case "intremap" -> intremap = onOffAuto(option, k, v, true);
                case "eim" -> eim = "auto".equals(v) ? null : onOffAuto(option, k, v, false);
                case "aw-bits" -> aw = (int) QemuCommandLine.uint(option, k, v, 0xFF);
                case "caching-mode" -> cm = QemuCommandLine.bool(option, k, v);
                case "device-iotlb" -> dt = QemuCommandLine.bool(option, k, v);
                case "pt" -> pt = QemuCommandLine.bool(option, k, v);
                case "x-scalable-mode" -> sm = QemuCommandLine.bool(option, k, v);
                case "x-pasid-mode" -> pasid = QemuCommandLine.bool(option, k, v);
                case "dma-drain" -> drain = QemuCommandLine.bool(option, k, v);
                case "snoop-control" -> sc = QemuCommandLine.bool(option, k, v);
                case "x-buggy-eim" -> QemuCommandLine.bool(option, k, v);
                case "id" -> { }
                default -> throw new QemuOptionException(option + ": Property 'intel-iommu." + k + "' not found");
            }
        }
        // vtd_decide_config's checks, with QEMU's messages.
        if (Boolean.TRUE.equals(eim) && !intremap) {
            throw new QemuOptionException(option + ": eim=on cannot be selected without intremap=on");
        }
        if (aw != 39 && aw != 48) {
            throw new QemuOptionException(option + ": Supported values for aw-bits are: 39, 48");
        }
        if (sm && !drain) throw new QemuOptionException(option + ": Need to set dma_drain for scalable mode");
        if (pasid && !sm) throw new QemuOptionException(option + ": Need to set scalable mode for PASID");
        return new IntelIommuProperties(intremap, aw, cm, Boolean.TRUE.equals(eim), dt, pt, sm, pasid, drain, sc);
    }

    private static boolean onOffAuto(String option, String key, String v, boolean auto) {
        return switch (v) {
            case "on" -> true;
            case "off" -> false;
            case "auto" -> auto;
            default -> throw new QemuOptionException(option + ": Parameter '" + key + "' does not accept value '" + v + "'");
        };
    }
}

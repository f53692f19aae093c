package dev.vtd.platform.iommu.regs;

/** Register offsets from the unit's register base (VT-d spec 11.4, Table "Register Map"). */
public final class Reg {
    private Reg() {}

    public static final int VER = 0x00;
    public static final int CAP = 0x08;
    public static final int ECAP = 0x10;
    public static final int GCMD = 0x18;
    public static final int GSTS = 0x1C;
    public static final int RTADDR = 0x20;
    public static final int CCMD = 0x28;
    public static final int FSTS = 0x34;
    public static final int FECTL = 0x38;
    public static final int FEDATA = 0x3C;
    public static final int FEADDR = 0x40;
    public static final int FEUADDR = 0x44;
    public static final int AFLOG = 0x58;
    public static final int PMEN = 0x64;
    public static final int PLMBASE = 0x68;
    public static final int PLMLIMIT = 0x6C;
    public static final int PHMBASE = 0x70;
    public static final int PHMLIMIT = 0x78;
    public static final int IQH = 0x80;
    public static final int IQT = 0x88;
    public static final int IQA = 0x90;
    public static final int ICS = 0x9C;
    public static final int IECTL = 0xA0;
    public static final int IEDATA = 0xA4;
    public static final int IEADDR = 0xA8;
    public static final int IEUADDR = 0xAC;
    public static final int IQERCD = 0xB0;
    public static final int IRTA = 0xB8;
    public static final int PQH = 0xC0;
    public static final int PQT = 0xC8;
    public static final int PQA = 0xD0;
    public static final int PRS = 0xDC;
    public static final int PECTL = 0xE0;
    public static final int PEDATA = 0xE4;
    public static final int PEADDR = 0xE8;
    public static final int PEUADDR = 0xEC;

    /** Size of the register block (one 4 KiB page; larger when FRO/IRO place registers beyond it). */
    public static final int BLOCK_SIZE = 0x1000;

    // GCMD / GSTS (11.4.4, 11.4.5): command bit n pairs with status bit n.
    public static final int GCMD_TE = 1 << 31;
    public static final int GCMD_SRTP = 1 << 30;
    public static final int GCMD_SFL = 1 << 29;
    public static final int GCMD_EAFL = 1 << 28;
    public static final int GCMD_WBF = 1 << 27;
    public static final int GCMD_QIE = 1 << 26;
    public static final int GCMD_IRE = 1 << 25;
    public static final int GCMD_SIRTP = 1 << 24;
    public static final int GCMD_CFI = 1 << 23;
    public static final int GSTS_TES = GCMD_TE;
    public static final int GSTS_RTPS = GCMD_SRTP;
    public static final int GSTS_FLS = GCMD_SFL;
    public static final int GSTS_AFLS = GCMD_EAFL;
    public static final int GSTS_WBFS = GCMD_WBF;
    public static final int GSTS_QIES = GCMD_QIE;
    public static final int GSTS_IRES = GCMD_IRE;
    public static final int GSTS_IRTPS = GCMD_SIRTP;
    public static final int GSTS_CFIS = GCMD_CFI;

    // RTADDR (11.4.6): RTA 63:12, TTM 11:10.
    public static final long RTADDR_RTA_MASK = ~0xFFFL;
    public static final int RTADDR_TTM_SHIFT = 10;
    public static final long RTADDR_TTM_MASK = 3L << RTADDR_TTM_SHIFT;

    // CCMD (11.4.7)
    public static final long CCMD_ICC = 1L << 63;
    public static final int CCMD_CIRG_SHIFT = 61;
    public static final int CCMD_CAIG_SHIFT = 59;
    public static final int CCMD_FM_SHIFT = 32;
    public static final int CCMD_SID_SHIFT = 16;

    // FSTS (11.4.9.1)
    public static final int FSTS_PFO = 1 << 0;
    public static final int FSTS_PPF = 1 << 1;
    public static final int FSTS_AFO = 1 << 2;
    public static final int FSTS_APF = 1 << 3;
    public static final int FSTS_IQE = 1 << 4;
    public static final int FSTS_ICE = 1 << 5;
    public static final int FSTS_ITE = 1 << 6;
    public static final int FSTS_FRI_SHIFT = 8;
    /** RW1C bits of FSTS. */
    public static final int FSTS_RW1C = FSTS_PFO | FSTS_AFO | FSTS_APF | FSTS_IQE | FSTS_ICE | FSTS_ITE;

    // FECTL / IECTL / PECTL (11.4.9.2): IM 31, IP 30.
    public static final int ECTL_IM = 1 << 31;
    public static final int ECTL_IP = 1 << 30;

    // PMEN (11.4.10): EPM 31, PRS 0.
    public static final int PMEN_EPM = 1 << 31;
    public static final int PMEN_PRS = 1;

    // IOTLB_REG (11.4.8.1): IVT 63, IIRG 61:60, IAIG 58:57, DR 49, DW 48, DID 47:32.
    public static final long IOTLB_IVT = 1L << 63;
    public static final int IOTLB_IIRG_SHIFT = 60;
    public static final int IOTLB_IAIG_SHIFT = 57;
    public static final long IOTLB_DR = 1L << 49;
    public static final long IOTLB_DW = 1L << 48;
    public static final int IOTLB_DID_SHIFT = 32;
    // IVA_REG (11.4.8.2): ADDR 63:12, IH 6, AM 5:0.
    public static final long IVA_IH = 1L << 6;
    public static final long IVA_AM_MASK = 0x3F;

    // FRCD (11.4.9.3), as two qwords.
    public static final long FRCD_HI_F = 1L << 63;
    public static final long FRCD_HI_T = 1L << 62;
    public static final int FRCD_HI_AT_SHIFT = 60;
    public static final int FRCD_HI_PV_SHIFT = 40;
    public static final int FRCD_HI_FR_SHIFT = 32;
    public static final long FRCD_HI_PP = 1L << 31;
    public static final long FRCD_HI_EXE = 1L << 30;
    public static final long FRCD_HI_PRIV = 1L << 29;
}

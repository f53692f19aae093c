package dev.vtd.platform.iommu.regs;

import java.util.List;

/** Extended Capability Register (VT-d spec 11.4.3). */
public record Ecap(long raw) {
    public static final BitField C = new BitField("C", 0, 0, "Page-walk Coherency", BitField::yesNo);
    public static final BitField QI = new BitField("QI", 1, 1, "Queued Invalidation support", BitField::yesNo);
    public static final BitField DT = new BitField("DT", 2, 2, "Device-TLB support", BitField::yesNo);
    public static final BitField IR = new BitField("IR", 3, 3, "Interrupt Remapping support", BitField::yesNo);
    public static final BitField EIM = new BitField("EIM", 4, 4, "Extended Interrupt Mode (x2APIC)", BitField::yesNo);
    public static final BitField PT = new BitField("PT", 6, 6, "Pass Through", BitField::yesNo);
    public static final BitField SC = new BitField("SC", 7, 7, "Snoop Control", BitField::yesNo);
    public static final BitField IRO = new BitField("IRO", 17, 8, "IOTLB Register Offset",
            v -> String.format("0x%x (byte offset 0x%x)", v, v * 16));
    public static final BitField MHMV = new BitField("MHMV", 23, 20, "Maximum Handle Mask Value",
            v -> v + " (up to " + (1L << v) + " IRTEs per index-selective invalidation)");
    public static final BitField MTS = new BitField("MTS", 25, 25, "Memory Type Support", BitField::yesNo);
    public static final BitField NEST = new BitField("NEST", 26, 26, "Nested Translation Support", BitField::yesNo);
    public static final BitField PRS = new BitField("PRS", 29, 29, "Page Request Support", BitField::yesNo);
    public static final BitField ERS = new BitField("ERS", 30, 30, "Execute Request Support", BitField::yesNo);
    public static final BitField SRS = new BitField("SRS", 31, 31, "Supervisor Request Support", BitField::yesNo);
    public static final BitField NWFS = new BitField("NWFS", 33, 33, "No Write Flag Support", BitField::yesNo);
    public static final BitField EAFS = new BitField("EAFS", 34, 34, "Extended Accessed Flag Support", BitField::yesNo);
    public static final BitField PSS = new BitField("PSS", 39, 35, "PASID Size Supported",
            v -> v + " (" + (v + 1) + "-bit PASIDs)");
    public static final BitField PASID = new BitField("PASID", 40, 40, "Process Address Space ID Support", BitField::yesNo);
    public static final BitField DIT = new BitField("DIT", 41, 41, "Device-TLB Invalidation Throttle", BitField::yesNo);
    public static final BitField PDS = new BitField("PDS", 42, 42, "Page-request Drain Support", BitField::yesNo);
    public static final BitField SMTS = new BitField("SMTS", 43, 43, "Scalable Mode Translation Support", BitField::yesNo);
    public static final BitField VCS = new BitField("VCS", 44, 44, "Virtual Command Support", BitField::yesNo);
    public static final BitField SLADS = new BitField("SLADS", 45, 45, "Second-Level Accessed/Dirty Support", BitField::yesNo);
    public static final BitField SLTS = new BitField("SLTS", 46, 46, "Second-Level Translation Support", BitField::yesNo);
    public static final BitField FLTS = new BitField("FLTS", 47, 47, "First-Level Translation Support", BitField::yesNo);
    public static final BitField SMPWCS = new BitField("SMPWCS", 48, 48, "Scalable-Mode Page-walk Coherency Support",
            BitField::yesNo);
    public static final BitField RPS = new BitField("RPS", 49, 49, "RID-PASID Support", BitField::yesNo);
    public static final BitField PMS = new BitField("PMS", 51, 51, "Performance Monitoring Support", BitField::yesNo);
    public static final BitField RPRIVS = new BitField("RPRIVS", 53, 53, "RID_PRIV Support", BitField::yesNo);

    public static final List<BitField> FIELDS = List.of(C, QI, DT, IR, EIM, PT, SC, IRO, MHMV, MTS, NEST, PRS, ERS,
            SRS, NWFS, EAFS, PSS, PASID, DIT, PDS, SMTS, VCS, SLADS, SLTS, FLTS, SMPWCS, RPS, PMS, RPRIVS);

    public static final long RESERVED_MASK = Cap.reservedMask(FIELDS);

    public long get(BitField f) {
        return f.get(raw);
    }

    public Ecap with(BitField f, long value) {
        return new Ecap(f.set(raw, value));
    }

    public boolean coherent() { return C.get(raw) != 0; }
    public boolean qi() { return QI.get(raw) != 0; }
    public boolean dt() { return DT.get(raw) != 0; }
    public boolean ir() { return IR.get(raw) != 0; }
    public boolean eim() { return EIM.get(raw) != 0; }
    public boolean pt() { return PT.get(raw) != 0; }
    public boolean sc() { return SC.get(raw) != 0; }
    /** Byte offset of the IVA register; the IOTLB register follows at +8. */
    public int iroBytes() { return (int) IRO.get(raw) * 16; }
    public int mhmv() { return (int) MHMV.get(raw); }
    public boolean nest() { return NEST.get(raw) != 0; }
    public boolean prs() { return PRS.get(raw) != 0; }
    public boolean ers() { return ERS.get(raw) != 0; }
    public boolean srs() { return SRS.get(raw) != 0; }
    public int pss() { return (int) PSS.get(raw); }
    public boolean pasid() { return PASID.get(raw) != 0; }
    public boolean smts() { return SMTS.get(raw) != 0; }
    public boolean slads() { return SLADS.get(raw) != 0; }
    public boolean slts() { return SLTS.get(raw) != 0; }
    public boolean flts() { return FLTS.get(raw) != 0; }
    public boolean rps() { return RPS.get(raw) != 0; }

    @Override
    public String toString() {
        return String.format("ECAP 0x%x", raw);
    }
}

package dev.vtd.platform.iommu.tables;

/**
 * Scalable-mode PASID table entry (VT-d spec 9.6): 512 bits, 64 per PASID table.
 * <pre>
 * qw0: P (0), FPD (1), AW (4:2, second-stage width as in a legacy context), SLEE (5), PGTT (8:6),
 *      SLADE (9, second-stage accessed/dirty enable), reserved (11:10), SLPTPTR (63:12)
 * qw1: DID (15:0), reserved (22:16), PWSNP (23), PGSNP (24), CD (25), EMTE (26), EMT (29:27),
 *      PWT (30), PCD (31), PAT (63:32)
 * qw2: SRE (128, supervisor requests enable), ERE (129, execute requests enable), FLPM (131:130,
 *      00 4-level, 01 5-level), WPE (132, write protect for supervisor requests), NXE (133, XD
 *      honoured; without it XD is reserved), reserved (134), EAFE (135), reserved (139:136),
 *      FLPTPTR (191:140)
 * qw3-qw7: reserved
 * </pre>
 * Memory-type fields (CD, EMTE, EMT, PWT, PCD, PAT) do not change which address a request
 * reaches; they are decoded for display only.
 */
public record PasidEntry(boolean present, boolean faultProcessingDisable, int addressWidth, boolean slee, int pgtt,
                         boolean slade, long slptptr, int domainId, boolean pwsnp, boolean pgsnp, long memoryType,
                         boolean sre, boolean ere, int flpm, boolean wpe, boolean nxe, boolean eafe, long flptptr,
                         long reserved0, long reserved1, long reserved2, long q3, long q4, long q5, long q6, long q7) {
    public static final int SIZE = 64;

    // PGTT encodings (9.6): PASID-granular translation type.
    public static final int PGTT_FIRST_STAGE = 1;
    public static final int PGTT_SECOND_STAGE = 2;
    public static final int PGTT_NESTED = 3;
    public static final int PGTT_PASS_THROUGH = 4;

    // qw0
    public static final long P = 1L;
    public static final long FPD = 1L << 1;
    public static final int AW_SHIFT = 2;
    public static final long AW_MASK = 7L << AW_SHIFT;
    public static final long SLEE = 1L << 5;
    public static final int PGTT_SHIFT = 6;
    public static final long PGTT_MASK = 7L << PGTT_SHIFT;
    public static final long SLADE = 1L << 9;
    public static final long RESERVED0 = Bits.range(11, 10);
    public static final long SLPTPTR_MASK = ~0xFFFL;
    // qw1
    public static final long DID_MASK = 0xFFFFL;
    public static final long RESERVED1 = Bits.range(22, 16);
    public static final long PWSNP = 1L << 23;
    public static final long PGSNP = 1L << 24;
    /** CD, EMTE, EMT, PWT, PCD, PAT: bits 63:25 of qw1. */
    public static final long MEMORY_TYPE_MASK = Bits.range(63, 25);
    // qw2
    public static final long SRE = 1L;
    public static final long ERE = 1L << 1;
    public static final int FLPM_SHIFT = 2;
    public static final long FLPM_MASK = 3L << FLPM_SHIFT;
    public static final long WPE = 1L << 4;
    public static final long NXE = 1L << 5;
    public static final long EAFE = 1L << 7;
    public static final long RESERVED2 = (1L << 6) | Bits.range(11, 8);
    public static final long FLPTPTR_MASK = ~0xFFFL;
    /** FLPM encodings: 4-level and 5-level first-stage paging. */
    public static final int FLPM_4_LEVEL = 0, FLPM_5_LEVEL = 1;

    public static PasidEntry decode(long[] q) {
        long q0 = q[0], q1 = q[1], q2 = q[2];
        return new PasidEntry((q0 & P) != 0, (q0 & FPD) != 0, (int) ((q0 & AW_MASK) >>> AW_SHIFT), (q0 & SLEE) != 0,
                (int) ((q0 & PGTT_MASK) >>> PGTT_SHIFT), (q0 & SLADE) != 0, q0 & SLPTPTR_MASK, (int) (q1 & DID_MASK),
                (q1 & PWSNP) != 0, (q1 & PGSNP) != 0, q1 & MEMORY_TYPE_MASK, (q2 & SRE) != 0, (q2 & ERE) != 0,
                (int) ((q2 & FLPM_MASK) >>> FLPM_SHIFT), (q2 & WPE) != 0, (q2 & NXE) != 0, (q2 & EAFE) != 0,
                q2 & FLPTPTR_MASK, q0 & RESERVED0, q1 & RESERVED1, q2 & RESERVED2, q[3], q[4], q[5], q[6], q[7]);
    }

    /** A present second-stage-only entry (PGTT 010b). */
    public static PasidEntry secondStage(int did, long slptptr, int aw) {
        return new PasidEntry(true, false, aw, false, PGTT_SECOND_STAGE, false, slptptr & SLPTPTR_MASK, did, false,
                false, 0, false, false, 0, false, false, false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    /** A present first-stage-only entry (PGTT 001b) with 4- or 5-level paging. */
    public static PasidEntry firstStage(int did, long flptptr, boolean fiveLevel) {
        return new PasidEntry(true, false, 0, false, PGTT_FIRST_STAGE, false, 0, did, false, false, 0, false, false,
                fiveLevel ? FLPM_5_LEVEL : FLPM_4_LEVEL, false, false, false, flptptr & FLPTPTR_MASK,
                0, 0, 0, 0, 0, 0, 0, 0);
    }

    /** A present nested entry (PGTT 011b): first stage at GPA flptptr, second stage at slptptr. */
    public static PasidEntry nested(int did, long flptptr, boolean fiveLevel, long slptptr, int aw) {
        return new PasidEntry(true, false, aw, false, PGTT_NESTED, false, slptptr & SLPTPTR_MASK, did, false, false, 0,
                false, false, fiveLevel ? FLPM_5_LEVEL : FLPM_4_LEVEL, false, false, false, flptptr & FLPTPTR_MASK,
                0, 0, 0, 0, 0, 0, 0, 0);
    }

    /** A present pass-through entry (PGTT 100b). */
    public static PasidEntry passThrough(int did) {
        return new PasidEntry(true, false, 0, false, PGTT_PASS_THROUGH, false, 0, did, false, false, 0, false, false, 0,
                false, false, false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    public PasidEntry withSupervisor(boolean sreOn, boolean wpeOn) {
        return new PasidEntry(present, faultProcessingDisable, addressWidth, slee, pgtt, slade, slptptr, domainId, pwsnp,
                pgsnp, memoryType, sreOn, ere, flpm, wpeOn, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4,
                q5, q6, q7);
    }

    public PasidEntry withExecute(boolean ereOn, boolean nxeOn) {
        return new PasidEntry(present, faultProcessingDisable, addressWidth, slee, pgtt, slade, slptptr, domainId, pwsnp,
                pgsnp, memoryType, sre, ereOn, flpm, wpe, nxeOn, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4,
                q5, q6, q7);
    }

    public PasidEntry withPwsnp(boolean on) {
        return new PasidEntry(present, faultProcessingDisable, addressWidth, slee, pgtt, slade, slptptr, domainId, on,
                pgsnp, memoryType, sre, ere, flpm, wpe, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4,
                q5, q6, q7);
    }

    public PasidEntry withSlade(boolean on) {
        return new PasidEntry(present, faultProcessingDisable, addressWidth, slee, pgtt, on, slptptr, domainId, pwsnp,
                pgsnp, memoryType, sre, ere, flpm, wpe, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4,
                q5, q6, q7);
    }

    public PasidEntry withFpd(boolean on) {
        return new PasidEntry(present, on, addressWidth, slee, pgtt, slade, slptptr, domainId, pwsnp, pgsnp, memoryType,
                sre, ere, flpm, wpe, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4, q5, q6, q7);
    }

    public PasidEntry withPresent(boolean on) {
        return new PasidEntry(on, faultProcessingDisable, addressWidth, slee, pgtt, slade, slptptr, domainId, pwsnp, pgsnp,
                memoryType, sre, ere, flpm, wpe, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3, q4, q5, q6, q7);
    }

    public PasidEntry withPgtt(int type) {
        return new PasidEntry(present, faultProcessingDisable, addressWidth, slee, type & 7, slade, slptptr, domainId,
                pwsnp, pgsnp, memoryType, sre, ere, flpm, wpe, nxe, eafe, flptptr, reserved0, reserved1, reserved2, q3,
                q4, q5, q6, q7);
    }

    public long[] encode() {
        long q0 = (present ? P : 0) | (faultProcessingDisable ? FPD : 0) | ((long) (addressWidth & 7) << AW_SHIFT)
                | (slee ? SLEE : 0) | ((long) (pgtt & 7) << PGTT_SHIFT) | (slade ? SLADE : 0)
                | (reserved0 & RESERVED0) | (slptptr & SLPTPTR_MASK);
        long q1 = (domainId & DID_MASK) | (reserved1 & RESERVED1) | (pwsnp ? PWSNP : 0) | (pgsnp ? PGSNP : 0)
                | (memoryType & MEMORY_TYPE_MASK);
        long q2 = (sre ? SRE : 0) | (ere ? ERE : 0) | ((long) (flpm & 3) << FLPM_SHIFT) | (wpe ? WPE : 0)
                | (nxe ? NXE : 0) | (eafe ? EAFE : 0) | (reserved2 & RESERVED2) | (flptptr & FLPTPTR_MASK);
        return new long[] {q0, q1, q2, q3, q4, q5, q6, q7};
    }

    /** Second-stage paging levels for AW (3, 4, 5), or 0 for a reserved encoding. */
    public int secondStageLevels() {
        return ContextEntry.levelsForAw(addressWidth);
    }

    /** First-stage paging levels for FLPM (4 or 5), or 0 for a reserved encoding. */
    public int firstStageLevels() {
        return flpm == FLPM_4_LEVEL ? 4 : flpm == FLPM_5_LEVEL ? 5 : 0;
    }

    public boolean usesFirstStage() {
        return pgtt == PGTT_FIRST_STAGE || pgtt == PGTT_NESTED;
    }

    public boolean usesSecondStage() {
        return pgtt == PGTT_SECOND_STAGE || pgtt == PGTT_NESTED;
    }

    /** What the unit supports, deciding which fields are reserved and which entries are valid. */
    public record Support(int hostAddressWidth, boolean firstStage, boolean secondStage, boolean nested,
                          boolean passThrough, boolean supervisor, boolean execute, boolean secondStageAd,
                          boolean extendedAccessed, boolean fiveLevelFirstStage, int sagaw) {}

    /** 9.6 reserved fields (fault 0x5A): always-reserved bits and fields of features the unit lacks. */
    public boolean hasReservedBits(Support s) {
        if (reserved0 != 0 || reserved1 != 0 || reserved2 != 0 || (q3 | q4 | q5 | q6 | q7) != 0) return true;
        long haw = ~Bits.addressMask(s.hostAddressWidth());
        if (usesSecondStage() && (slptptr & haw) != 0) return true;
        if (pgtt == PGTT_FIRST_STAGE && (flptptr & haw) != 0) return true;
        if (sre && !s.supervisor()) return true;
        if (ere && !s.execute()) return true;
        if (slade && !s.secondStageAd()) return true;
        return eafe && !s.extendedAccessed();
    }

    /** 9.6 invalid programming (fault 0x5B): PGTT the unit does not support, or AW / FLPM it cannot walk. */
    public boolean isInvalid(Support s) {
        boolean pgttOk = switch (pgtt) {
            case PGTT_FIRST_STAGE -> s.firstStage();
            case PGTT_SECOND_STAGE -> s.secondStage();
            case PGTT_NESTED -> s.nested() && s.firstStage() && s.secondStage();
            case PGTT_PASS_THROUGH -> s.passThrough();
            default -> false;
        };
        if (!pgttOk) return true;
        if (usesSecondStage()) {
            int l = secondStageLevels();
            if (l == 0 || (s.sagaw() & (1 << (l - 2))) == 0) return true;
        }
        if (usesFirstStage()) {
            int l = firstStageLevels();
            if (l == 0 || (l == 5 && !s.fiveLevelFirstStage())) return true;
        }
        return false;
    }

    public static String pgttName(int pgtt) {
        return switch (pgtt) {
            case PGTT_FIRST_STAGE -> "first-stage";
            case PGTT_SECOND_STAGE -> "second-stage";
            case PGTT_NESTED -> "nested";
            case PGTT_PASS_THROUGH -> "pass-through";
            default -> "reserved";
        };
    }
}

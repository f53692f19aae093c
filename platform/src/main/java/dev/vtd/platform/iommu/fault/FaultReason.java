package dev.vtd.platform.iommu.fault;

/**
 * Fault reasons (VT-d spec 7.1.3 Table "Fault Reason Encodings" for legacy and scalable-mode
 * DMA remapping, 7.1.? for interrupt remapping) with the text the Linux driver prints
 * (drivers/iommu/intel/dmar.c; scalable-mode reasons carry Linux's "SM: " prefix).
 */
public enum FaultReason {
    SOFTWARE(0x00, "Software"),
    ROOT_NOT_PRESENT(0x01, "Present bit in root entry is clear"),
    CONTEXT_NOT_PRESENT(0x02, "Present bit in context entry is clear"),
    CONTEXT_INVALID(0x03, "Invalid context entry"),
    ADDRESS_BEYOND_MGAW(0x04, "Access beyond MGAW"),
    PTE_WRITE(0x05, "PTE Write access is not set"),
    PTE_READ(0x06, "PTE Read access is not set"),
    NEXT_TABLE_INVALID(0x07, "Next page table ptr is invalid"),
    ROOT_TABLE_INVALID(0x08, "Root table address invalid"),
    CONTEXT_TABLE_INVALID(0x09, "Context table ptr is invalid"),
    ROOT_RESERVED(0x0A, "non-zero reserved fields in RTP"),
    CONTEXT_RESERVED(0x0B, "non-zero reserved fields in CTP"),
    PTE_RESERVED(0x0C, "non-zero reserved fields in PTE"),
    TRANSLATION_BLOCKED(0x0D, "PCE for translation request specifies blocking"),
    /**
     * 7.1.3 reason 0Eh: an untranslated request or translation request without PASID whose translation yields an
     * address in the interrupt range 0xFEE0_0000-0xFEEF_FFFF (the legacy counterpart of 87h). Linux's table ends at
     * 0Dh, so it prints "Unknown".
     */
    INTERRUPT_ADDRESS(0x0E, "Translated address in the interrupt address range", false),

    IR_REQUEST_RESERVED(0x20, "Detected reserved fields in the decoded interrupt-remapped request"),
    IR_INDEX_TOO_LARGE(0x21, "Interrupt index exceeded the interrupt-remapping table size"),
    IR_IRTE_NOT_PRESENT(0x22, "Present field in the IRTE entry is clear"),
    IR_TABLE_ACCESS(0x23, "Error accessing interrupt-remapping table pointed by IRTA_REG"),
    IR_IRTE_RESERVED(0x24, "Detected reserved fields in the IRTE entry"),
    IR_COMPAT_BLOCKED(0x25, "Blocked a compatibility format interrupt request"),
    IR_SID_MISMATCH(0x26, "Blocked an interrupt request due to source-id verification failure"),

    SM_ROOT_TABLE_ADDRESS(0x30, "SM: Invalid Root Table Address"),
    SM_TTM0_PASID(0x31, "SM: TTM 0 for request with PASID"),
    SM_TTM0_PAGE_GROUP(0x32, "SM: TTM 0 for page group request"),
    SM_ROOT_ACCESS(0x38, "SM: Error attempting to access Root Entry"),
    SM_ROOT_NOT_PRESENT(0x39, "SM: Present bit in Root Entry is clear"),
    SM_ROOT_RESERVED(0x3A, "SM: Non-zero reserved field set in Root Entry"),
    SM_CONTEXT_ACCESS(0x40, "SM: Error attempting to access Context Entry"),
    SM_CONTEXT_NOT_PRESENT(0x41, "SM: Present bit in Context Entry is clear"),
    SM_CONTEXT_RESERVED(0x42, "SM: Non-zero reserved field set in the Context Entry"),
    SM_CONTEXT_INVALID(0x43, "SM: Invalid Context Entry"),
    SM_DTE_CLEAR(0x44, "SM: DTE field in Context Entry is clear"),
    SM_PASIDE_CLEAR(0x45, "SM: PASID Enable field in Context Entry is clear"),
    SM_PASID_TOO_LARGE(0x46, "SM: PASID is larger than the max in Context Entry"),
    SM_PRE_CLEAR(0x47, "SM: PRE field in Context-Entry is clear"),
    SM_RID_PASID_ERROR(0x48, "SM: RID_PASID field error in Context-Entry"),
    SM_PASID_DIR_ACCESS(0x50, "SM: Error attempting to access the PASID Directory Entry"),
    SM_PASID_DIR_NOT_PRESENT(0x51, "SM: Present bit in Directory Entry is clear"),
    SM_PASID_DIR_RESERVED(0x52, "SM: Non-zero reserved field set in PASID Directory Entry"),
    SM_PASID_ACCESS(0x58, "SM: Error attempting to access PASID Table Entry"),
    SM_PASID_NOT_PRESENT(0x59, "SM: Present bit in PASID Table Entry is clear"),
    SM_PASID_RESERVED(0x5A, "SM: Non-zero reserved field set in PASID Table Entry"),
    SM_PASID_INVALID(0x5B, "SM: Invalid Scalable-Mode PASID Table Entry"),
    SM_ERE_CLEAR(0x5C, "SM: ERE field is clear in PASID Table Entry"),
    SM_SRE_CLEAR(0x5D, "SM: SRE field is clear in PASID Table Entry"),
    SM_FL_ACCESS(0x70, "SM: Error attempting to access first-level paging entry"),
    SM_FL_NOT_PRESENT(0x71, "SM: Present bit in first-level paging entry is clear"),
    SM_FL_RESERVED(0x72, "SM: Non-zero reserved field set in first-level paging entry"),
    SM_FL_PML4_ACCESS(0x73, "SM: Error attempting to access FL-PML4 entry"),
    SM_FL_BEYOND_MGAW_NESTED(0x74, "SM: First-level entry address beyond MGAW in Nested translation"),
    SM_FL_PML4_READ_NESTED(0x75, "SM: Read permission error in FL-PML4 entry in Nested translation"),
    SM_FL_READ_NESTED(0x76, "SM: Read permission error in first-level paging entry in Nested translation"),
    SM_FL_WRITE_NESTED(0x77, "SM: Write permission error in first-level paging entry in Nested translation"),
    SM_SL_ACCESS(0x78, "SM: Error attempting to access second-level paging entry"),
    SM_SL_PERMISSION(0x79, "SM: Read/Write permission error in second-level paging entry"),
    SM_SL_RESERVED(0x7A, "SM: Non-zero reserved field set in second-level paging entry"),
    SM_SL_PTR_INVALID(0x7B, "SM: Invalid second-level page table pointer"),
    SM_SL_AD_NOSNOOP(0x7C, "SM: A/D bit update needed in second-level entry when set up in no snoop"),
    SM_NOT_CANONICAL(0x80, "SM: Address in first-level translation is not canonical"),
    SM_US_CLEAR(0x81, "SM: U/S set 0 for first-level translation with user privilege"),
    SM_NO_EXECUTE(0x82, "SM: No execute permission for request with PASID and ER=1"),
    SM_BEYOND_DMA_MAX(0x83, "SM: Address beyond the DMA hardware max"),
    SM_SL_BEYOND_MAX(0x84, "SM: Second-level entry address beyond the max"),
    SM_NO_WRITE(0x85, "SM: No write permission for Write/AtomicOp request"),
    SM_NO_READ(0x86, "SM: No read permission for Read/AtomicOp request"),
    SM_INTERRUPT_ADDRESS(0x87, "SM: Invalid address-interrupt address"),
    SM_FL_AD_NOSNOOP(0x90, "SM: A/D bit update needed in first-level entry when set up in no snoop");

    private static final FaultReason[] BY_CODE = new FaultReason[256];

    static {
        for (FaultReason r : values()) BY_CODE[r.code] = r;
    }

    public final int code;
    public final String text;
    /** Whether Linux's fault-reason tables hold this code (else it prints "Unknown"). */
    public final boolean linuxNamed;

    FaultReason(int code, String text) {
        this(code, text, true);
    }

    FaultReason(int code, String text, boolean linuxNamed) {
        this.code = code;
        this.text = text;
        this.linuxNamed = linuxNamed;
    }

    /** The reason with this code, or null. */
    public static FaultReason of(int code) {
        return code >= 0 && code < 256 ? BY_CODE[code] : null;
    }

    /** Linux's text for a code: "Unknown" outside its tables. */
    public static String linuxText(int code) {
        FaultReason r = of(code);
        return r == null || !r.linuxNamed ? "Unknown" : r.text;
    }

    public boolean isInterruptRemapping() {
        return code >= 0x20 && code <= 0x26;
    }

    @Override
    public String toString() {
        return String.format("0x%02x %s", code, text);
    }
}

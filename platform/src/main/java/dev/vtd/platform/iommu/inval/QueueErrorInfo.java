package dev.vtd.platform.iommu.inval;

/**
 * IQERCD.IQEI (VT-d spec 11.4.7.x, Invalidation Queue Error Record Register bits 3:0): why
 * FSTS.IQE was set.
 */
public enum QueueErrorInfo {
    NOT_AVAILABLE(0, "info not available"),
    INVALID_TAIL(1, "invalid tail pointer"),
    FETCH_ERROR(2, "descriptor fetch resulted in an error"),
    INVALID_TYPE(3, "invalid descriptor type"),
    RESERVED_FIELD(4, "reserved field violation for a valid descriptor type"),
    INVALID_WIDTH(5, "invalid descriptor width programmed in IQA");

    public final int code;
    public final String text;

    QueueErrorInfo(int code, String text) {
        this.code = code;
        this.text = text;
    }
}

package dev.vtd.kernel.iommu;

/**
 * A kernel-side failure with the errno Linux would return (ENOMEM, ENOSPC, EINVAL, EEXIST, EBUSY, ENODEV, EIO):
 * out of table pages, IOVA space or domain IDs, an invalid request, or hardware that does not answer.
 */
public final class IommuException extends RuntimeException {
    private final String errno;

    public IommuException(String errno, String message) {
        super(errno + ": " + message);
        this.errno = errno;
    }

    public String errno() {
        return errno;
    }
}

package dev.vtd.kernel.drivers;

/** A refused driver-core operation; {@link #errno()} is what a write to the sysfs file would return. */
public final class DriverException extends RuntimeException {
    private final Errno errno;

    public DriverException(Errno errno, String detail) {
        super(detail, null, false, false);
        this.errno = errno;
    }

    public Errno errno() { return errno; }
}

package dev.vtd.kernel.drivers;

/** The errno values the driver core returns, with their numbers and strerror texts (asm-generic/errno-base.h). */
public enum Errno {
    EPERM(1, "Operation not permitted"),
    ENOENT(2, "No such file or directory"),
    EIO(5, "Input/output error"),
    ENOMEM(12, "Cannot allocate memory"),
    EBUSY(16, "Device or resource busy"),
    EEXIST(17, "File exists"),
    ENODEV(19, "No such device"),
    EINVAL(22, "Invalid argument");

    public final int number;
    public final String text;

    Errno(int number, String text) {
        this.number = number;
        this.text = text;
    }

    /** A failure of a driver-core operation with this errno. */
    public DriverException exception(String detail) {
        return new DriverException(this, detail);
    }
}

package dev.vtd.cli.qtest;

/**
 * A QEMU-style command-line error: printed as {@code qemu-system-x86_64: MESSAGE} (the message
 * names the option it is about, as QEMU's do) and the process exits with status 1, as QEMU does.
 */
public final class QemuOptionException extends RuntimeException {
    public QemuOptionException(String message) {
        super(message);
    }
}

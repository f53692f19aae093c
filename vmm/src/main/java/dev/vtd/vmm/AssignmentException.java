package dev.vtd.vmm;

/**
 * A device assignment QEMU refuses: {@code report} is what VFIO prints on its own line first (may be null), and
 * {@code reason} the error QEMU attaches to the -device option or monitor command that asked for the device.
 */
public final class AssignmentException extends VmmException {
    private final String report;
    private final String reason;

    public AssignmentException(String report, String reason) {
        super(report == null ? reason : report + "\n" + reason);
        this.report = report;
        this.reason = reason;
    }

    public String report() { return report; }
    public String reason() { return reason; }

    /** The lines QEMU prints when {@code option} (e.g. "-device vfio-pci,host=01:00.3") failed this way. */
    public String forOption(String program, String option) {
        String line = program + ": " + option + ": " + reason;
        return report == null ? line : report + "\n" + line;
    }
}

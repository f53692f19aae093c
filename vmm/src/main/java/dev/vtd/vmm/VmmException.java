package dev.vtd.vmm;

/**
 * A refusal or error the VMM reports to its user, worded the way the tool the user typed into words it (QEMU,
 * libvirt, VFIO). {@link #getMessage()} is the full line(s) to print.
 */
public class VmmException extends RuntimeException {
    public VmmException(String message) {
        super(message, null, false, false);
    }
}

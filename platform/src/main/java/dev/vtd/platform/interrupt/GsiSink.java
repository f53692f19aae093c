package dev.vtd.platform.interrupt;

/** Where a device's interrupt line (a global system interrupt) is driven. */
public interface GsiSink {
    void setLevel(int gsi, boolean asserted);
}

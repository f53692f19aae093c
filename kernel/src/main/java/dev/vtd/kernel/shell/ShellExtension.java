package dev.vtd.kernel.shell;

/**
 * A set of commands another module adds to the host shell, found with {@link java.util.ServiceLoader}: list the
 * implementing class in {@code META-INF/services/dev.vtd.kernel.shell.ShellExtension}. {@link Shell#create}
 * calls {@link #install} once per shell, after the built-in commands, so an extension may also replace one.
 */
public interface ShellExtension {
    void install(Shell shell);
}

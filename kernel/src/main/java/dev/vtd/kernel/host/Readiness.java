package dev.vtd.kernel.host;

import java.util.ArrayList;
import java.util.List;

/**
 * Passthrough readiness in virt-host-validate's words (libvirt tools/virt-host-validate-common.c): hardware
 * virtualization, the ACPI DMAR table (device assignment IOMMU support), IOMMU enabled by the kernel (IOMMU
 * groups present), plus interrupt remapping, which VFIO needs to assign devices safely.
 */
public final class Readiness {
    public enum Status { PASS, WARN, FAIL }

    /** One check: what was checked, the verdict, and the advice shown in parentheses after WARN or FAIL. */
    public record Check(String what, Status status, String advice) {
        /** {@code   QEMU: Checking for hardware virtualization                                 : PASS}. */
        public String format() {
            String head = String.format("%6s: Checking %-60s: ", "QEMU", what);
            return head + status + (status == Status.PASS || advice == null ? "" : " (" + advice + ")");
        }
    }

    private Readiness() {}

    public static List<Check> check(Host host) {
        List<Check> out = new ArrayList<>();
        boolean vmx = host.machine().cpu().hasFlag("vmx") || host.machine().cpu().hasFlag("svm");
        out.add(new Check("for hardware virtualization", vmx ? Status.PASS : Status.WARN,
                "Only emulated CPUs are available, performance will be significantly limited"));
        boolean dmar = host.machine().dmar() != null;
        out.add(new Check("for device assignment IOMMU support", dmar ? Status.PASS : Status.WARN,
                "No ACPI DMAR table found, IOMMU either disabled in BIOS or not supported by this hardware platform"));
        if (!dmar) return out;
        boolean groups = !host.kernel().groups().numbers().isEmpty();
        out.add(new Check("if IOMMU is enabled by kernel", groups ? Status.PASS : Status.WARN,
                "IOMMU appears to be disabled in kernel. Add intel_iommu=on to kernel cmdline arguments"));
        var iommu = host.iommu();
        boolean ir = iommu != null && iommu.irqRemapping() != null;
        String irAdvice = host.cmdline().intremapOff()
                ? "Interrupt remapping is disabled by intremap=off. Remove it from kernel cmdline arguments"
                : "Interrupt remapping is not supported by this platform; device assignment needs "
                        + "vfio_iommu_type1 allow_unsafe_interrupts=1";
        out.add(new Check("for interrupt remapping", ir ? Status.PASS : Status.WARN, irAdvice));
        return out;
    }

    /** True when every check passed. */
    public static boolean allPass(List<Check> checks) {
        return checks.stream().allMatch(c -> c.status() == Status.PASS);
    }
}

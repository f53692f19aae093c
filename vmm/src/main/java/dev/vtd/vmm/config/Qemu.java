package dev.vtd.vmm.config;

import dev.vtd.vmm.AssignmentException;
import dev.vtd.vmm.DeviceRequest;
import dev.vtd.vmm.VirtualMachine;
import dev.vtd.vmm.Vmm;
import dev.vtd.vmm.VmmException;

import java.util.ArrayList;
import java.util.List;

/** Starting a VM from a QEMU command line: all devices assigned before the guest boots, or nothing is left behind. */
public final class Qemu {
    private Qemu() {}

    /** The started VM, what QEMU printed (warnings), its monitor, and whether the monitor is on stdio. */
    public record Started(VirtualMachine vm, List<String> output, QemuMonitor monitor, boolean monitorStdio) {}

    public static Started start(Vmm vmm, List<String> args) {
        QemuCommandLine cl = QemuCommandLine.parse(args);
        String name = cl.name();
        if (vmm.vm(name) != null) {
            int n = 2;
            while (vmm.vm(name + "-" + n) != null) n++;
            name = name + "-" + n;
        }
        VirtualMachine vm = vmm.create(new VirtualMachine.Config(name, cl.smp(), cl.memoryBytes(), true));
        List<String> out = new ArrayList<>(cl.warnings());
        try {
            for (int i = 0; i < cl.devices().size(); i++) {
                DeviceRequest d = cl.devices().get(i);
                try {
                    vm.assign(d);
                } catch (AssignmentException e) {
                    throw new VmmException(e.forOption(QemuCommandLine.PROGRAM, cl.deviceOptions().get(i)));
                } catch (VmmException e) {
                    throw new VmmException(QemuCommandLine.PROGRAM + ": " + cl.deviceOptions().get(i) + ": " + e.getMessage());
                }
            }
            vm.start();
        } catch (RuntimeException e) {
            vm.destroy();
            throw e;
        }
        return new Started(vm, out, new QemuMonitor(vmm, vm), cl.monitorStdio());
    }
}

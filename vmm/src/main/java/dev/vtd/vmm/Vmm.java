package dev.vtd.vmm;

import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostInterrupts;
import dev.vtd.vmm.vfio.Vfio;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hypervisor on a booted host (KVM plus the QEMU processes it runs): VMs by name, the host's VFIO driver,
 * and the posted-interrupt notification handler of every host CPU, which syncs the descriptors of the vCPUs
 * running there.
 */
public final class Vmm implements AutoCloseable {
    private final Host host;
    private final Vfio vfio;
    private final Map<String, VirtualMachine> vms = new LinkedHashMap<>();
    private int nextId = 1;

    public Vmm(Host host) {
        this.host = host;
        this.vfio = new Vfio(host);
        for (int cpu = 0; cpu < host.cpuCount(); cpu++) {
            int c = cpu;
            host.interrupts().onPostedNotification(c, (int vector) -> {
                for (VirtualMachine vm : vms()) {
                    for (Vcpu v : vm.vcpus()) if (v.hostCpu() == c) v.notified(vector);
                }
            });
        }
    }

    public Host host() { return host; }
    public Vfio vfio() { return vfio; }

    /** Creates a VM (QEMU started, guest not yet booted). */
    public synchronized VirtualMachine create(VirtualMachine.Config config) {
        if (vms.containsKey(config.name())) throw new VmmException("VM '" + config.name() + "' already exists");
        VirtualMachine vm = new VirtualMachine(this, nextId++, config);
        vms.put(config.name(), vm);
        return vm;
    }

    public synchronized VirtualMachine vm(String name) {
        return vms.get(name);
    }

    public synchronized List<VirtualMachine> vms() {
        return new ArrayList<>(vms.values());
    }

    synchronized void removed(VirtualMachine vm) {
        vms.remove(vm.name(), vm);
    }

    /** Runs virtual time; then every running guest takes its interrupts. */
    public void run(long ns) {
        host.run(ns);
        for (VirtualMachine vm : vms()) vm.guest().handleInterrupts();
    }

    int notificationVector() {
        return HostInterrupts.POSTED_INTR_VECTOR;
    }

    @Override
    public void close() {
        for (VirtualMachine vm : vms()) vm.destroy();
    }
}

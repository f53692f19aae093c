package dev.vtd.vmm;

import dev.vtd.kernel.iommu.IntelIommu;
import dev.vtd.kernel.iommu.PageAllocator;
import dev.vtd.platform.devices.I350Nic;
import dev.vtd.platform.memory.PhysicalMemory;
import dev.vtd.platform.pci.PciFunction;
import dev.vtd.vmm.guest.IgbDriver;
import dev.vtd.vmm.host.Host;
import dev.vtd.vmm.host.HostPci;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Property: with several VMs holding random I350 ports and VFs, and guests pointing receive buffers at random
 * addresses (inside their RAM, outside it, at host physical addresses), no DMA lands outside the memory of the
 * device's own VM; every DMA the IOMMU blocks is reported by the host's fault handler with the device's
 * requester ID and the guest address; and every VM's devices still move traffic afterwards.
 *
 * <p>Ports 0 and 1 stay with the host's igb and carry two VFs each; ports 2 and 3 are assignable PFs. The wire
 * topology is random (0-2/1-3, 0-3/1-2, or all looped back). Frames are only addressed so that they land in
 * guest rings (a host port's VF MACs), never in the host igb's own ring. Rounds are 6 s of virtual time apart so
 * the fault printk rate limit (10 per 5 s) never suppresses a report.
 */
class IsolationPropertyTest {
    static final long PAGE = PhysicalMemory.PAGE_SIZE;
    static final long[] RAM_SIZES = {256L << 20, 512L << 20, 1L << 30, 3584L << 20};
    static final int ROUNDS = 6;
    static final long ROUND_GAP_NS = 6_000_000_000L;

    /** An assignable device: its host function, port, and VF index (-1 for a PF). */
    record Dev(PciFunction fn, int port, int vf) {
        String bdf() { return fn.address().substring(5); }
    }

    /** A device inside a VM. */
    record Placed(Dev dev, VirtualMachine vm, IgbDriver driver) {}

    /** A sampled host page and the VM owning it (null: the host). */
    record Sample(long hpa, VirtualMachine owner) {}

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void dmaNeverLandsOutsideItsOwnVmAndEveryBlockedDmaIsReported(long seed) {
        Random rnd = new Random(seed);
        try (Host host = Host.bootR630(); Vmm vmm = new Vmm(host)) {
            I350Nic nic = host.machine().device("i350", I350Nic.class);
            int[] peer = wire(nic, rnd.nextInt(3));
            List<Dev> devs = new ArrayList<>();
            for (int p = 0; p < 2; p++) {
                List<PciFunction> vfs = host.setNumVfs(nic.port(p).function(), 2);
                for (int v = 0; v < vfs.size(); v++) devs.add(new Dev(vfs.get(v), p, v));
            }
            for (int p = 2; p < 4; p++) devs.add(new Dev(nic.port(p).function(), p, -1));

            int nVms = 2 + rnd.nextInt(3);
            List<VirtualMachine> vms = new ArrayList<>();
            for (int i = 0; i < nVms; i++) {
                vms.add(vmm.create(VirtualMachine.Config.of("vm" + i, 1 + rnd.nextInt(2),
                        RAM_SIZES[rnd.nextInt(RAM_SIZES.length)])));
            }
            Map<Dev, VirtualMachine> owner = new LinkedHashMap<>();
            for (Dev d : devs) {
                // Every candidate leaves the host's drivers (no frame lands in a host ring); some stay unassigned.
                if (host.pci().driver(d.fn()) != null) host.pci().unbind(d.fn());
                host.pci().bind(d.fn(), HostPci.VFIO_PCI);
                if (rnd.nextInt(8) == 0) continue;
                VirtualMachine vm = vms.get(rnd.nextInt(nVms));
                vm.assign(DeviceRequest.vfio(d.fn().address()).at(4 + vm.assigned().size(), 0));
                owner.put(d, vm);
            }
            for (VirtualMachine vm : vms) vm.start();
            List<Placed> placed = new ArrayList<>();
            for (var e : owner.entrySet()) {
                VirtualMachine vm = e.getValue();
                int devfn = vm.assigned().stream().filter(a -> a.device().hostFunction() == e.getKey().fn())
                        .findFirst().orElseThrow().devfn();
                placed.add(new Placed(e.getKey(), vm, (IgbDriver) vm.guest().driver(devfn)));
            }

            List<Sample> samples = samples(host, vms, rnd);
            Map<Long, byte[]> before = snapshot(host, samples);
            List<Long> ownWrites = new ArrayList<>();
            int blocked = 0;
            for (int round = 0; round < ROUNDS; round++) {
                for (Placed p : placed) {
                    if (rnd.nextBoolean()) continue;
                    long target = rogueTarget(p.vm(), samples, rnd);
                    p.driver().pointNextRxBufferAt(target);
                    long own = p.vm().memory().gpaToHpa(target, IgbDriver.BUF);
                    if (own >= 0) ownWrites.add(own);              // allowed: the VM's own RAM
                }
                for (Placed p : placed) {
                    for (int n = rnd.nextInt(3); n > 0; n--) {
                        long mac = destination(nic, peer[p.dev().port()], rnd);
                        p.driver().send(frame(mac, rnd));
                    }
                }
                vmm.run(ROUND_GAP_NS);
            }
            // Blocked DMAs: the device's own count, one fault report each, naming the device and the address.
            for (Placed p : placed) {
                long errors = p.dev().vf() >= 0 ? nic.port(p.dev().port()).vfDmaErrors(p.dev().vf())
                        : nic.port(p.dev().port()).dmaErrors();
                List<String> reports = host.log().grepMessages("DMAR: [DMA Write NO_PASID] Request device [" + p.dev().bdf() + "]");
                assertEquals(errors, reports.size(), "seed " + seed + " " + p.dev().bdf() + ": " + reports);
                assertEquals(errors, p.driver().rxErrors(), "the guest saw each failed descriptor");
                blocked += (int) errors;
            }
            assertTrue(placed.stream().anyMatch(p -> !p.driver().received().isEmpty()), "traffic moved");
            assertEquals(0, host.iommu().faultRatelimit().totalSuppressed(), "no report was rate-limited");
            assertEquals(blocked, host.log().grepMessages("DMAR: [DMA Write NO_PASID]").size(),
                    "no other device faulted");
            // Isolation: every sampled page outside a VM changed only if that VM's own guest or devices wrote it.
            Map<Long, byte[]> after = snapshot(host, samples);
            for (Sample s : samples) {
                if (s.owner() != null && ownWrites.contains(s.hpa())) continue;
                assertArrayEquals(before.get(s.hpa()), after.get(s.hpa()), String.format(
                        "seed %d: page %#x of %s changed", seed, s.hpa(), s.owner() == null ? "the host" : s.owner().name()));
            }
            // Every VM keeps running: the drivers behave again, and each device with a sender on its wire gets a frame.
            for (Placed p : placed) p.driver().restoreRxBuffers();
            for (Placed r : placed) {
                Placed sender = senderFor(r, placed, peer);
                if (sender == null) continue;
                int had = r.driver().received().size();
                long mac = r.dev().vf() >= 0 ? nic.port(r.dev().port()).vfMac(r.dev().vf()) : 0x0000_5e00_0101L;
                byte[] f = frame(mac, rnd);
                sender.driver().send(f);
                vmm.run(1_000_000);
                assertEquals(had + 1, r.driver().received().size(), "seed " + seed + ": " + r.dev().bdf() + " alive");
                assertArrayEquals(f, r.driver().received().getLast());
            }
            for (VirtualMachine vm : vms) assertTrue(vm.running());
        }
    }

    /** Wires the ports; returns each port's peer. */
    static int[] wire(I350Nic nic, int topology) {
        int[] peer = switch (topology) {
            case 0 -> new int[]{2, 3, 0, 1};
            case 1 -> new int[]{3, 2, 1, 0};
            default -> new int[]{0, 1, 2, 3};
        };
        for (int p = 0; p < 4; p++) {
            if (peer[p] == p) nic.port(p).loopback();
            else if (p < peer[p]) I350Nic.connect(nic.port(p), nic.port(peer[p]));
        }
        return peer;
    }

    /** A MAC that lands in a guest ring on port q: one of its VFs on a host port, anything on an assigned PF. */
    static long destination(I350Nic nic, int q, Random rnd) {
        if (q < 2) return nic.port(q).vfMac(rnd.nextInt(2));
        return 0x0000_5e00_0000L | rnd.nextInt(0x100);
    }

    static byte[] frame(long mac, Random rnd) {
        byte[] f = new byte[64 + rnd.nextInt(IgbDriver.BUF - 64)];
        rnd.nextBytes(f);
        for (int b = 0; b < 6; b++) f[b] = (byte) (mac >>> (8 * b));
        return f;
    }

    /** A device on the wire peer of r's port that can send to r, or null. */
    static Placed senderFor(Placed r, List<Placed> placed, int[] peer) {
        int q = peer[r.dev().port()];
        for (Placed s : placed) if (s.dev().port() == q && s != r) return s;
        return q == r.dev().port() ? r : null;
    }

    /**
     * Pages to watch: random pages of each VM outside its guest's DMA pool, the kernel's translation structures
     * (root, context and page-table pages of every unit, walked from the root table), and random host RAM no VM
     * owns.
     */
    static List<Sample> samples(Host host, List<VirtualMachine> vms, Random rnd) {
        List<Sample> out = new ArrayList<>();
        for (VirtualMachine vm : vms) {
            for (int i = 0; i < 24; i++) {
                long gpa = randomPageOutsidePool(vm, rnd);
                out.add(new Sample(vm.memory().gpaToHpa(gpa, PAGE), vm));
            }
        }
        PageAllocator pages = host.pages();
        for (IntelIommu u : host.iommu().units()) {
            for (long a : translationStructures(host.machine().memory(), u.rootTable())) out.add(new Sample(a, null));
        }
        PhysicalMemory mem = host.machine().memory();
        int added = 0;
        for (int guard = 0; added < 32 && guard < 10_000; guard++) {
            PhysicalMemory.Region r = mem.regions().get(rnd.nextInt(mem.regions().size()));
            long a = (r.base() + (long) (rnd.nextDouble() * r.size())) & -PAGE;
            if (!mem.isRam(a, PAGE) || a >= pages.base() && a < pages.base() + pages.size()) continue;
            if (vms.stream().anyMatch(vm -> vm.memory().ownsHpa(a))) continue;
            out.add(new Sample(a, null));
            added++;
        }
        return out;
    }

    // Legacy-mode root and context entries (VT-d 9.1, 9.3) and second-level entries (9.8).
    static final long PRESENT = 1, ADDR_MASK = 0x000F_FFFF_FFFF_F000L, PTE_RW = 0b11, PTE_PS = 1 << 7;
    static final int CTX_TT_SHIFT = 2, CTX_TT_PASSTHROUGH = 2, CTX_AW_MASK = 0b111;

    /** The kernel's translation structures of a unit: its root table, context tables and every page-table page. */
    static List<Long> translationStructures(PhysicalMemory mem, long root) {
        java.util.Set<Long> out = new java.util.LinkedHashSet<>();
        out.add(root);
        for (int bus = 0; bus < 256; bus++) {
            long re = mem.read64(root + 16L * bus);
            if ((re & PRESENT) == 0) continue;
            long ctx = re & ADDR_MASK;
            out.add(ctx);
            for (int devfn = 0; devfn < 256; devfn++) {
                long lo = mem.read64(ctx + 16L * devfn), hi = mem.read64(ctx + 16L * devfn + 8);
                if ((lo & PRESENT) == 0 || (lo >>> CTX_TT_SHIFT & 3) == CTX_TT_PASSTHROUGH) continue;
                walk(mem, lo & ADDR_MASK, (int) (hi & CTX_AW_MASK) + 2, out);
            }
        }
        return new ArrayList<>(out);
    }

    private static void walk(PhysicalMemory mem, long table, int level, java.util.Set<Long> out) {
        if (!out.add(table) || level <= 1) return;
        for (int i = 0; i < 512; i++) {
            long e = mem.read64(table + 8L * i);
            if ((e & PTE_RW) == 0 || (e & PTE_PS) != 0) continue;
            walk(mem, e & ADDR_MASK, level - 1, out);
        }
    }

    static long randomPageOutsidePool(VirtualMachine vm, Random rnd) {
        long size = vm.memory().size();
        long poolEnd = dev.vtd.vmm.guest.GuestKernel.DMA_POOL_BASE + (8L << 20);
        while (true) {
            long i = (long) (rnd.nextDouble() * size) & -PAGE;
            long gpa = i < GuestMemory.LOW_LIMIT ? i : GuestMemory.HIGH_BASE + (i - GuestMemory.LOW_LIMIT);
            if (gpa >= dev.vtd.vmm.guest.GuestKernel.DMA_POOL_BASE && gpa < poolEnd) continue;
            return gpa;
        }
    }

    /** A bus address a guest driver points a receive buffer at: its own RAM, beyond it, or a host address. */
    static long rogueTarget(VirtualMachine vm, List<Sample> samples, Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> randomPageOutsidePool(vm, rnd);                                   // own RAM
            case 1 -> vm.memory().size() + ((long) rnd.nextInt(1 << 16) << 12);           // past its RAM
            case 2 -> 0xC000_0000L + ((long) rnd.nextInt(1 << 14) << 12);                // its PCI hole
            default -> samples.get(rnd.nextInt(samples.size())).hpa();                   // a host physical address
        };
    }

    static Map<Long, byte[]> snapshot(Host host, List<Sample> samples) {
        Map<Long, byte[]> m = new HashMap<>();
        for (Sample s : samples) m.put(s.hpa(), host.machine().memory().readBytes(s.hpa(), (int) PAGE));
        return m;
    }
}

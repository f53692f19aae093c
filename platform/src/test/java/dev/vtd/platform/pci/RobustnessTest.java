package dev.vtd.platform.pci;

import dev.vtd.platform.devices.CopyEngine;
import dev.vtd.platform.devices.EduDevice;
import dev.vtd.platform.devices.GpuDevice;
import dev.vtd.platform.devices.I350Nic;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Hostile input is normal input: random configuration and register writes never throw. */
class RobustnessTest {
    @Test
    void randomConfigAndBarRegisterWritesNeverThrow() {
        for (long seed = 1; seed <= 4; seed++) {
            Random r = new Random(seed);
            try (TestMachine m = new TestMachine()) {
                PciBridge rp = m.root.add(1, 0, PciBridge.rootPort("rp", PciIds.of(0x8086, 0x2f04, 0x060400, 2)));
                PcieSwitch sw = new PcieSwitch("sw", PciIds.of(0x10b5, 0x8747, 0x060400, 0), PciIds.of(0x10b5, 0x8747, 0x060400, 0), 2);
                rp.secondaryBus().add(0, 0, sw.upstream());
                I350Nic nic = new I350Nic("nic", m.clock);
                sw.downstream(0).secondaryBus().addDevice(0, nic.functions());
                PciBridge p2p = sw.downstream(1).secondaryBus().add(0, 0, PciBridge.pcieToPci("p2p", PciIds.of(0x1b21, 0x1080, 0x060401, 3)));
                p2p.secondaryBus().add(1, 0, new CopyEngine("ce", m.clock, true).function());
                m.root.add(4, 0, new EduDevice("edu", m.clock).function());
                m.root.add(5, 0, new GpuDevice("gpu", m.clock).function());
                m.segment.enumerate();
                nic.port(0).loopback();
                int[] sizes = {1, 2, 4, 8, 3};
                assertDoesNotThrow(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        int bus = r.nextInt(8), dev = r.nextInt(32), fn = r.nextInt(8);
                        int reg = r.nextInt(4096);
                        int size = sizes[r.nextInt(sizes.length)];
                        switch (r.nextInt(6)) {
                            case 0 -> m.cfgWrite(bus, dev, fn, reg, size, r.nextInt());
                            case 1 -> m.cf8Write(bus, dev, fn, reg & 0xFF, size == 8 ? 4 : size, r.nextInt());
                            case 2 -> m.cfgRead(bus, dev, fn, reg, size);
                            case 3 -> {
                                // Random writes into the PCI MMIO hole and the 64-bit window.
                                long a = r.nextBoolean() ? 0xFD00_0000L + r.nextInt(0x0300_0000) : r.nextLong() & 0xF_FFFF_FFFFL;
                                m.bus.write(a & ~(size - 1L), size == 3 ? 4 : size, r.nextLong());
                            }
                            case 4 -> m.bus.read(0xFD00_0000L + r.nextInt(0x0300_0000), size == 3 ? 4 : size);
                            default -> m.clock.step(r.nextInt(200_000_000));
                        }
                    }
                    for (PciFunction f : m.pci.allFunctions()) {
                        for (Bar b : f.bars()) {
                            for (int k = 0; k < 200; k++) {
                                f.barWrite(b, r.nextLong() & (b.size() - 1), sizes[r.nextInt(4)], r.nextLong());
                                f.barRead(b, r.nextLong(), sizes[r.nextInt(sizes.length)]);
                            }
                        }
                    }
                    m.clock.step(1_000_000_000L);
                }, "seed " + seed);
            }
        }
    }
}

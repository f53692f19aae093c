package dev.vtd.platform.pci;

import dev.vtd.platform.bus.MmioDevice;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.vtd.platform.pci.PciRegs.*;
import static org.junit.jupiter.api.Assertions.*;

class ConfigSpaceRulesTest {
    private static final MmioDevice NOTHING = new MmioDevice() {
        @Override public long read(long offset, int size) { return 0; }
        @Override public void write(long offset, int size, long value) { }
        @Override public long length() { return 0; }
    };

    private static PciFunction endpoint() {
        PciFunction f = new PciFunction("ep", new PciIds(0x8086, 0x1234, 0x020000, 3, 0x1028, 0x1f60), true);
        f.addMemoryBar(0, 0x4000, false, false, NOTHING);
        f.addMemoryBar(2, 16L << 30, true, true, NOTHING);
        f.addIoBar(4, 32, null);
        f.addCapability(new PowerManagementCapability());
        f.addCapability(new MsiCapability(4, true, true));
        f.addCapability(new PcieCapability(PcieCapability.TYPE_ENDPOINT).withFlr());
        f.addCapability(new AcsCapability(AcsCapability.LINUX_ISOLATION));
        f.addCapability(new AtsCapability(0));
        f.addCapability(new PasidCapability(20, true, false));
        f.addCapability(new PriCapability(512, true));
        f.setInterruptPin(1);
        return f;
    }

    private static PciFunction attached() {
        PciHierarchy h = new PciHierarchy();
        PciBus root = h.addSegment(0).addRootBus();
        return root.add(3, 0, endpoint());
    }

    @Test
    void vendorDeviceClassAndSubsystemAreReadOnly() {
        PciFunction f = attached();
        f.configWrite(VENDOR_ID, 4, 0);
        f.configWrite(REVISION_ID, 4, -1);
        f.configWrite(SUBSYSTEM_VENDOR_ID, 4, 0);
        assertEquals(0x1234_8086, f.configRead(VENDOR_ID, 4));
        assertEquals(0x0200_0003, f.configRead(REVISION_ID, 4));
        assertEquals(0x1f60_1028, f.configRead(SUBSYSTEM_VENDOR_ID, 4));
    }

    @Test
    void commandKeepsOnlyImplementedBitsAndStatusErrorsAreWriteOneToClear() {
        PciFunction f = attached();
        f.configWrite(COMMAND, 2, 0xFFFF);
        assertEquals(CMD_IO_SPACE | CMD_MEMORY_SPACE | CMD_BUS_MASTER | CMD_PARITY_ERROR_RESPONSE | CMD_SERR | CMD_INTX_DISABLE,
                f.configRead(COMMAND, 2));
        f.setStatusBits(STS_RECEIVED_MASTER_ABORT | STS_SIGNALED_TARGET_ABORT);
        assertEquals(STS_CAP_LIST | STS_RECEIVED_MASTER_ABORT | STS_SIGNALED_TARGET_ABORT, f.configRead(STATUS, 2));
        f.configWrite(STATUS, 2, STS_RECEIVED_MASTER_ABORT);          // clears only the bit written as 1
        assertEquals(STS_CAP_LIST | STS_SIGNALED_TARGET_ABORT, f.configRead(STATUS, 2));
        f.configWrite(STATUS, 2, 0);                                  // writing 0 changes nothing
        assertEquals(STS_CAP_LIST | STS_SIGNALED_TARGET_ABORT, f.configRead(STATUS, 2));
        f.configWrite(STATUS, 2, 0xFFFF);                             // capability list bit is read-only
        assertEquals(STS_CAP_LIST, f.configRead(STATUS, 2));
    }

    @Test
    void barSizingByWritingAllOnes() {
        PciFunction f = attached();
        f.configWrite(BAR0, 4, -1);
        assertEquals(0xFFFF_C000, f.configRead(BAR0, 4), "16 KiB 32-bit non-prefetchable");
        f.configWrite(BAR0 + 8, 4, -1);
        f.configWrite(BAR0 + 12, 4, -1);
        assertEquals(0x0000_000C, f.configRead(BAR0 + 8, 4), "64-bit prefetchable, low dword of a 16 GiB BAR");
        assertEquals(0xFFFF_FFFC, f.configRead(BAR0 + 12, 4), "upper dword: size 2^34");
        long mask = (f.configRead(BAR0 + 8, 4) & 0xFFFF_FFF0L) | (long) f.configRead(BAR0 + 12, 4) << 32;
        assertEquals(16L << 30, -mask);
        f.configWrite(BAR0 + 16, 4, -1);
        assertEquals(0xFFFF_FFE1, f.configRead(BAR0 + 16, 4), "32-byte I/O BAR");
        assertEquals(0, f.configRead(BAR0 + 4, 4), "unimplemented BAR reads 0");
        f.configWrite(BAR0 + 4, 4, -1);
        assertEquals(0, f.configRead(BAR0 + 4, 4));
        f.configWrite(BAR0, 4, 0xFEB0_1234);
        assertEquals(0xFEB0_0000L, f.bar(0).address());
    }

    @Test
    void capabilityListWalkFindsEveryCapabilityOnce() {
        PciFunction f = attached();
        assertTrue((f.configRead(STATUS, 2) & STS_CAP_LIST) != 0);
        List<Integer> ids = new ArrayList<>();
        int ptr = f.configRead(CAPABILITIES_PTR, 1) & 0xFC;
        for (int guard = 0; ptr != 0 && guard < 48; guard++) {
            ids.add(f.configRead(ptr, 1));
            ptr = f.configRead(ptr + 1, 1) & 0xFC;
        }
        assertEquals(List.of(CAP_ID_PM, CAP_ID_MSI, CAP_ID_PCIE), ids);
        List<Integer> ext = new ArrayList<>();
        int off = EXT_CAP_START;
        for (int guard = 0; off != 0 && guard < 64; guard++) {
            int h = f.configRead(off, 4);
            ext.add(h & 0xFFFF);
            off = h >>> 20;
        }
        assertEquals(List.of(EXT_CAP_ID_ACS, EXT_CAP_ID_ATS, EXT_CAP_ID_PASID, EXT_CAP_ID_PRI), ext);
    }

    @Test
    void msiControlHasReadOnlyCapabilityFieldsAndWritableEnables() {
        PciFunction f = attached();
        MsiCapability m = f.msi();
        int ctl = m.offset() + MsiCapability.CONTROL;
        assertEquals(2 << 1 | MsiCapability.CTL_64BIT | MsiCapability.CTL_PER_VECTOR_MASK, f.configRead(ctl, 2));
        f.configWrite(ctl, 2, 0xFFFF);
        assertEquals(0x7 << 4 | 2 << 1 | 1 | MsiCapability.CTL_64BIT | MsiCapability.CTL_PER_VECTOR_MASK, f.configRead(ctl, 2));
        assertEquals(4, m.allocatedVectors(), "MME beyond MMC is limited to the requested vectors");
        f.configWrite(m.offset() + MsiCapability.ADDRESS_LO, 4, -1);
        assertEquals(0xFFFF_FFFC, f.configRead(m.offset() + MsiCapability.ADDRESS_LO, 4), "address bits 1:0 are 0");
        f.configWrite(m.offset() + m.maskOffset(), 4, -1);
        assertEquals(0xF, f.configRead(m.offset() + m.maskOffset(), 4), "one mask bit per requested vector");
    }

    @Test
    void extendedCapabilityControlRegistersFollowTheirCapabilities() {
        PciFunction f = attached();
        AcsCapability acs = (AcsCapability) f.capabilities().stream().filter(c -> c instanceof AcsCapability).findFirst().orElseThrow();
        f.configWrite(acs.offset() + AcsCapability.CONTROL, 2, 0xFFFF);
        assertEquals(AcsCapability.LINUX_ISOLATION, acs.control());
        PasidCapability pasid = (PasidCapability) f.capabilities().stream().filter(c -> c instanceof PasidCapability).findFirst().orElseThrow();
        f.configWrite(pasid.offset() + PasidCapability.CONTROL, 2, 0xFFFF);
        assertEquals(PasidCapability.CTL_ENABLE | PasidCapability.EXECUTE_PERMISSION, f.configRead(pasid.offset() + PasidCapability.CONTROL, 2),
                "privileged mode is not supported so its enable stays 0");
        assertEquals(20 << 8 | PasidCapability.EXECUTE_PERMISSION, f.configRead(pasid.offset() + PasidCapability.CAPABILITY, 2));
        PriCapability pri = (PriCapability) f.capabilities().stream().filter(c -> c instanceof PriCapability).findFirst().orElseThrow();
        assertTrue((f.configRead(pri.offset() + PriCapability.STATUS, 2) & PriCapability.STS_STOPPED) != 0);
        pri.reportStatus(PriCapability.STS_RESPONSE_FAILURE);
        f.configWrite(pri.offset() + PriCapability.STATUS, 2, PriCapability.STS_RESPONSE_FAILURE);
        assertEquals(0, f.configRead(pri.offset() + PriCapability.STATUS, 2) & PriCapability.STS_RESPONSE_FAILURE);
        f.configWrite(pri.offset() + PriCapability.CONTROL, 2, PriCapability.CTL_ENABLE);
        assertTrue(pri.enabled());
        assertEquals(0, f.configRead(pri.offset() + PriCapability.STATUS, 2) & PriCapability.STS_STOPPED);
    }

    @Test
    void functionLevelResetRestoresDefaultsAndInitiateFlrReadsZero() {
        PciFunction f = attached();
        int[] resets = {0};
        f.setResetHandler(() -> resets[0]++);
        f.configWrite(COMMAND, 2, CMD_MEMORY_SPACE | CMD_BUS_MASTER);
        f.configWrite(BAR0, 4, 0xFEB0_0000);
        f.configWrite(INTERRUPT_LINE, 1, 11);
        int devctl = f.pcie().offset() + PcieCapability.DEVICE_CONTROL;
        f.configWrite(devctl, 2, f.configRead(devctl, 2) | PcieCapability.DEVCTL_INITIATE_FLR);
        assertEquals(1, resets[0]);
        assertEquals(0, f.configRead(COMMAND, 2));
        assertEquals(0, f.configRead(BAR0, 4));
        assertEquals(0, f.configRead(INTERRUPT_LINE, 1));
        assertEquals(PcieCapability.DEVCTL_DEFAULT, f.configRead(devctl, 2));
    }

    @Test
    void accessesOutsideTheSpaceOrAcrossDwordsReadAllOnes() {
        PciFunction f = attached();
        assertEquals(-1, f.configRead(0x1000, 4));
        assertEquals(0xFFFF, f.configRead(0x03, 2), "crosses a dword boundary");
        assertEquals(-1, f.configRead(0, 3));
        PciFunction conventional = new PciFunction("c", PciIds.of(1, 2, 3, 4), false);
        assertEquals(-1, conventional.configRead(0x100, 4), "no extended space on conventional PCI");
    }

    @Test
    void multiFunctionDeviceSetsHeaderTypeBit7() {
        PciHierarchy h = new PciHierarchy();
        PciBus root = h.addSegment(0).addRootBus();
        PciFunction f0 = root.add(1, 0, new PciFunction("f0", PciIds.of(1, 2, 3, 4), false));
        assertEquals(0, f0.configRead(HEADER_TYPE, 1));
        PciFunction f1 = root.add(1, 1, new PciFunction("f1", PciIds.of(1, 2, 3, 4), false));
        assertEquals(HEADER_TYPE_MULTIFUNCTION, f0.configRead(HEADER_TYPE, 1));
        assertEquals(HEADER_TYPE_MULTIFUNCTION, f1.configRead(HEADER_TYPE, 1));
        assertThrows(IllegalArgumentException.class, () -> root.add(2, 1, new PciFunction("x", PciIds.of(1, 2, 3, 4), false)));
    }

    @Test
    void bridgeBusNumbersAndWindowsAreWritableAndPrefetchableWindowIs64Bit() {
        PciHierarchy h = new PciHierarchy();
        PciBridge br = h.addSegment(0).addRootBus().add(1, 0, PciBridge.rootPort("rp", PciIds.of(0x8086, 0x2f04, 0x060400, 2)));
        assertEquals(HEADER_TYPE_BRIDGE, br.configRead(HEADER_TYPE, 1));
        br.configWrite(PRIMARY_BUS, 4, 0x00_05_04_00);
        assertEquals(4, br.secondaryBusNumber());
        assertEquals(5, br.subordinateBusNumber());
        br.configWrite(MEMORY_BASE, 4, 0xFEBF_FEA0);
        assertEquals(0xFEA0_0000L, br.memoryBase());
        assertEquals(0xFEBF_FFFFL, br.memoryLimit());
        assertEquals(1, br.configRead(PREF_MEMORY_BASE, 2) & 0xF, "64-bit prefetchable addressing");
        br.configWrite(PREF_MEMORY_BASE, 4, 0x0001_0001);
        br.configWrite(PREF_BASE_UPPER, 4, 0x4);
        br.configWrite(PREF_LIMIT_UPPER, 4, 0x7);
        assertEquals(0x4_0000_0000L, br.prefetchableBase());
        assertEquals(0x7_000F_FFFFL, br.prefetchableLimit());
        assertEquals(PcieCapability.TYPE_ROOT_PORT, br.configRead(br.pcie().offset() + PcieCapability.CAPABILITIES, 2) >>> 4 & 0xF);
    }
}

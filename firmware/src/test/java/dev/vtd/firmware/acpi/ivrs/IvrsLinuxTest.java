package dev.vtd.firmware.acpi.ivrs;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lines Linux logs for the five real tables whose machine's boot log is in shared/realdata/ivrs. */
class IvrsLinuxTest {
    static String strip(String line) {
        return line.replaceFirst("^\\[[ 0-9.]+\\] ", "");
    }

    @TestFactory
    Stream<DynamicTest> bannerAndReservationLinesAreThoseTheRealMachineLogged() throws Exception {
        List<Path> logs;
        try (Stream<Path> s = Files.list(IvrsRealData.dir())) {
            logs = s.filter(p -> p.toString().endsWith(".dmesg.txt")).sorted().toList();
        }
        assertEquals(5, logs.size());
        return logs.stream().map(log -> DynamicTest.dynamicTest(log.getFileName().toString(), () -> {
            List<String> lines = Files.readAllLines(log).stream().map(IvrsLinuxTest::strip).toList();
            String banner = lines.stream().filter(l -> l.startsWith("ACPI: IVRS ")).findFirst().orElseThrow();
            long address = Long.parseUnsignedLong(banner.substring(13, 29), 16);
            IvrsTable t = IvrsParser.parse(IvrsRealData.read(log.resolveSibling(IvrsRealData.baseName(log) + ".ivrs.bin")), "t");
            assertEquals(banner, IvrsLinux.banner(t, address));
            lines.stream().filter(l -> l.startsWith("ACPI: Reserving IVRS")).findFirst()
                    .ifPresent(r -> assertEquals(r, IvrsLinux.reserving(t, address)));
        }));
    }

    @Test
    void tableWithoutIoapicEntriesDisablesInterruptRemappingAsTheGigabyteBoardLogged() throws Exception {
        Path dir = IvrsRealData.dir();
        String name = "desktop_gigabyte_f2a78mhd2_a10-6800k_ivhd10only";
        IvrsTable t = IvrsParser.parse(IvrsRealData.read(dir.resolve(name + ".ivrs.bin")), name);
        List<String> expected = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve(name + ".dmesg.txt"))) {
            String s = strip(l);
            if (s.startsWith("AMD-Vi: [Firmware Bug]") || s.equals("AMD-Vi: Disabling interrupt remapping")) expected.add(s);
        }
        assertEquals(3, expected.size());
        assertEquals(expected, IvrsLinux.checkIoapicInformation(t, List.of(0)));
    }

    @Test
    void southbridgeIoapicKeepsInterruptRemappingOn() throws Exception {
        IvrsTable t = IvrsTables.zenDesktop();
        assertEquals(Ivrs.IVHD_40, IvrsLinux.targetIvhdType(t));
        assertEquals(List.of(), IvrsLinux.checkIoapicInformation(t, List.of(0x21, 0x22)));
        assertEquals(List.of("AMD-Vi: [Firmware Bug]: : IOAPIC[5] not in IVRS table"),
                IvrsLinux.checkIoapicInformation(t, List.of(0x21, 5)).subList(0, 1));
        assertEquals(List.of("AMD-Vi: [Firmware Bug]: : No southbridge IOAPIC found", "AMD-Vi: Disabling interrupt remapping"),
                IvrsLinux.checkIoapicInformation(t, List.of(0x22)));
    }

    @Test
    void targetTypeStopsAtTheFirstSubtableTypeAbove40h() throws Exception {
        // T14 Gen 3: 10h, 11h, 21h, 40h, 51h -> 40h; the 4-IOMMU TRX40 (10h/11h per IOMMU) -> 11h.
        Path dir = IvrsRealData.dir();
        assertEquals(0x40, IvrsLinux.targetIvhdType(IvrsParser.parse(IvrsRealData.read(
                dir.resolve("notebook_lenovo_thinkpad_t14gen3_rembrandt_ivmd21_type51.ivrs.bin")), "t14")));
        IvrsTable trx = IvrsParser.parse(IvrsRealData.read(dir.resolve("desktop_asus_zenith2_trx40_4iommu.ivrs.bin")), "trx");
        assertEquals(0x11, IvrsLinux.targetIvhdType(trx));
        assertTrue(IvrsLinux.ioapicMap(trx).containsValue(IvrsTables.SOUTHBRIDGE_IOAPIC_DEVID));
    }
}

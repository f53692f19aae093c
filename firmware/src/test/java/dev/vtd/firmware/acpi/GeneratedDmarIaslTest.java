package dev.vtd.firmware.acpi;

import dev.vtd.firmware.machine.Machines;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

/** ACPICA's disassembler reads every DMAR table generated from a machine description as we meant it. */
class GeneratedDmarIaslTest {
    @ParameterizedTest
    @ValueSource(strings = {"r630", "q35", "desktop"})
    void iaslDisassemblesTheGeneratedTableToTheSameFields(String preset, @TempDir Path dir) throws Exception {
        DmarTable t = Machines.load(preset).dmar();
        Path sub = Files.createDirectory(dir.resolve(preset));
        DslTable.read(DmarBuiltTablesTest.iaslDisassemble(t.encode(), sub)).assertDescribes(t, "iasl -d of " + preset);
    }
}

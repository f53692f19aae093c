package dev.vtd.cli;

import org.junit.jupiter.api.Test;
import dev.vtd.cli.args.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** {@code vtd decode irte} and {@code vtd decode msi}, and that {@code decode cap/ecap} still works. */
class DecodeInterruptTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void remappedIrteIsExplainedFieldByField() {
        // P, TM level, vector 0x40, DST 0x0200 (xAPIC ID 2), SVT 01 SID 0x0020.
        Run r = run("decode", "irte", "0x0000020000400011", "0x40020");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("remapped format"), r.out);
        assertTrue(r.out.contains("0x40 (64)"), r.out);
        assertTrue(r.out.contains("xAPIC ID 0x02"), r.out);
        assertTrue(r.out.contains("TM") && r.out.contains("1 (level)"), r.out);
        assertTrue(r.out.contains("0x0020 (00:04.0)"), r.out);
        assertTrue(r.out.contains("verify requester ID against SID"), r.out);
    }

    @Test
    void postedIrteShowsTheDescriptorAddress() {
        Run r = run("decode", "irte", "0x000700000061c001", "0x1_00000000");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("posted format"), r.out);
        assertTrue(r.out.contains("0x100070000"), r.out);
        assertTrue(r.out.contains("URG"), r.out);
    }

    @Test
    void irteNeedsTwoValues() {
        Run r = run("decode", "irte", "0x1");
        assertEquals(2, r.code);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.contains("decode irte"), r.err);
    }

    @Test
    void remappableMsiShowsHandleSubhandleAndIndex() {
        Run r = run("decode", "msi", "--address", "0xfee000b8", "--data", "0x3");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("remappable format"), r.out);
        assertTrue(r.out.contains("Handle") && r.out.contains("0x0005"), r.out);
        assertTrue(r.out.contains("0x0008 (8)"), r.out);     // index = handle 5 + subhandle 3
    }

    @Test
    void compatibilityMsiShowsDestinationVectorAndModes() {
        Run r = run("decode", "msi", "--address", "0xfee01004", "--data", "0xc031");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("compatibility format"), r.out);
        assertTrue(r.out.contains("Destination ID") && r.out.contains("0x01"), r.out);
        assertTrue(r.out.contains("1 (logical)"), r.out);
        assertTrue(r.out.contains("1 (level)"), r.out);
    }

    @Test
    void msiWithoutDataIsAOneLineUsageError() {
        Run r = run("decode", "msi", "--address", "0xfee00000");
        assertEquals(2, r.code);
        assertEquals(1, r.err.strip().lines().count(), r.err);
    }

    @Test
    void badHexNamesTheInput() {
        Run r = run("decode", "msi", "--address", "0xfeeg", "--data", "0");
        assertEquals(2, r.code);
        assertTrue(r.err.contains("--address") && r.err.contains("0xfeeg"), r.err);
    }

    @Test
    void capAndEcapDecodingStillWorks() {
        Run r = run("decode", "cap", "0x8d2078c106f0466", "ecap", "0xf020df");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("CAP 0x8d2078c106f0466"), r.out);
        assertTrue(r.out.contains("ECAP 0xf020df"), r.out);
    }
}

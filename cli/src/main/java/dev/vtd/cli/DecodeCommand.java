package dev.vtd.cli;

import dev.vtd.platform.iommu.regs.BitField;
import dev.vtd.platform.iommu.regs.Cap;
import dev.vtd.platform.iommu.regs.Ecap;
import dev.vtd.cli.args.CommandLine.Command;
import dev.vtd.cli.args.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code vtd decode cap 0x... ecap 0x...}: every field of each register, named as the specification
 * names it; {@code vtd decode irte LO HI} and {@code vtd decode msi --address A --data D} explain an
 * interrupt-remapping table entry and an interrupt request; {@code sm-context}, {@code pasid-entry}
 * and {@code fl-pte} the scalable-mode structures ({@link ScalableDecoding}).
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"Decode VT-d registers field by field: vtd decode cap 0x8d2078c106f0466 ecap 0xf020df",
                "An IRTE: vtd decode irte 0x<lo> 0x<hi>; an MSI: vtd decode msi --address 0xfee00010 --data 0",
                "Scalable mode: vtd decode sm-context Q0 Q1 Q2 Q3; vtd decode pasid-entry Q0 .. Q7;"
                        + " vtd decode fl-pte VALUE [LEVEL]"})
public final class DecodeCommand implements Runnable {
    /** Register name -> its fields. */
    static final Map<String, List<BitField>> REGISTERS = new LinkedHashMap<>();

    static {
        REGISTERS.put("cap", Cap.FIELDS);
        REGISTERS.put("ecap", Ecap.FIELDS);
    }

    @Parameters(arity = "1..*", paramLabel = "REGISTER VALUE",
            description = "Pairs of a register name (cap, ecap) and its value in hex (0x prefix optional).")
    List<String> words;

    @dev.vtd.cli.args.CommandLine.Option(names = "--address", paramLabel = "HEX", description = "MSI address (with 'msi').")
    String msiAddress;

    @dev.vtd.cli.args.CommandLine.Option(names = "--data", paramLabel = "HEX", description = "MSI data (with 'msi').")
    String msiData;

    @dev.vtd.cli.args.CommandLine.Spec
    dev.vtd.cli.args.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        String first = words.getFirst().toLowerCase(java.util.Locale.ROOT);
        if (first.equals("irte")) {
            InterruptDecoding.irte(out, words.subList(1, words.size()));
            out.flush();
            return;
        }
        List<String> rest = words.subList(1, words.size());
        boolean scalable = true;
        switch (first) {
            case "sm-context" -> ScalableDecoding.smContext(out, rest);
            case "pasid-entry" -> ScalableDecoding.pasidEntry(out, rest);
            case "fl-pte" -> ScalableDecoding.flPte(out, rest);
            case "amd-dte" -> AmdDteDecoding.dte(out, rest);
            default -> scalable = false;
        }
        if (scalable) {
            out.flush();
            return;
        }
        if (first.equals("msi")) {
            if (words.size() > 1) throw new UserInputException("decode msi: unexpected '" + words.get(1) + "' (usage: vtd decode msi --address 0x... --data 0x...)");
            InterruptDecoding.msi(out, msiAddress, msiData);
            out.flush();
            return;
        }
        if (msiAddress != null || msiData != null) {
            throw new UserInputException("decode: --address and --data belong to 'msi' (usage: vtd decode msi --address 0x... --data 0x...)");
        }
        if (words.size() % 2 != 0) {
            throw new UserInputException("decode: '" + words.getLast() + "' needs a value (usage: vtd decode cap 0x... ecap 0x...)");
        }
        // Validate everything before printing anything.
        record Item(String name, long value, List<BitField> fields) {}
        List<Item> items = new java.util.ArrayList<>();
        for (int i = 0; i < words.size(); i += 2) {
            String name = words.get(i).toLowerCase(java.util.Locale.ROOT);
            List<BitField> fields = REGISTERS.get(name);
            if (fields == null) {
                throw new UserInputException("decode: unknown register '" + words.get(i) + "' (known: "
                        + String.join(", ", REGISTERS.keySet()) + ", irte, msi, sm-context, pasid-entry, fl-pte)");
            }
            items.add(new Item(name, Hex.parseLong(words.get(i + 1), "decode " + name), fields));
        }
        for (Item it : items) {
            out.printf("%s 0x%x%n", it.name.toUpperCase(java.util.Locale.ROOT), it.value);
            for (BitField f : it.fields) {
                out.printf("  %-8s %-6s %-55s %s%n", f.name(), f.bits(), f.title(), f.describe(it.value));
            }
            long reserved = ~0L;
            for (BitField f : it.fields) reserved &= ~f.mask();
            if ((it.value & reserved) != 0) {
                out.printf("  reserved bits set: 0x%x%n", it.value & reserved);
            }
        }
        out.flush();
    }
}

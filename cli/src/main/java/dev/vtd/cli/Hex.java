package dev.vtd.cli;

/** Parsing of user-typed numbers, with one-line errors naming the input. */
public final class Hex {
    private Hex() {}

    /** Parses hex with or without 0x (the form the kernel prints cap/ecap in), up to 64 bits. */
    public static long parseLong(String text, String where) {
        String t = text.trim();
        if (t.startsWith("0x") || t.startsWith("0X")) t = t.substring(2);
        t = t.replace("_", "");
        if (t.isEmpty() || t.length() > 16 || !t.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new UserInputException(where + ": '" + text + "' is not a 64-bit hex number");
        }
        return Long.parseUnsignedLong(t, 16);
    }
}

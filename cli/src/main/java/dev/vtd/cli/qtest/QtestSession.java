package dev.vtd.cli.qtest;

import dev.vtd.firmware.machine.Machine;
import dev.vtd.platform.bus.SystemBus;
import dev.vtd.platform.clock.VirtualClock;

import java.util.Base64;
import java.util.HexFormat;

/**
 * The qtest protocol engine (QEMU's softmmu/qtest.c command set) over a {@link Machine}: one command
 * line in, one response line out. Memory and register accesses go to the machine's
 * {@link SystemBus} as CPU accesses (RAM, MMIO, I/O ports); time is the machine's
 * {@link VirtualClock}, which only moves on {@code clock_step}/{@code clock_set} and fires the device
 * timers that fall due.
 *
 * <p>Responses are worded as QEMU words them: {@code OK 0x%016x} for memory reads, {@code OK 0x%04x}
 * for port reads, {@code OK <ns>} for clock commands, {@code FAIL Unknown command 'x'}. Where QEMU
 * would abort on a malformed argument, the session answers {@code FAIL ...} and carries on.
 */
public final class QtestSession {
    /** Largest block a single read/write/memset command moves (a bound for hostile input). */
    public static final long MAX_BLOCK = 16L << 20;
    /** Longest command line accepted: a {@code write} of {@link #MAX_BLOCK} bytes in hex, plus room. */
    public static final int MAX_LINE = (int) (2 * MAX_BLOCK + 256);

    private final Machine machine;
    private final SystemBus bus;
    private final VirtualClock clock;

    public QtestSession(Machine machine) {
        this.machine = machine;
        this.bus = machine.bus();
        this.clock = machine.clock();
    }

    public Machine machine() {
        return machine;
    }

    /** A malformed command: answered with {@code FAIL <message>}. */
    private static final class Malformed extends RuntimeException {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** Executes one command line (without its newline) and returns the response line (without newline). */
    public String execute(String line) {
        if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
        String[] w = line.split(" ", -1);          // QEMU splits on single spaces
        try {
            return dispatch(w);
        } catch (Malformed e) {
            return "FAIL " + e.getMessage();
        }
    }

    private String dispatch(String[] w) {
        String cmd = w[0];
        switch (cmd) {
            case "readb", "readw", "readl", "readq" -> {
                args(w, 1);
                long addr = number(w, 1);
                int size = width(cmd.charAt(4));
                return String.format("OK 0x%016x", bus.read(addr, size));
            }
            case "writeb", "writew", "writel", "writeq" -> {
                args(w, 2);
                long addr = number(w, 1);
                long value = number(w, 2);
                int size = width(cmd.charAt(5));
                bus.write(addr, size, size == 8 ? value : value & ((1L << (8 * size)) - 1));
                return "OK";
            }
            case "inb", "inw", "inl" -> {
                args(w, 1);
                int port = port(w, 1);
                return String.format("OK 0x%04x", bus.in(port, width(cmd.charAt(2))));
            }
            case "outb", "outw", "outl" -> {
                args(w, 2);
                int port = port(w, 1);
                int size = width(cmd.charAt(3));
                bus.out(port, size, number(w, 2) & ((1L << (8 * size)) - 1));
                return "OK";
            }
            case "read" -> {
                args(w, 2);
                long addr = number(w, 1);
                int len = length(w, 2, false);
                return "OK 0x" + HexFormat.of().formatHex(bus.readBytes(addr, len));
            }
            case "b64read" -> {
                args(w, 2);
                long addr = number(w, 1);
                int len = length(w, 2, true);
                return "OK " + Base64.getEncoder().encodeToString(bus.readBytes(addr, len));
            }
            case "write" -> {
                args(w, 3);
                long addr = number(w, 1);
                int len = length(w, 2, true);
                String hex = w[3];
                if (hex.length() < 3 || !(hex.startsWith("0x") || hex.startsWith("0X"))) {
                    throw new Malformed("invalid argument size");
                }
                // As QEMU: bytes beyond the data given are written as zero.
                byte[] data = new byte[len];
                for (int i = 0; i < len && 2 * i + 4 <= hex.length(); i++) {
                    data[i] = (byte) (nibble(hex.charAt(2 * i + 2)) << 4 | nibble(hex.charAt(2 * i + 3)));
                }
                bus.writeBytes(addr, data);
                return "OK";
            }
            case "b64write" -> {
                args(w, 3);
                long addr = number(w, 1);
                int len = length(w, 2, true);
                if (w[3].length() < 3) throw new Malformed("invalid argument size");
                byte[] decoded;
                try {
                    decoded = Base64.getDecoder().decode(w[3]);
                } catch (IllegalArgumentException e) {
                    throw new Malformed("b64write: invalid base64 data");
                }
                byte[] data = new byte[len];
                System.arraycopy(decoded, 0, data, 0, Math.min(len, decoded.length));
                bus.writeBytes(addr, data);
                return "OK";
            }
            case "memset" -> {
                args(w, 3);
                long addr = number(w, 1);
                int len = length(w, 2, true);
                byte pattern = (byte) number(w, 3);
                if (len > 0) {
                    byte[] data = new byte[len];
                    java.util.Arrays.fill(data, pattern);
                    bus.writeBytes(addr, data);
                }
                return "OK";
            }
            case "endianness" -> {
                return "OK little";
            }
            case "clock_step" -> {
                long target;
                if (w.length > 1) {
                    long ns = number(w, 1);
                    long now = clock.now();
                    target = ns <= 0 ? now : ns > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + ns;
                } else {
                    // No argument: to the next timer deadline (QEMU's qemu_clock_deadline_ns_all).
                    long d = clock.nextDeadline();
                    target = d < 0 ? clock.now() : d;
                }
                return "OK " + clock.advanceTo(target);
            }
            case "clock_set" -> {
                args(w, 1);
                return "OK " + clock.advanceTo(number(w, 1));
            }
            default -> {
                return "FAIL Unknown command '" + cmd + "'";
            }
        }
    }

    private static int width(char c) {
        return switch (c) {
            case 'b' -> 1;
            case 'w' -> 2;
            case 'l' -> 4;
            default -> 8;
        };
    }

    private static void args(String[] w, int n) {
        if (w.length < n + 1) throw new Malformed(w[0] + ": expected " + n + " argument" + (n == 1 ? "" : "s"));
    }

    private static long number(String[] w, int i) {
        try {
            return parseNumber(w[i]);
        } catch (NumberFormatException e) {
            throw new Malformed(w[0] + ": invalid number '" + w[i] + "'");
        }
    }

    private static int port(String[] w, int i) {
        long p = number(w, i);
        if (p < 0 || p > 0xFFFF) throw new Malformed(w[0] + ": port '" + w[i] + "' above 0xffff");
        return (int) p;
    }

    private static int length(String[] w, int i, boolean zeroOk) {
        long n = number(w, i);
        if (n < 0 || n > MAX_BLOCK) throw new Malformed(w[0] + ": size '" + w[i] + "' above " + MAX_BLOCK + " bytes");
        if (n == 0 && !zeroOk) throw new Malformed(w[0] + ": size 0");
        return (int) n;
    }

    private static int nibble(char c) {
        int v = Character.digit(c, 16);
        if (v < 0) throw new Malformed("write: invalid hex digit '" + c + "'");
        return v;
    }

    /**
     * A number as C's strtoull with base 0 reads it: {@code 0x} hex, leading {@code 0} octal,
     * otherwise decimal; a leading minus negates modulo 2^64. The whole string must be consumed.
     */
    public static long parseNumber(String s) {
        boolean neg = s.startsWith("-");
        String t = neg || s.startsWith("+") ? s.substring(1) : s;
        int radix = 10;
        if (t.startsWith("0x") || t.startsWith("0X")) {
            radix = 16;
            t = t.substring(2);
        } else if (t.length() > 1 && t.startsWith("0")) {
            radix = 8;
            t = t.substring(1);
        }
        if (t.isEmpty() || Character.digit(t.charAt(0), radix) < 0) throw new NumberFormatException(s);
        long v = Long.parseUnsignedLong(t, radix);
        return neg ? -v : v;
    }
}

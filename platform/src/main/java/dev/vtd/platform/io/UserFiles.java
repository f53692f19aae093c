package dev.vtd.platform.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Bounded reads of files a user names: only regular files, at most a size limit, and (for text) UTF-8
 * without NUL bytes. Every refusal is a {@link Problem} whose message is the real problem alone
 * ("is a directory", "not a regular file", "larger than 16777216 bytes", "binary data, not text",
 * "UTF-16 text, expected UTF-8"); callers prefix the input's name and their context.
 */
public final class UserFiles {
    /** Default limit for text inputs (machine YAML, libvirt XML, scripts). */
    public static final long TEXT_LIMIT = 16L << 20;
    /** Default limit for binary table inputs (an ACPI table is at most 4 GiB by its length, real ones are KiB). */
    public static final long TABLE_LIMIT = 16L << 20;

    private UserFiles() {}

    /** A user file cannot be used; the message is the problem only, without the file name. */
    public static final class Problem extends RuntimeException {
        public Problem(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads at most {@code limit} bytes of the regular file {@code name}, or throws {@link Problem}. */
    public static byte[] readBytes(String name, long limit) {
        if (name == null || name.isEmpty()) throw new Problem("empty file name");
        Path path;
        try {
            path = Path.of(name);
        } catch (InvalidPathException e) {
            throw new Problem("invalid file name");
        }
        return readBytes(path, limit);
    }

    /** Reads at most {@code limit} bytes of the regular file {@code path}, or throws {@link Problem}. */
    public static byte[] readBytes(Path path, long limit) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new Problem("no such file");
        } catch (AccessDeniedException e) {
            throw new Problem("permission denied");
        } catch (IOException | SecurityException e) {
            throw new Problem("cannot read: " + e.getMessage());
        }
        if (attrs.isDirectory()) throw new Problem("is a directory");
        if (!attrs.isRegularFile()) throw new Problem("not a regular file (device, pipe or socket)");
        if (attrs.size() > limit) throw new Problem("larger than " + limit + " bytes");
        try (InputStream in = Files.newInputStream(path)) {
            // the file may grow while read: never take more than limit + 1 bytes
            byte[] bytes = in.readNBytes((int) Math.min(limit + 1, Integer.MAX_VALUE - 8));
            if (bytes.length > limit) throw new Problem("larger than " + limit + " bytes");
            return bytes;
        } catch (AccessDeniedException e) {
            throw new Problem("permission denied");
        } catch (IOException e) {
            throw new Problem("cannot read: " + e.getMessage());
        }
    }

    /** Reads a regular UTF-8 text file of at most {@code limit} bytes, or throws {@link Problem}. */
    public static String readText(String name, long limit) {
        return decodeText(readBytes(name, limit));
    }

    /** Reads a regular UTF-8 text file of at most {@code limit} bytes, or throws {@link Problem}. */
    public static String readText(Path path, long limit) {
        return decodeText(readBytes(path, limit));
    }

    /** Decodes UTF-8 text, refusing UTF-16/32, NUL bytes and malformed UTF-8 ({@link Problem}). */
    public static String decodeText(byte[] bytes) {
        if (bytes.length >= 2 && ((bytes[0] == (byte) 0xFF && bytes[1] == (byte) 0xFE) || (bytes[0] == (byte) 0xFE && bytes[1] == (byte) 0xFF))) {
            throw new Problem("UTF-16 text, expected UTF-8");
        }
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                // UTF-16 without BOM puts a NUL in every other byte of ASCII text
                boolean utf16 = bytes.length >= 4 && (bytes[0] == 0 || bytes[1] == 0) && (bytes[2] == 0 || bytes[3] == 0);
                throw new Problem(utf16 ? "UTF-16 text, expected UTF-8" : "binary data (NUL byte at offset " + i + "), not text");
            }
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (CharacterCodingException e) {
            throw new Problem("binary data (not valid UTF-8), not text");
        }
    }
}

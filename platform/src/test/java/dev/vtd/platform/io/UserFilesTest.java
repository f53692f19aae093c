package dev.vtd.platform.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class UserFilesTest {
    private static String problem(Runnable r) {
        return assertThrows(UserFiles.Problem.class, r::run).getMessage();
    }

    @Test
    void devicesAreRefusedWithoutReadingThem() {
        assertEquals("not a regular file (device, pipe or socket)", problem(() -> UserFiles.readBytes("/dev/zero", 1 << 20)));
        assertEquals("not a regular file (device, pipe or socket)", problem(() -> UserFiles.readText("/dev/urandom", 1 << 20)));
    }

    @Test
    void directoriesMissingAndEmptyNamesSayWhatIsWrong(@TempDir Path dir) {
        assertEquals("is a directory", problem(() -> UserFiles.readBytes(dir.toString(), 100)));
        assertEquals("no such file", problem(() -> UserFiles.readBytes(dir.resolve("x").toString(), 100)));
        assertEquals("empty file name", problem(() -> UserFiles.readBytes("", 100)));
    }

    @Test
    void filesBeyondTheLimitAreRefused(@TempDir Path dir) throws Exception {
        Path f = Files.write(dir.resolve("big"), new byte[101]);
        assertEquals("larger than 100 bytes", problem(() -> UserFiles.readBytes(f, 100)));
        assertEquals(100, UserFiles.readBytes(Files.write(dir.resolve("ok"), new byte[100]), 100).length);
    }

    @Test
    void textMustBeUtf8WithoutNulBytes(@TempDir Path dir) throws Exception {
        Path u16 = Files.write(dir.resolve("u16"), "<domain/>".getBytes(StandardCharsets.UTF_16));
        assertEquals("UTF-16 text, expected UTF-8", problem(() -> UserFiles.readText(u16, 1000)));
        Path u16le = Files.write(dir.resolve("u16le"), "<domain/>".getBytes(StandardCharsets.UTF_16LE));
        assertEquals("UTF-16 text, expected UTF-8", problem(() -> UserFiles.readText(u16le, 1000)));
        Path bin = Files.write(dir.resolve("bin"), new byte[] {'a', 'b', 'c', 'd', 0, 1});
        assertEquals("binary data (NUL byte at offset 4), not text", problem(() -> UserFiles.readText(bin, 1000)));
        Path bad = Files.write(dir.resolve("bad"), new byte[] {'a', (byte) 0xC3, 'b'});
        assertEquals("binary data (not valid UTF-8), not text", problem(() -> UserFiles.readText(bad, 1000)));
        Path ok = Files.writeString(dir.resolve("ok"), "\uFEFFmachine: é\n");
        assertEquals("machine: é\n", UserFiles.readText(ok, 1000));
    }
}

package dev.vtd.cli.qtest;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs a {@link QtestSession} over a byte stream: one command per line in, one response line out,
 * flushed after every line. Optionally logs the exchange as QEMU's {@code -qtest-log} does
 * ({@code [R +secs] command}, {@code [S +secs] response}).
 */
public final class QtestServer {
    private final QtestSession session;
    private final PrintWriter log;
    private final long started = System.nanoTime();

    /** @param log where to log the exchange, or null */
    public QtestServer(QtestSession session, Writer log) {
        this.session = session;
        this.log = log == null ? null : new PrintWriter(log, true);
    }

    /** Serves until the input ends. */
    public void serve(InputStream in, OutputStream out) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.ISO_8859_1));
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.ISO_8859_1));
        if (log != null) log.printf("[I %s] OPENED%n", stamp());
        StringBuilder line = new StringBuilder();
        while (readLine(r, line)) {
            String cmd = line.toString();
            if (log != null) log.printf("[R +%s] %s%n", stamp(), cmd);
            String resp = line.length() > QtestSession.MAX_LINE
                    ? "FAIL command line longer than " + QtestSession.MAX_LINE + " characters"
                    : session.execute(cmd);
            if (log != null) log.printf("[S +%s] %s%n", stamp(), resp);
            w.write(resp);
            w.write('\n');
            w.flush();
        }
        if (log != null) log.printf("[I +%s] CLOSED%n", stamp());
    }

    /**
     * Reads one line (without its terminator) into {@code line}, keeping at most
     * {@link QtestSession#MAX_LINE} + 1 characters of it; false at end of input. As in QEMU, only
     * newline-terminated commands run: an unterminated fragment at the end is dropped.
     */
    private static boolean readLine(BufferedReader r, StringBuilder line) throws IOException {
        line.setLength(0);
        int c;
        while ((c = r.read()) >= 0) {
            if (c == '\n') return true;
            if (line.length() <= QtestSession.MAX_LINE) line.append((char) c);
        }
        return false;
    }

    private String stamp() {
        return String.format("%.6f", (System.nanoTime() - started) / 1e9);
    }

    /** {@code -qtest unix:PATH} (client): connects to a listening test and serves until it hangs up. */
    public void connect(Path path) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            serve(Channels.newInputStream(ch), Channels.newOutputStream(ch));
        }
    }

    /**
     * {@code -qtest unix:PATH,server}: listens on PATH (replacing a stale socket file, as QEMU does) and
     * serves one connection after another, the machine keeping its state between them, until
     * {@code maxConnections} have been served (or forever with a negative count).
     */
    public void listen(Path path, int maxConnections) throws IOException {
        Files.deleteIfExists(path);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            for (int n = 0; maxConnections < 0 || n < maxConnections; n++) {
                try (SocketChannel ch = server.accept()) {
                    serve(Channels.newInputStream(ch), Channels.newOutputStream(ch));
                }
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }
}

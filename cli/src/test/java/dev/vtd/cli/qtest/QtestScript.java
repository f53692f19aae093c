package dev.vtd.cli.qtest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A qtest script as the tests write them: one {@code COMMAND => EXPECTED RESPONSE} per line
 * ({@code #} starts a comment). Running it feeds every command to a {@link QtestSession} and
 * collects the lines whose response differs.
 */
final class QtestScript {
    private QtestScript() {}

    static List<String> run(QtestSession session, String resource) throws IOException {
        String text;
        try (InputStream in = QtestScript.class.getResourceAsStream("/qtest/" + resource)) {
            if (in == null) throw new IOException("no test resource /qtest/" + resource);
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> mismatches = new ArrayList<>();
        int n = 0, commands = 0;
        for (String line : text.split("\n")) {
            n++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            int arrow = l.indexOf("=>");
            if (arrow < 0) throw new IOException(resource + ":" + n + ": no '=>' in script line");
            String cmd = l.substring(0, arrow).strip();
            String expected = l.substring(arrow + 2).strip();
            String got = session.execute(cmd);
            commands++;
            if (!got.equals(expected)) {
                mismatches.add(resource + ":" + n + ": " + cmd + " => " + got + " (expected " + expected + ")");
            }
        }
        if (commands == 0) throw new IOException(resource + ": empty script");
        return mismatches;
    }
}

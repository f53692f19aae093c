package dev.vtd.cli.qtest;

import dev.vtd.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vtd qtest}: QEMU's command line and error reporting, and the protocol over a Unix socket. */
class QtestCommandTest {
    record Run(int exit, String out, String err) {}

    private static Run vtd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static void assertQemuError(String expected, String... qemuArgs) {
        String[] args = new String[qemuArgs.length + 1];
        args[0] = "qtest";
        System.arraycopy(qemuArgs, 0, args, 1, qemuArgs.length);
        Run r = vtd(args);
        assertEquals(1, r.exit(), "QEMU exits with 1 on a bad command line");
        assertEquals("qemu-system-x86_64: " + expected, r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void unknownIntelIommuPropertyIsReportedAsQemuDoes() {
        assertQemuError("-device intel-iommu,foo=1: Property 'intel-iommu.foo' not found",
                "-machine", "q35", "-device", "intel-iommu,foo=1");
    }

    @Test
    void awBitsOtherThan39Or48IsRejectedWithQemusMessage() {
        assertQemuError("-device intel-iommu,aw-bits=40: Supported values for aw-bits are: 39, 48",
                "-machine", "q35", "-device", "intel-iommu,aw-bits=40");
    }

    @Test
    void badBooleanUnknownOptionAndUnknownDeviceAreRejected() {
        assertQemuError("-device intel-iommu,caching-mode=maybe: Parameter 'caching-mode' expects 'on' or 'off'",
                "-machine", "q35", "-device", "intel-iommu,caching-mode=maybe");
        assertQemuError("-frobnicate: invalid option", "-machine", "q35", "-frobnicate");
        assertQemuError("-device e1000: 'e1000' is not a valid device model name", "-machine", "q35", "-device", "e1000");
        assertQemuError("-device edu,addr=04.0: PCI: slot 4 function 0 not available for edu, in use by edu",
                "-machine", "q35", "-device", "edu,addr=04.0", "-device", "edu,addr=04.0");
        assertQemuError("-device intel-iommu,eim=on,intremap=off: eim=on cannot be selected without intremap=on",
                "-machine", "q35", "-device", "intel-iommu,eim=on,intremap=off");
        assertQemuError("-device intel-iommu,x-pasid-mode=on: Need to set scalable mode for PASID",
                "-machine", "q35", "-device", "intel-iommu,x-pasid-mode=on");
    }

    @Test
    void qemuRunLineOfTheConformanceHarnessParses() {
        QemuCommandLine cl = QemuCommandLine.parse(List.of("-machine", "q35,accel=qtest", "-nodefaults", "-display", "none",
                "-m", "512M", "-device", "intel-iommu,intremap=on,aw-bits=48", "-device",
                "edu,addr=04.0,dma_mask=0xffffffffffffffff", "-device", "edu,addr=05.0", "-qtest", "stdio",
                "-qtest-log", "/dev/null", "-bios", "halt.bin", "-serial", "none", "-monitor", "none", "-nographic"));
        assertEquals(512L << 20, cl.ramBytes());
        assertEquals(48, cl.iommu().awBits());
        assertEquals(2, cl.edus().size());
        assertEquals(-1L, cl.edus().get(0).dmaMask());
        assertEquals(5, cl.edus().get(1).device());
        assertEquals(new QemuCommandLine.Stdio(), cl.qtest());
        assertEquals("/dev/null", cl.qtestLog());
    }

    @Test
    void ramSizesTakeQemusSuffixesAndMebibytesWithoutOne() {
        assertEquals(512L << 20, QemuCommandLine.ramSize("-m 512", "512"));
        assertEquals(1L << 30, QemuCommandLine.ramSize("-m 1G", "1G"));
        assertEquals(1536L << 20, QemuCommandLine.ramSize("-m 1.5G", "1.5G"));
        assertEquals(256L << 20, QemuCommandLine.ramSize("-m size=256M", "size=256M"));
    }

    @Test
    void unixSocketOptionsAreParsedAsQemuChardevs() {
        assertEquals(new QemuCommandLine.UnixSocket("/tmp/q.sock", true, false),
                QemuCommandLine.parse(List.of("-M", "q35", "-qtest", "unix:/tmp/q.sock,server,wait=off")).qtest());
        assertEquals(new QemuCommandLine.UnixSocket("/tmp/q.sock", false, true),
                QemuCommandLine.parse(List.of("-M", "q35", "-qtest", "unix:/tmp/q.sock")).qtest());
    }

    @Test
    void qtestOverAUnixSocketAnswersLikeQemuAndExitsWhenTheTestHangsUp(@TempDir Path dir) throws Exception {
        // libqtest's way: the test listens, the machine connects with -qtest unix:PATH.
        Path sock = dir.resolve("qtest.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            // Own threads, not the common pool (a busy pool must not stall the machine), and a bounded
            // accept: if the machine fails before connecting, the test fails instead of hanging.
            ExecutorService pool = Executors.newSingleThreadExecutor();
            Future<Run> vm = pool.submit(() -> vtd("qtest", "-machine", "q35,accel=qtest",
                    "-nodefaults", "-m", "512M", "-device", "intel-iommu,intremap=on", "-device", "edu,addr=04.0",
                    "-qtest", "unix:" + sock));
            pool.shutdown();
            server.configureBlocking(false);
            SocketChannel accepted = null;
            for (int tries = 0; accepted == null && tries < 3000 && !vm.isDone(); tries++) {
                accepted = server.accept();
                if (accepted == null) Thread.sleep(10);
            }
            assertTrue(accepted != null, "vtd qtest connected" + (vm.isDone() ? ": " + vm.get() : ""));
            accepted.configureBlocking(true);
            try (SocketChannel ch = accepted) {
                OutputStream out = Channels.newOutputStream(ch);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.US_ASCII));
                String[][] exchange = {
                        {"readq 0xfed90008", "OK 0x00d2008c22260206"},
                        {"outl 0xcf8 0x80002000", "OK"},
                        {"inl 0xcfc", "OK 0x11e81234"},
                        {"clock_step 1000", "OK 1000"},
                        {"frob", "FAIL Unknown command 'frob'"},
                        {"endianness", "OK little"}};
                for (String[] e : exchange) {
                    out.write((e[0] + "\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    assertEquals(e[1], in.readLine(), e[0]);
                }
            }
            Run r = vm.get(30, TimeUnit.SECONDS);
            assertEquals(0, r.exit(), r.err());
            assertEquals("", r.err(), "nothing on stderr when all is well");
        }
    }

    @Test
    void anOverlongLineFailsTheNextCommandIsServedAndAnUnterminatedTailIsDropped() throws Exception {
        try (var m = QtestSessionTest.q35()) {
            String huge = "write 0x0 4 0x" + "0".repeat(QtestSession.MAX_LINE);
            byte[] in = (huge + "\nendianness\nreadl 0xfed90000\nreadl 0xfed90000").getBytes(StandardCharsets.US_ASCII);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            new QtestServer(new QtestSession(m), null).serve(new java.io.ByteArrayInputStream(in), out);
            List<String> lines = out.toString(StandardCharsets.US_ASCII).lines().toList();
            assertEquals(3, lines.size(), "one response per terminated line; an unterminated tail is dropped, as in QEMU");
            assertTrue(lines.get(0).startsWith("FAIL command line longer than"), lines.get(0));
            assertEquals("OK little", lines.get(1));
            assertEquals("OK 0x0000000000000010", lines.get(2));
        }
    }

    @Test
    void serverModeListensAndKeepsTheMachineAcrossConnections(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("server.sock");
        try (var m = QtestSessionTest.q35()) {
            QtestServer server = new QtestServer(new QtestSession(m), null);
            ExecutorService pool = Executors.newSingleThreadExecutor();
            Future<?> done = pool.submit(() -> {
                server.listen(sock, 2);
                return null;
            });
            pool.shutdown();
            String[] cmds = {"writel 0x1000 0xabcd", "readl 0x1000"};
            String[] expect = {"OK", "OK 0x000000000000abcd"};
            for (int c = 0; c < 2; c++) {
                SocketChannel ch = null;
                for (int tries = 0; ch == null && tries < 500; tries++) {
                    try {
                        ch = SocketChannel.open(UnixDomainSocketAddress.of(sock));
                    } catch (java.io.IOException notYet) {
                        Thread.sleep(10);
                    }
                }
                assertTrue(ch != null, "server socket came up");
                try (SocketChannel open = ch) {
                    OutputStream out = Channels.newOutputStream(open);
                    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(open), StandardCharsets.US_ASCII));
                    out.write((cmds[c] + "\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    assertEquals(expect[c], in.readLine());
                }
            }
            done.get(30, TimeUnit.SECONDS);
            assertTrue(!Files.exists(sock), "socket file removed on exit");
        }
    }
}

package dev.vtd.kernel.shell;

import dev.vtd.firmware.machine.Presets;
import dev.vtd.kernel.host.Host;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shell language: pipelines, redirection, quoting, globbing, the text tools, errors and the extension point. */
class ShellTest {
    static Host host;
    static Shell sh;

    @BeforeAll
    static void boot() {
        host = Host.boot(b -> Presets.r630().vtdEnabledInBios(b.vtd()).build());
        sh = Shell.create(host);
    }

    @AfterAll
    static void off() {
        host.close();
    }

    @Test
    void grepOptionsFilterCountInvertAndIgnoreCase() {
        assertEquals("4\n", sh.run("lspci | grep -c 'I350 Gigabit'"));
        assertEquals("4\n", sh.run("lspci | grep -ci 'i350 gigabit'"));
        assertEquals("13\n", sh.run("lspci | grep -v Ethernet | wc -l"));
        assertEquals("5\n", sh.run("lspci | grep -E -c 'Root Port [12]|USB'"));
        assertEquals("5\n", sh.run("lspci | grep -c 'Root Port [12]\\|USB'"));
        assertEquals("", sh.run("lspci | grep nothing-matches"));
        assertEquals(1, sh.lastStatus());
    }

    @Test
    void headAndWcCountLikeCoreutils() {
        assertEquals("00:00.0 0600: 8086:2f00 (rev 02)\n00:01.0 0604: 8086:2f02 (rev 02)\n", sh.run("lspci -n | head -n 2"));
        assertEquals("2\n", sh.run("lspci | head -2 | wc -l"));
        assertEquals("1 3 14\n", sh.run("echo one two three | wc").replaceAll(" +", " ").strip() + "\n");
    }

    @Test
    void quotingKeepsSpacesAndOperatorsInsideOneWord() {
        assertEquals("a | b > c\n", sh.run("echo 'a | b > c'"));
        assertEquals("8086 10b9\n", sh.run("echo \"8086 10b9\""));
        assertEquals("x y\n", sh.run("echo x\\ y"));
        assertEquals("bash: unexpected EOF while looking for matching `''\n", sh.run("echo 'open"));
        assertEquals(2, sh.lastStatus());
    }

    @Test
    void redirectionAppendsAndSequencesRun() {
        sh.run("echo GRUB_TIMEOUT=9 >> /etc/default/grub");
        assertEquals("2\n", sh.run("grep -c TIMEOUT /etc/default/grub"));
        assertEquals("bash: /proc/cmdline: Permission denied\n", sh.run("echo x > /proc/cmdline"));
        assertEquals("a\nb\n", sh.run("echo a && echo b"));
        assertEquals("bash: syntax error near unexpected token `newline'\n", sh.run("echo a |"));
    }

    @Test
    void globsExpandAgainstSysfs() {
        assertEquals("15\n", sh.run("echo /sys/kernel/iommu_groups/* | wc -w"));
        assertEquals("1\n", sh.run("ls /sys/kernel/iommu_groups/1?/devices | grep -c 01:00.3"));
    }

    @Test
    void unknownCommandsAndPathsFailOnOneLineInTheToolsStyle() {
        assertEquals("bash: foo: command not found\n", sh.run("foo"));
        assertEquals(127, sh.lastStatus());
        assertEquals("cat: /x: No such file or directory\n", sh.run("cat /x"));
        assertEquals("cat: /sys/bus/pci: Is a directory\n", sh.run("cat /sys/bus/pci"));
        assertEquals("ls: cannot access /nope: No such file or directory\n", sh.run("ls /nope"));
        assertEquals("lspci: -s: Invalid slot number\n", sh.run("lspci -s zz:zz.9"));
        assertEquals("grep: invalid option -- 'q'\nUsage: grep [OPTION]... PATTERN [FILE]...\n", sh.run("grep -q x /proc/cmdline"));
    }

    @Test
    void lspciSelectsBySlotAndPrintsDomainsAndNumbers() {
        assertEquals("0000:01:00.3 0200: 8086:1521 (rev 01)\n", sh.run("lspci -s 01:00.3 -Dn"));
        assertEquals(4, sh.run("lspci -s 01:00").lines().count());
        assertEquals("01:00.1 0200: 8086:1521 (rev 01)\n", sh.run("lspci -n -s .1 | grep 01:"));
    }

    @Test
    void extensionsRegisterCommandsThatSeeTheHost() {
        Shell s = Shell.create(host);
        s.register("qemu-system-x86_64", (argv, in, io) -> {
            io.out().println("would start a guest on " + io.host().machine().name() + " with " + (argv.size() - 1) + " args");
            return 0;
        });
        assertEquals("would start a guest on r630 with 2 args\n", s.run("qemu-system-x86_64 -m 1024 | cat"));
        assertTrue(s.commandNames().contains("qemu-system-x86_64"));
        assertThrows(IllegalArgumentException.class, () -> s.register("two words", (a, i, io) -> 0));
        s.register("boom", (argv, in, io) -> { throw new IllegalStateException("broken handler"); });
        assertEquals("boom: broken handler\n", s.run("boom"));
    }

    @Test
    void historyRecordsWhatRan() {
        Shell s = Shell.create(host);
        s.run("uname -r");
        s.run("lsmod | head -1");
        assertEquals(List.of("uname -r", "lsmod | head -1"), s.history());
        assertEquals("3.10.0-514.el7.x86_64\n", s.run("uname -r"));
    }
}

package dev.vtd.platform.iommu;

import dev.vtd.platform.bus.AtsPort;
import dev.vtd.platform.iommu.tables.PasidEntry;
import dev.vtd.platform.iommu.tables.SmContextEntry;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Isolation in scalable mode, as a property over random tables and requests (seeded): for PASID
 * entries of all four PGTT types (first-stage, second-stage, nested, pass-through), requests with
 * and without PASID move exactly the bytes the effective translation allows, each to the address
 * it maps to: a write stops at the first page that is unmapped or lacks write (or U/S) permission
 * at either stage, and every byte it moved is found at its translated address.
 */
class ScalableIsolationPropertyTest {
    static final int SID = SmFixture.SID;
    static final long DATA_BASE = 0x100_0000L, DATA_PAGES = 0x2000;    // 16..48 MiB: data pages
    static final long VA_BASE = 0x7000_0000_0000L;

    /** A first-stage mapping (R/W, U/S) or a second-stage one (W) of one 4 KiB page. */
    record Map4k(long out, boolean write, boolean user) {}

    /** The model of one PASID's translation. */
    static final class Space {
        final int pgtt;
        final Map<Long, Map4k> first = new HashMap<>();    // va page -> gpa/pa page
        final Map<Long, Map4k> second = new HashMap<>();   // gpa page -> pa page
        final List<Long> pages = new ArrayList<>();

        Space(int pgtt) {
            this.pgtt = pgtt;
        }

        /** The output address of addr for a user write/read, or -1 if not allowed. */
        long translate(long addr, boolean write) {
            long page = addr & ~0xFFFL, off = addr & 0xFFF;
            switch (pgtt) {
                case PasidEntry.PGTT_PASS_THROUGH:
                    return addr;
                case PasidEntry.PGTT_SECOND_STAGE: {
                    Map4k s = second.get(page);
                    return s == null || (write && !s.write()) ? -1 : s.out() | off;
                }
                default: {
                    Map4k f = first.get(page);
                    if (f == null || !f.user() || (write && !f.write())) return -1;
                    if (pgtt == PasidEntry.PGTT_FIRST_STAGE) return f.out() | off;
                    Map4k s = second.get(f.out());
                    return s == null || (write && !s.write()) ? -1 : s.out() | off;
                }
            }
        }
    }

    @Test
    void everyByteMovedLiesInAPageTheEffectiveTranslationMapsWithThatPermission() {
        Random rnd = new Random(0x5CA1AB1EL);
        int checkedBytes = 0, blocked = 0, requests = 0;
        for (int config = 0; config < 12; config++) {
            try (SmFixture s = new SmFixture()) {
                int ridPasid = rnd.nextInt(4);
                s.context(SID, SmContextEntry.of(s.pasidDir, 0, ridPasid).withPasidEnable(true));
                long tablePoolSl = s.slRoot();
                // Nested first-stage tables are reached at GPA = HPA: identity over the table pool.
                for (long a = 0; a < DATA_BASE; a += 0x20_0000) s.tables.secondStage().map(tablePoolSl, 4, a, a, 21, true, true);
                Space[] spaces = new Space[4];
                int[] types = {PasidEntry.PGTT_FIRST_STAGE, PasidEntry.PGTT_SECOND_STAGE, PasidEntry.PGTT_NESTED,
                        PasidEntry.PGTT_PASS_THROUGH};
                for (int p = 0; p < 4; p++) {
                    Space sp = spaces[p] = new Space(types[(p + config) % 4]);
                    long fl = s.flRoot();
                    long sl = sp.pgtt == PasidEntry.PGTT_NESTED ? tablePoolSl : s.slRoot();
                    int n = 8 + rnd.nextInt(24);
                    for (int i = 0; i < n; i++) {
                        long page = VA_BASE + (long) rnd.nextInt(64) * 4096;
                        long pa = DATA_BASE + (long) rnd.nextInt((int) DATA_PAGES) * 4096;
                        boolean w = rnd.nextInt(4) != 0, u = rnd.nextInt(6) != 0;
                        switch (sp.pgtt) {
                            case PasidEntry.PGTT_FIRST_STAGE -> {
                                s.tables.mapFirstStage(fl, 4, page, pa, 12, w, u, false);
                                sp.first.put(page, new Map4k(pa, w, u));
                            }
                            case PasidEntry.PGTT_SECOND_STAGE -> {
                                long gpa = page & 0xFFFF_FFFF_FFFFL;
                                s.tables.secondStage().map(sl, 4, gpa, pa, 12, true, w);
                                sp.second.put(gpa, new Map4k(pa, w, true));
                            }
                            case PasidEntry.PGTT_NESTED -> {
                                long gpa = 0x4000_0000L + (long) rnd.nextInt(256) * 4096;
                                s.tables.mapFirstStage(fl, 4, page, gpa, 12, w, u, false);
                                sp.first.put(page, new Map4k(gpa, w, u));
                                if (rnd.nextInt(5) != 0) {
                                    boolean sw = rnd.nextInt(4) != 0;
                                    s.tables.secondStage().map(sl, 4, gpa, pa, 12, true, sw);
                                    sp.second.put(gpa, new Map4k(pa, sw, true));
                                }
                            }
                            default -> { }
                        }
                        sp.pages.add(page);
                    }
                    PasidEntry pe = switch (sp.pgtt) {
                        case PasidEntry.PGTT_FIRST_STAGE -> PasidEntry.firstStage(10 + p, fl, false);
                        case PasidEntry.PGTT_SECOND_STAGE -> PasidEntry.secondStage(10 + p, sl, 2);
                        case PasidEntry.PGTT_NESTED -> PasidEntry.nested(10 + p, fl, false, sl, 2);
                        default -> PasidEntry.passThrough(10 + p);
                    };
                    s.pasid(p, pe.withPwsnp(true));
                }
                s.enable();
                for (int r = 0; r < 150; r++) {
                    boolean withPasid = rnd.nextBoolean();
                    int pasid = withPasid ? rnd.nextInt(4) : AtsPort.NO_PASID;
                    Space sp = spaces[withPasid ? pasid : ridPasid];
                    long addr;
                    if (sp.pgtt == PasidEntry.PGTT_PASS_THROUGH) {
                        addr = DATA_BASE + (long) rnd.nextInt((int) DATA_PAGES - 4) * 4096 + rnd.nextInt(4096);
                    } else {
                        long page = sp.pages.get(rnd.nextInt(sp.pages.size()));
                        if (sp.pgtt == PasidEntry.PGTT_SECOND_STAGE) page &= 0xFFFF_FFFF_FFFFL;
                        addr = page + rnd.nextInt(4096) + (rnd.nextInt(8) == 0 ? 0x1000L * rnd.nextInt(3) : 0);
                    }
                    int len = 1 + rnd.nextInt(3 * 4096);
                    boolean write = rnd.nextInt(3) != 0;
                    // Prediction from the model: bytes up to the first page not allowed.
                    long expect = 0;
                    while (expect < len && sp.translate(addr + expect, write) >= 0) {
                        expect = Math.min(len, ((addr + expect) & ~0xFFFL) + 4096 - addr);
                    }
                    byte[] buf = new byte[len];
                    rnd.nextBytes(buf);
                    long done = write
                            ? s.unit.write(SID, pasid, false, addr, MemorySegment.ofArray(buf), 0, len)
                            : s.unit.read(SID, pasid, false, addr, MemorySegment.ofArray(buf), 0, len);
                    requests++;
                    long fAddr = addr;
                    assertEquals(expect, done, () -> String.format("PGTT %d %s 0x%x", sp.pgtt, write ? "write" : "read", fAddr));
                    if (done < len) blocked++;
                    for (long i = 0; i < done; i += 97) {
                        long pa = sp.translate(addr + i, write);
                        assertEquals(buf[(int) i], s.mem.read8(pa), "byte at its translated address");
                        checkedBytes++;
                    }
                }
            }
        }
        assertTrue(blocked > 50 && blocked < requests - 50, "both outcomes exercised: " + blocked + "/" + requests);
        assertTrue(checkedBytes > 10_000, "checked " + checkedBytes);
    }
}

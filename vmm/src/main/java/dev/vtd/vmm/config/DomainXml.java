package dev.vtd.vmm.config;

import dev.vtd.vmm.VmmException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;
import org.xml.sax.SAXParseException;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

/**
 * libvirt domain XML, the parts device assignment needs: name, uuid, memory (with unit), vcpu, and each PCI
 * {@code <hostdev mode='subsystem' type='pci' managed='yes'>} (or {@code <interface type='hostdev'>}) with its
 * {@code <source><address domain= bus= slot= function=/></source>}, optional {@code <driver name=/>} and guest
 * {@code <address type='pci' .../>}. Parsed with the JDK's DOM parser, DTDs and external entities refused.
 * Errors name the element and attribute.
 */
public record DomainXml(String name, String uuid, long memoryKiB, int vcpus, List<Hostdev> hostdevs) {
    /** One assigned PCI device. guestSlot/guestFunction are -1 when libvirt would pick. */
    public record Hostdev(boolean managed, String driver, int domain, int bus, int slot, int function, int guestSlot,
                          int guestFunction, boolean isInterface) {
        public String hostAddress() {
            return String.format("%04x:%02x:%02x.%d", domain, bus, slot, function);
        }

        /** libvirt's node device name, e.g. pci_0000_01_00_3. */
        public String nodeDevice() {
            return String.format("pci_%04x_%02x_%02x_%d", domain, bus, slot, function);
        }

        public Hostdev withGuestAddress(int s, int f) {
            return new Hostdev(managed, driver, domain, bus, slot, function, s, f, isInterface);
        }
    }

    static DocumentBuilder builder() {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b;
        } catch (Exception e) {
            throw new IllegalStateException("XML parser setup", e);
        }
    }

    static Element parseRoot(String xml, String where) {
        try {
            Document d = builder().parse(new InputSource(new StringReader(xml)));
            return d.getDocumentElement();
        } catch (SAXParseException e) {
            throw new VmmException("error: " + where + ":" + e.getLineNumber() + ": XML error: " + e.getMessage());
        } catch (Exception e) {
            throw new VmmException("error: " + where + ": XML error: " + e.getMessage());
        }
    }

    public static DomainXml parse(String xml, String where) {
        Element root = parseRoot(xml, where);
        if (!root.getTagName().equals("domain")) {
            throw new VmmException("error: " + where + ": XML error: unexpected root element <" + root.getTagName()
                    + ">, expecting <domain>");
        }
        if (root.getAttribute("type").isEmpty()) throw err(where, "domain", "type", "missing");
        String name = text(child(root, "name"));
        if (name == null || name.isBlank()) {
            throw new VmmException("error: " + where + ": XML error: missing domain name information in <name>");
        }
        Element mem = child(root, "memory");
        long kib = 0;
        if (mem != null) {
            String unit = mem.getAttribute("unit");
            long mult = switch (unit.isEmpty() ? "KiB" : unit) {
                case "b", "bytes" -> 1;
                case "KiB", "k", "K" -> 1024;
                case "MiB", "M" -> 1L << 20;
                case "GiB", "G" -> 1L << 30;
                default -> throw err(where, "memory", "unit", "has unsupported value '" + unit + "'");
            };
            try {
                kib = Long.parseLong(text(mem).trim()) * mult / 1024;
            } catch (NumberFormatException e) {
                throw new VmmException("error: " + where + ": XML error: invalid value '" + text(mem) + "' in <memory>");
            }
        }
        int vcpus = 1;
        Element vc = child(root, "vcpu");
        if (vc != null) {
            try {
                vcpus = Integer.parseInt(text(vc).trim());
            } catch (NumberFormatException e) {
                throw new VmmException("error: " + where + ": XML error: invalid value '" + text(vc) + "' in <vcpu>");
            }
        }
        List<Hostdev> hds = new ArrayList<>();
        Element devices = child(root, "devices");
        if (devices != null) {
            for (Node n = devices.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (!(n instanceof Element e)) continue;
                if (e.getTagName().equals("hostdev")) hds.add(hostdev(e, where, false));
                else if (e.getTagName().equals("interface") && e.getAttribute("type").equals("hostdev")) {
                    hds.add(hostdev(e, where, true));
                }
            }
        }
        return new DomainXml(name.trim(), text(child(root, "uuid")), kib, vcpus, List.copyOf(hds));
    }

    /** A {@code <hostdev>} or {@code <interface type='hostdev'>} element (also for attach-device files). */
    public static Hostdev hostdev(Element e, String where, boolean isInterface) {
        String tag = e.getTagName();
        if (!isInterface) {
            String mode = e.getAttribute("mode");
            if (!mode.isEmpty() && !mode.equals("subsystem")) throw err(where, tag, "mode", "has unsupported value '" + mode + "'");
            String type = e.getAttribute("type");
            if (type.isEmpty()) throw err(where, tag, "type", "missing");
            if (!type.equals("pci")) throw err(where, tag, "type", "has unsupported value '" + type + "' (only 'pci')");
        }
        String m = e.getAttribute("managed");
        if (!m.isEmpty() && !m.equals("yes") && !m.equals("no")) throw err(where, tag, "managed", "has invalid value '" + m + "'");
        boolean managed = m.equals("yes");
        Element drv = child(e, "driver");
        String driver = drv == null || drv.getAttribute("name").isEmpty() ? "vfio" : drv.getAttribute("name");
        if (!driver.equals("vfio") && !driver.equals("kvm")) throw err(where, "driver", "name", "has unsupported value '" + driver + "'");
        Element src = child(e, "source");
        if (src == null) throw new VmmException("error: " + where + ": XML error: missing <source> in <" + tag + ">");
        Element addr = child(src, "address");
        if (addr == null) throw new VmmException("error: " + where + ": XML error: missing <address> in <" + tag + "><source>");
        int dom = number(addr, "domain", 0xFFFF, where, false);
        int bus = number(addr, "bus", 0xFF, where, true);
        int slot = number(addr, "slot", 0x1F, where, true);
        int fn = number(addr, "function", 7, where, true);
        int gs = -1, gf = -1;
        Element ga = child(e, "address");
        if (ga != null) {
            String t = ga.getAttribute("type");
            if (!t.equals("pci")) throw err(where, "address", "type", "has unsupported value '" + t + "' for a guest PCI address");
            gs = number(ga, "slot", 0x1F, where, true);
            gf = ga.getAttribute("function").isEmpty() ? 0 : number(ga, "function", 7, where, true);
        }
        return new Hostdev(managed, driver, dom, bus, slot, fn, gs, gf, isInterface);
    }

    private static int number(Element e, String attr, int max, String where, boolean required) {
        String v = e.getAttribute(attr).trim();
        if (v.isEmpty()) {
            if (required) throw err(where, e.getTagName(), attr, "missing");
            return 0;
        }
        try {
            int n = v.startsWith("0x") || v.startsWith("0X") ? Integer.parseInt(v.substring(2), 16) : Integer.parseInt(v);
            if (n < 0 || n > max) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException ex) {
            throw err(where, e.getTagName(), attr, "has invalid value '" + v + "' (0 to " + String.format("0x%x", max) + ")");
        }
    }

    private static VmmException err(String where, String element, String attr, String what) {
        return new VmmException("error: " + where + ": XML error: <" + element + "> attribute '" + attr + "' " + what);
    }

    static Element child(Element e, String tag) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c && c.getTagName().equals(tag)) return c;
        }
        return null;
    }

    private static String text(Element e) {
        return e == null ? null : e.getTextContent();
    }

    /** dumpxml: the definition as libvirt prints it (hostdevs with the guest addresses in use). */
    public String toXml(String state, int id) {
        StringBuilder sb = new StringBuilder();
        sb.append("<domain type='kvm'").append(id > 0 ? " id='" + id + "'" : "").append(">\n");
        sb.append("  <name>").append(escape(name)).append("</name>\n");
        if (uuid != null) sb.append("  <uuid>").append(escape(uuid.trim())).append("</uuid>\n");
        sb.append("  <memory unit='KiB'>").append(memoryKiB).append("</memory>\n");
        sb.append("  <vcpu placement='static'>").append(vcpus).append("</vcpu>\n");
        sb.append("  <devices>\n");
        for (Hostdev h : hostdevs) {
            sb.append("    <hostdev mode='subsystem' type='pci' managed='").append(h.managed() ? "yes" : "no").append("'>\n");
            sb.append("      <driver name='").append(h.driver()).append("'/>\n");
            sb.append(String.format("      <source>%n        <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>%n      </source>%n",
                    h.domain(), h.bus(), h.slot(), h.function()));
            if (h.guestSlot() >= 0) {
                sb.append(String.format("      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' function='0x%x'/>%n",
                        h.guestSlot(), Math.max(0, h.guestFunction())));
            }
            sb.append("    </hostdev>\n");
        }
        sb.append("  </devices>\n</domain>");
        return sb.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;");
    }

    public DomainXml withHostdevs(List<Hostdev> h) {
        return new DomainXml(name, uuid, memoryKiB, vcpus, List.copyOf(h));
    }
}

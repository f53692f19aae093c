package dev.vtd.kernel.shell;

import java.util.ArrayList;
import java.util.List;

/** Splits a command line into words and operators ({@code | > >> ; &&}) with bash's quoting rules. */
final class ShellParser {
    private ShellParser() {}

    /** A word (with whether it may be glob-expanded) or an operator. */
    record Token(String text, boolean op, boolean globbable) {
        boolean isOp(String o) {
            return op && text.equals(o);
        }
    }

    static final class SyntaxError extends Exception {
        SyntaxError(String m) {
            super(m, null, false, false);
        }
    }

    static List<Token> tokenize(String line) throws SyntaxError {
        List<Token> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false, glob = false;
        int i = 0, n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (c == '\'' || c == '"') {
                int end = line.indexOf(c, i + 1);
                if (end < 0) throw new SyntaxError("unexpected EOF while looking for matching `" + c + "'");
                String body = line.substring(i + 1, end);
                if (c == '"') body = body.replace("\\$", "$");
                word.append(body);
                inWord = true;
                i = end + 1;
            } else if (c == '\\' && i + 1 < n) {
                word.append(line.charAt(i + 1));
                inWord = true;
                i += 2;
            } else if (Character.isWhitespace(c)) {
                if (inWord) out.add(new Token(word.toString(), false, glob));
                word.setLength(0);
                inWord = glob = false;
                i++;
            } else if (c == '#' && !inWord) {
                break;
            } else if (c == '|' || c == '>' || c == ';' || c == '&') {
                if (inWord) out.add(new Token(word.toString(), false, glob));
                word.setLength(0);
                inWord = glob = false;
                String op;
                if (c == '>' && i + 1 < n && line.charAt(i + 1) == '>') op = ">>";
                else if (c == '&' && i + 1 < n && line.charAt(i + 1) == '&') op = "&&";
                else if (c == '|' && i + 1 < n && line.charAt(i + 1) == '|') throw new SyntaxError("`||' is not supported");
                else if (c == '&') throw new SyntaxError("background jobs (`&') are not supported");
                else op = String.valueOf(c);
                out.add(new Token(op, true, false));
                i += op.length();
            } else {
                if (c == '*' || c == '?') glob = true;
                word.append(c);
                inWord = true;
                i++;
            }
        }
        if (inWord) out.add(new Token(word.toString(), false, glob));
        if (!out.isEmpty() && out.getLast().op() && !out.getLast().isOp(";")) {
            throw new SyntaxError("syntax error near unexpected token `newline'");
        }
        if (!out.isEmpty() && out.getFirst().op()) {
            throw new SyntaxError("syntax error near unexpected token `" + out.getFirst().text() + "'");
        }
        return out;
    }
}

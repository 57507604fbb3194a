package org.rmqts.interop;

import java.util.Map;

/** Tiny hand-written JSON object builder (one line, insertion order kept). */
final class Json {
    private final StringBuilder sb = new StringBuilder(256).append('{');
    private boolean first = true;

    static Json event(String name) {
        return new Json().str("event", name);
    }

    private StringBuilder key(String k) {
        if (!first) {
            sb.append(',');
        }
        first = false;
        quote(sb, k);
        return sb.append(':');
    }

    Json str(String k, String v) {
        key(k);
        if (v == null) {
            sb.append("null");
        } else {
            quote(sb, v);
        }
        return this;
    }

    Json num(String k, long v) {
        key(k).append(v);
        return this;
    }

    /** Number or null. */
    Json num(String k, Long v) {
        key(k).append(v == null ? "null" : v.toString());
        return this;
    }

    Json bool(String k, boolean v) {
        key(k).append(v);
        return this;
    }

    Json obj(String k, Map<String, String> m) {
        key(k).append('{');
        boolean f = true;
        for (Map.Entry<String, String> e : m.entrySet()) {
            if (!f) {
                sb.append(',');
            }
            f = false;
            quote(sb, e.getKey());
            sb.append(':');
            if (e.getValue() == null) {
                sb.append("null");
            } else {
                quote(sb, e.getValue());
            }
        }
        sb.append('}');
        return this;
    }

    @Override
    public String toString() {
        return sb.toString() + '}';
    }

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                default:
                    // control chars, and the two line separators some JSON-lines readers split on
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}

package org.rmqts.interop;

/** What every check class shares: JSON lines on stdout, string quoting, --name value arguments. */
final class CheckSupport {
    private CheckSupport() {
    }

    static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static String q(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static String arg(String[] args, String name, String fallback) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals("--" + name)) {
                return args[i + 1];
            }
        }
        if (fallback == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return fallback;
    }
}

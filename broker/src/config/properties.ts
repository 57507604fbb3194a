// java.util.Properties text format: `key=value`, `key = value`, `key:value` or `key value`;
// `#`/`!` comments; backslash line continuation and escapes.

export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the logical line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    let key = '';
    for (; k < line.length; k++) {
      const c = line[k]!;
      if (c === '\\' && k + 1 < line.length) {
        key += unescapeChar(line[++k]!);
        continue;
      }
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break;
      key += c;
    }
    let rest = line.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    let value = '';
    for (let j = 0; j < rest.length; j++) {
      const c = rest[j]!;
      if (c === '\\' && j + 1 < rest.length) {
        const n = rest[++j]!;
        if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(rest.slice(j + 1, j + 5))) {
          value += String.fromCharCode(parseInt(rest.slice(j + 1, j + 5), 16));
          j += 4;
        } else value += unescapeChar(n);
        continue;
      }
      value += c;
    }
    out.set(key, value);
  }
  return out;
}

function unescapeChar(c: string): string {
  switch (c) {
    case 't':
      return '\t';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 'f':
      return '\f';
    default:
      return c;
  }
}

/** Writes properties in the format RocketMQ's GET_BROKER_CONFIG returns (key=value lines). */
export function formatProperties(entries: Iterable<[string, string | number | boolean]>): string {
  let out = '';
  for (const [k, v] of entries) out += `${k}=${String(v)}\n`;
  return out;
}

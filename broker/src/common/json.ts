// JSON as the Java side writes it. fastjson emits maps with non-string keys as bare keys
// ({0:"addr"}); we accept that on input, and can produce it where Java clients expect it.
import { ProtocolError } from './errors.js';

/**
 * Parses JSON that may contain bare numeric object keys (`{0:12,1:7}`), as written by fastjson
 * for Map<Integer,...> / Map<Long,...>. Quoting is done outside string literals only.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // fall through to the slower path that quotes bare keys
  }
  let out = '';
  let inString = false;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      expectKey = false;
      out += c;
      continue;
    }
    if (c === '{' || c === ',') {
      expectKey = true;
      out += c;
      continue;
    }
    if (expectKey && (c === '-' || (c >= '0' && c <= '9'))) {
      let j = i;
      while (j < text.length && /[-0-9.]/.test(text[j]!)) j++;
      let k = j;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      if (text[k] === ':') {
        out += `"${text.slice(i, j)}"`;
        i = j - 1;
        expectKey = false;
        continue;
      }
    }
    if (!/\s/.test(c)) expectKey = false;
    out += c;
  }
  try {
    return JSON.parse(out);
  } catch (err) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function parseJsonBody(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', 'request body is empty, JSON expected');
  }
  return parseLenientJson(body.toString('utf8'));
}

export function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** JSON with the keys of `value` written bare (fastjson style for numeric-keyed maps). */
export function bareKeyMap(value: ReadonlyMap<number, string | number>): string {
  const parts: string[] = [];
  for (const [k, v] of value) parts.push(`${k}:${JSON.stringify(v)}`);
  return `{${parts.join(',')}}`;
}

// A JSON reader for what fastjson writes: maps with non-string keys appear as bare keys
// ({0:"a"}) or as object keys ({{"brokerName":"b","queueId":0,"topic":"T"}:{...}}), e.g. the
// offsetTable of ConsumeStats, TopicStatsTable and ResetOffsetBody. Pure, no I/O.
//
// A non-string key is returned as the compact JSON text of the key's value, so callers rebuild
// it with JSON.parse (a MessageQueue key becomes '{"brokerName":"b","queueId":0,"topic":"T"}').
import { ProtocolError } from '../common/errors.js';

/** Nesting deeper than this is refused (a body is data from the network). */
const MAX_DEPTH = 64;

class Reader {
  readonly #s: string;
  #p = 0;

  constructor(text: string) {
    this.#s = text;
  }

  parseDocument(): unknown {
    const v = this.#value(0);
    this.#ws();
    if (this.#p !== this.#s.length) this.#fail('trailing characters');
    return v;
  }

  #fail(why: string): never {
    throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', `body is not valid (fast)JSON at ${this.#p}: ${why}`);
  }

  #ws(): void {
    while (this.#p < this.#s.length && /\s/.test(this.#s[this.#p]!)) this.#p++;
  }

  #value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.#fail('nested too deeply');
    this.#ws();
    const c = this.#s[this.#p];
    if (c === '{') return this.#object(depth);
    if (c === '[') return this.#array(depth);
    if (c === '"') return this.#string();
    return this.#scalar();
  }

  #object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#p++; // {
    this.#ws();
    if (this.#s[this.#p] === '}') {
      this.#p++;
      return out;
    }
    for (;;) {
      this.#ws();
      const key = this.#s[this.#p] === '"' ? this.#string() : JSON.stringify(this.#value(depth + 1));
      this.#ws();
      if (this.#s[this.#p] !== ':') this.#fail('":" expected');
      this.#p++;
      out[key] = this.#value(depth + 1);
      this.#ws();
      const c = this.#s[this.#p++];
      if (c === '}') return out;
      if (c !== ',') this.#fail('"," or "}" expected');
    }
  }

  #array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.#p++; // [
    this.#ws();
    if (this.#s[this.#p] === ']') {
      this.#p++;
      return out;
    }
    for (;;) {
      out.push(this.#value(depth + 1));
      this.#ws();
      const c = this.#s[this.#p++];
      if (c === ']') return out;
      if (c !== ',') this.#fail('"," or "]" expected');
    }
  }

  #string(): string {
    const start = this.#p;
    this.#p++; // "
    while (this.#p < this.#s.length) {
      const c = this.#s[this.#p]!;
      if (c === '\\') this.#p += 2;
      else if (c === '"') {
        this.#p++;
        try {
          return JSON.parse(this.#s.slice(start, this.#p)) as string;
        } catch {
          this.#fail('bad string escape');
        }
      } else this.#p++;
    }
    return this.#fail('unterminated string');
  }

  #scalar(): unknown {
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(this.#s.slice(this.#p, this.#p + 40));
    if (!m) this.#fail('value expected');
    this.#p += m[0].length;
    return JSON.parse(m[0]) as unknown;
  }
}

export function parseFastJson(text: string): unknown {
  return new Reader(text).parseDocument();
}

export function parseFastJsonBody(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) throw new ProtocolError('RMQ_PROTOCOL_BAD_MESSAGE', 'response body is empty, JSON expected');
  return parseFastJson(body.toString('utf8'));
}

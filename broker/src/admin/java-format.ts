// Just enough of java.util.Formatter (printf) and of the Java toString()s mqadmin prints, so our
// admin CLI lines up column for column with the official tool. Pure.

type Arg = string | number | boolean | null | undefined;

/**
 * printf with Java's conversions used by mqadmin: %s %d %f (flags "-", "0"; width; precision),
 * %n and %%. A null/undefined argument prints "null" as in Java.
 */
export function javaFormat(format: string, ...args: readonly Arg[]): string {
  let next = 0;
  return format.replace(/%(-?)(0?)(\d*)(?:\.(\d+))?([sdfn%])/g, (_m, minus: string, zero: string, width: string, precision: string | undefined, conv: string) => {
    if (conv === 'n') return '\n';
    if (conv === '%') return '%';
    const arg = args[next++];
    let text: string;
    if (arg === null || arg === undefined) text = 'null';
    else if (conv === 'd') text = typeof arg === 'number' ? Math.trunc(arg).toString() : String(arg);
    else if (conv === 'f') text = Number(arg).toFixed(precision === undefined ? 6 : Number(precision));
    else {
      text = String(arg);
      if (precision !== undefined) text = text.slice(0, Number(precision));
    }
    const w = width === '' ? 0 : Number(width);
    if (text.length >= w) return text;
    if (minus) return text.padEnd(w, ' ');
    if (zero && conv !== 's') {
      const neg = text.startsWith('-');
      return (neg ? '-' : '') + text.slice(neg ? 1 : 0).padStart(w - (neg ? 1 : 0), '0');
    }
    return text.padStart(w, ' ');
  });
}

/** UtilAll.frontStringAtLeast: at most `size` leading characters. */
export function frontStringAtLeast(s: string, size: number): string {
  return s.length > size ? s.slice(0, size) : s;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** UtilAll.timeMillisToHumanString2: local "yyyy-MM-dd HH:mm:ss,SSS". */
export function humanTime2(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

/** UtilAll.formatDate(date, "yyyy-MM-dd HH:mm:ss"), local time. */
export function formatDateTime(ms: number): string {
  return humanTime2(ms).slice(0, 19);
}

/**
 * Parses UtilAll.YYYY_MM_DD_HH_MM_SS_SSS ("yyyy-MM-dd#HH:mm:ss:SSS", local time), as
 * resetOffsetByTime -s accepts; undefined when it does not match.
 */
export function parseJavaTimestamp(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})#(\d{2}):(\d{2}):(\d{2}):(\d{3})$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, se, ms).getTime();
}

/** PermName.perm2String: "RW-", "R--", ... */
export function permToString(perm: number): string {
  return `${perm & 4 ? 'R' : '-'}${perm & 2 ? 'W' : '-'}${perm & 1 ? 'X' : '-'}`;
}

/** String.hashCode() */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

function tableSizeFor(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}

/**
 * Keys in java.util.HashMap iteration order: by bucket (spread hash & (capacity - 1)), then in
 * insertion order. `initialCapacity` as passed to the HashMap constructor (default 16); the table
 * doubles whenever the size passes 3/4 of it, as Java's does.
 */
export function javaHashMapOrder<K extends string | number>(keys: readonly K[], initialCapacity = 16): K[] {
  let capacity = tableSizeFor(Math.max(1, initialCapacity));
  while (keys.length > capacity * 0.75) capacity *= 2;
  const hashOf = (k: K): number => {
    // Long.hashCode for numbers (brokerIds), String.hashCode for strings
    const h = typeof k === 'number' ? (k | 0) ^ Math.floor(k / 2 ** 32) : javaHash(k);
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
  return keys.map((k, i) => ({ k, i, b: hashOf(k) })).sort((a, b) => a.b - b.b || a.i - b.i).map((e) => e.k);
}

/** AbstractMap.toString: "{k1=v1, k2=v2}" in HashMap order. */
export function javaMapToString(entries: ReadonlyArray<readonly [string | number, string | number]>, initialCapacity = 16): string {
  const byKey = new Map(entries);
  return `{${javaHashMapOrder([...byKey.keys()], initialCapacity).map((k) => `${k}=${byKey.get(k)}`).join(', ')}}`;
}

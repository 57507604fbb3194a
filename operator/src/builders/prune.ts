/**
 * A deep copy without `undefined` values, so optional fields the CR leaves out are absent from
 * the object (what the API server, server-side apply and whole-object tests compare).
 */
export function prune<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => prune(v)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = prune(v);
    return out as T;
  }
  return value;
}

/** RocketMQ DataVersion: bumped on every change of a config table; peers compare it. */
export interface DataVersion {
  counter: number;
  stateVersion: number;
  timestamp: number;
}

export function newDataVersion(): DataVersion {
  return { counter: 0, stateVersion: 0, timestamp: Date.now() };
}

export function nextDataVersion(v: DataVersion): DataVersion {
  return { counter: v.counter + 1, stateVersion: v.stateVersion, timestamp: Date.now() };
}

export function sameDataVersion(a: DataVersion | undefined, b: DataVersion | undefined): boolean {
  return !!a && !!b && a.counter === b.counter && a.timestamp === b.timestamp && a.stateVersion === b.stateVersion;
}

export function toDataVersion(v: unknown): DataVersion | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  return { counter: Number(o.counter ?? 0), stateVersion: Number(o.stateVersion ?? 0), timestamp: Number(o.timestamp ?? 0) };
}

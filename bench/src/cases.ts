// The benchmark matrix (issue 7). Cases are grouped by the broker set-up they need, so each
// group starts one fresh cluster per implementation and run; the cases of a group then run one
// after the other on it, each on its own topic.
import type { Topology } from './clusters.js';

export type GroupId = 'async' | 'syncflush' | 'ms-sync' | 'ms-async';
export type CaseKind = 'throughput' | 'pubsub' | 'latency' | 'e2e' | 'backlog';

export interface CaseDef {
  id: string;
  title: string;
  group: GroupId;
  kind: CaseKind;
  /** Message body size, bytes. */
  size: number;
  /** Producer threads (official Producer -w). */
  threads?: number;
}

export const GROUPS: Record<GroupId, { title: string; topo: Topology }> = {
  async: { title: 'single master, ASYNC_FLUSH', topo: { role: 'ASYNC_MASTER', flush: 'ASYNC_FLUSH', slave: false } },
  syncflush: { title: 'single master, SYNC_FLUSH', topo: { role: 'ASYNC_MASTER', flush: 'SYNC_FLUSH', slave: false } },
  'ms-sync': { title: 'SYNC_MASTER + SLAVE, ASYNC_FLUSH', topo: { role: 'SYNC_MASTER', flush: 'ASYNC_FLUSH', slave: true } },
  'ms-async': { title: 'ASYNC_MASTER + SLAVE, ASYNC_FLUSH', topo: { role: 'ASYNC_MASTER', flush: 'ASYNC_FLUSH', slave: true } },
};

export const CASES: readonly CaseDef[] = [
  { id: 'async-1k-w16', title: '1 KiB, async flush, 16 threads', group: 'async', kind: 'throughput', size: 1024, threads: 16 },
  { id: 'async-1k-w1', title: '1 KiB, async flush, 1 thread', group: 'async', kind: 'throughput', size: 1024, threads: 1 },
  { id: 'async-128b-w16', title: '128 B, async flush, 16 threads', group: 'async', kind: 'throughput', size: 128, threads: 16 },
  { id: 'async-16k-w16', title: '16 KiB, async flush, 16 threads', group: 'async', kind: 'throughput', size: 16 * 1024, threads: 16 },
  { id: 'pubsub-1k-w16', title: '1 KiB produce + consume (official Consumer), 16 threads', group: 'async', kind: 'pubsub', size: 1024, threads: 16 },
  { id: 'latency-1k', title: '1 KiB send latency at a fixed rate (half of Java peak)', group: 'async', kind: 'latency', size: 1024 },
  { id: 'e2e-1k', title: '1 KiB born-to-consume latency at a fixed rate', group: 'async', kind: 'e2e', size: 1024 },
  { id: 'backlog-1k', title: '1 KiB consumer catching up from a backlog', group: 'async', kind: 'backlog', size: 1024 },
  { id: 'syncflush-1k-w16', title: '1 KiB, SYNC_FLUSH, 16 threads', group: 'syncflush', kind: 'throughput', size: 1024, threads: 16 },
  { id: 'ms-sync-1k-w16', title: '1 KiB, SYNC_MASTER + slave, 16 threads', group: 'ms-sync', kind: 'throughput', size: 1024, threads: 16 },
  { id: 'ms-async-1k-w16', title: '1 KiB, ASYNC_MASTER + slave, 16 threads', group: 'ms-async', kind: 'throughput', size: 1024, threads: 16 },
];

/** Case ids selected by a comma list of ids or group names; all when the list is empty. */
export function selectCases(filter: string | undefined): CaseDef[] {
  if (!filter) return [...CASES];
  const wanted = new Set(filter.split(',').map((s) => s.trim()).filter(Boolean));
  const out = CASES.filter((c) => wanted.has(c.id) || wanted.has(c.group));
  const known = new Set<string>([...CASES.map((c) => c.id), ...Object.keys(GROUPS)]);
  const unknown = [...wanted].filter((w) => !known.has(w));
  if (unknown.length > 0) throw new Error(`unknown case or group: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return out;
}

export function topicOf(c: CaseDef): string {
  return `Bench_${c.id.replace(/[^A-Za-z0-9]/g, '_')}`;
}

// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by file.
//   npx tsx bench/src/profile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface SelfTime {
  name: string;
  hits: number;
  share: number;
}

/** Self samples per function ("name file:line") and per file, largest first; shares exclude (idle). */
export function selfTimes(profile: { nodes: ProfileNode[] }): { functions: SelfTime[]; files: SelfTime[] } {
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue;
    total += hits;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
    const name = `${n.callFrame.functionName || '(anonymous)'} ${url || '(native)'}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + hits);
    const f = url || n.callFrame.functionName;
    file.set(f, (file.get(f) ?? 0) + hits);
  }
  const sorted = (m: Map<string, number>): SelfTime[] => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, hits]) => ({ name, hits, share: total ? hits / total : 0 }));
  return { functions: sorted(fn), files: sorted(file) };
}

if (process.argv[1]?.endsWith('profile-top.ts') && process.argv[2]) {
  const n = Number(process.argv[3] ?? 25);
  const t = selfTimes(JSON.parse(readFileSync(process.argv[2], 'utf8')) as { nodes: ProfileNode[] });
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`;
  process.stdout.write('self time by function:\n');
  for (const f of t.functions.slice(0, n)) process.stdout.write(`${pct(f.share)}  ${f.name}\n`);
  process.stdout.write('\nself time by file:\n');
  for (const f of t.files.slice(0, n)) process.stdout.write(`${pct(f.share)}  ${f.name}\n`);
}

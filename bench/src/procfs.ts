// Reading the broker processes' CPU time, memory and start time from /proc (Linux), plus the
// machine facts the report states. Parsers are pure; the read* helpers touch the file system.
import { readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** Process start, clock ticks after boot. */
  startTicks: number;
}

/** Parses /proc/<pid>/stat. comm may contain spaces and parentheses: fields follow the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('unexpected /proc/<pid>/stat format');
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // after ')': field 3 (state) is index 0, so field n is index n - 3
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/<pid>/stat field ${n} missing`);
    return v;
  };
  return { pid, comm, cpuTicks: field(14) + field(15), startTicks: field(22) };
}

export interface ProcMem {
  /** Current resident set, bytes. */
  rssBytes: number;
  /** Peak resident set (VmHWM), bytes. */
  hwmBytes: number;
}

/** Parses VmRSS and VmHWM (kB) of /proc/<pid>/status. */
export function parseProcStatus(text: string): ProcMem {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/<pid>/status has no ${key}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

/** The machine's CPU time split (/proc/stat "cpu" line), clock ticks summed over all CPUs. */
export interface CpuTimes {
  /** user + nice + system + irq + softirq */
  busy: number;
  /** idle + iowait */
  idle: number;
  /** Time the hypervisor gave our virtual CPUs to someone else. */
  steal: number;
}

/** Parses the aggregate "cpu" line of /proc/stat (guest time is already inside user). */
export function parseCpuTimes(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const v = line?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  if (v.length < 8 || !v.slice(0, 8).every((x) => Number.isFinite(x))) throw new Error('unexpected /proc/stat format');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v as [number, number, number, number, number, number, number, number];
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

/** Share of CPU time stolen by the hypervisor between two readings (0..1), undefined if no time passed. */
export function stealShare(a: CpuTimes, b: CpuTimes): number | undefined {
  const total = b.busy - a.busy + (b.idle - a.idle) + (b.steal - a.steal);
  return total > 0 ? (b.steal - a.steal) / total : undefined;
}

export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
}

export function parseLoadAvg(text: string): LoadAvg {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((x) => x !== undefined && Number.isFinite(x))) throw new Error('unexpected /proc/loadavg format');
  return { load1: a!, load5: b!, load15: c! };
}

/** Seconds since boot from /proc/uptime. */
export function parseUptime(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new Error('unexpected /proc/uptime format');
  return v;
}

export interface CpuInfo {
  model: string;
  logicalCpus: number;
}

export function parseCpuInfo(text: string): CpuInfo {
  const models = [...text.matchAll(/^model name\s*:\s*(.+)$/gm)].map((m) => m[1]!.trim());
  const procs = [...text.matchAll(/^processor\s*:/gm)].length;
  return { model: models[0] ?? 'unknown', logicalCpus: procs };
}

/** MemTotal from /proc/meminfo, bytes. */
export function parseMemTotal(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error('/proc/meminfo has no MemTotal');
  return Number(m[1]) * 1024;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readProcMem(pid: number): ProcMem | undefined {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readLoadAvg(): LoadAvg {
  return parseLoadAvg(readFileSync('/proc/loadavg', 'utf8'));
}

export function readUptime(): number {
  return parseUptime(readFileSync('/proc/uptime', 'utf8'));
}

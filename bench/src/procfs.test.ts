import { describe, expect, it } from 'vitest';
import { parseCpuInfo, parseCpuTimes, parseLoadAvg, parseMemTotal, parseProcStat, parseProcStatus, parseUptime, readCpuTimes, readProcStat, stealShare } from './procfs.js';

describe('/proc parsers', () => {
  it('reads utime+stime and starttime from /proc/<pid>/stat, even with spaces and parens in comm', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal starttime ...
    const line = '4242 (java (main) x) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1500 250 7 3 20 0 42 0 987654 5000000 30000 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 4242, comm: 'java (main) x', cpuTicks: 1750, startTicks: 987654 });
    expect(() => parseProcStat('garbage')).toThrow(/format/);
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/field/);
  });

  it('reads VmRSS and VmHWM in bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).toEqual({ rssBytes: 1024 * 1024, hwmBytes: 2048 * 1024 });
    expect(() => parseProcStatus('Name: x\n')).toThrow(/VmRSS|VmHWM/);
  });

  it('reads loadavg, uptime, cpuinfo and meminfo', () => {
    expect(parseLoadAvg('10.10 6.91 3.58 9/284 3481\n')).toEqual({ load1: 10.1, load5: 6.91, load15: 3.58 });
    expect(() => parseLoadAvg('x')).toThrow();
    expect(parseUptime('12345.67 20000.00\n')).toBe(12345.67);
    const cpuinfo = 'processor\t: 0\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n';
    expect(parseCpuInfo(cpuinfo)).toEqual({ model: 'AMD EPYC 7B13', logicalCpus: 2 });
    expect(parseMemTotal('MemTotal:       24576000 kB\nMemFree: 1 kB\n')).toBe(24576000 * 1024);
  });

  it('reads the machine CPU split and the stolen share between two readings', () => {
    const a = parseCpuTimes('cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n');
    expect(a).toEqual({ busy: 160, idle: 820, steal: 10 });
    const b = parseCpuTimes('cpu  200 5 100 900 20 3 2 60 0 0\n');
    expect(stealShare(a, b)).toBeCloseTo(50 / (150 + 100 + 50));
    expect(stealShare(a, a)).toBeUndefined();
    expect(() => parseCpuTimes('intr 1 2\n')).toThrow(/format/);
    expect(readCpuTimes()?.busy).toBeGreaterThan(0);
  });

  it('reads this process from the real /proc', () => {
    const st = readProcStat(process.pid);
    expect(st?.pid).toBe(process.pid);
    expect(st!.cpuTicks).toBeGreaterThanOrEqual(0);
    expect(readProcStat(2 ** 30)).toBeUndefined();
  });
});

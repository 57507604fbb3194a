// A producer run of the Go driver (test/interop/DRIVERS.md) for long scenarios: events as they
// arrive, stdout and stderr both kept in one log file that is closed only after both streams end.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { DriverEvent } from '../../interop/harness.js';
import { ROOT } from './cluster.js';

export interface ProducerRun {
  events: DriverEvent[];
  /** Resolves with the exit code once the process exited and its output was read (killed after `timeoutMs`). */
  done: Promise<number | null>;
}

export function startGoProducer(args: string[], logFile: string, timeoutMs: number): ProducerRun {
  const child = spawn(join(ROOT, 'test/interop/go/bin/rmq-go-driver'), ['produce', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  const events: DriverEvent[] = [];
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    log.write(d);
    pending += d.toString();
    let i: number;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i).trim();
      pending = pending.slice(i + 1);
      if (!line.startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as DriverEvent);
      } catch {
        // a log line that happens to start with a brace
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => log.write(d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      log.end(() => resolve(code));
    });
  });
  return { events, done };
}

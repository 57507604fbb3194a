// The official Apache RocketMQ 5.5.0 in interop tests, through the scripts in test/support/apache
// (setup.sh fetches it from Maven Central once; start.sh / stop.sh / mqadmin.sh run it).
//
//   await startApache(dir, namesrvPort, brokerPort, { BROKER_EXTRA_CONF: 'brokerRole=SLAVE' });
//   const r = await runApacheScript('mqadmin.sh', ['clusterList', '-n', ns], { RMQ_HOME_DIR: tools }, 90_000);
//   await stopApache(dir);
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './harness.js';

export const APACHE = join(ROOT, 'test/support/apache');

export interface ScriptResult {
  /** Exit code; null when the script was killed (also at the timeout). */
  code: number | null;
  out: string;
  err: string;
}

/** Runs `bash test/support/apache/<script> ...args` to its end (SIGKILL after `timeoutMs`); never rejects. */
export function runApacheScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(APACHE, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/**
 * Starts an Apache NameServer + Broker with all state in `dir` (start.sh, 512 MiB broker heap and
 * direct memory, 120 s to come up); `env` adds or overrides start.sh settings. Throws with the end
 * of start.sh's stderr when it fails.
 */
export async function startApache(dir: string, namesrvPort: number, brokerPort: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await runApacheScript('start.sh', [dir], { NAMESRV_PORT: String(namesrvPort), BROKER_PORT: String(brokerPort), BROKER_HEAP: '512m', BROKER_DIRECT_MEM: '512m', START_TIMEOUT: '120', ...env }, 180_000);
  if (r.code !== 0) throw new Error(`start.sh failed (${r.code}):\n${r.err.slice(-3000)}`);
}

/** Kills what startApache started in `dir` (stop.sh --fast: the data dir is thrown away). */
export async function stopApache(dir: string): Promise<void> {
  await runApacheScript('stop.sh', ['--fast', dir], {}, 60_000);
}

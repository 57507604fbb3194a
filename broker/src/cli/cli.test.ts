// The built command-line entry points, as a user runs them (needs `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BROKER = join(ROOT, 'dist/broker/src/cli/broker.js');
const NAMESRV = join(ROOT, 'dist/broker/src/cli/namesrv.js');

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  return spawnSync('node', [script, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

describe('rmq-broker / rmq-namesrv command lines', () => {
  it('accepts the Apache distribution broker.conf unchanged (-p prints the effective config)', () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-home-'));
    const r = run(BROKER, ['-c', join(ROOT, 'test/fixtures/conf/broker.conf'), '-n', '127.0.0.1:9876', '-p'], { HOME: home });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('brokerName=broker-a');
    expect(r.stdout).toContain('fileReservedTime=48');
    expect(r.stdout).toContain(`storePathRootDir=${join(home, 'store')}`);
    expect(r.stdout).toContain('namesrvAddr=127.0.0.1:9876');
  });

  it('stops with an error naming the key of an invalid value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(dir, 'bad.conf'), 'brokerName=b\nlistenPort=ten\n');
    const r = run(BROKER, ['-c', join(dir, 'bad.conf')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('bad.conf: listenPort: expected an integer, got "ten"');
  });

  it('explains a missing config file and unknown options', () => {
    expect(run(BROKER, ['-c', '/nonexistent/broker.conf']).stderr).toContain('cannot read config file /nonexistent/broker.conf');
    const r = run(NAMESRV, ['--bogus']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown option --bogus');
  });
});

// The node agent's emulation rules on their own (no cluster needed): Dockerfile parsing, the
// path-mapping rule, $(VAR) expansion, the image check, and the pod hook in a real Node process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { expandVars, isOurImage, rewritePaths } from './agent.js';
import { loadImageSpec, parseDockerfile } from './image.js';

const ROOT = join(import.meta.dirname, '../../..');

describe('image spec from the Dockerfile', () => {
  it('takes ENTRYPOINT, CMD, WORKDIR and ENV of the final stage only', () => {
    const spec = parseDockerfile(
      ['FROM node AS build', 'WORKDIR /src', 'ENTRYPOINT ["x"]', 'FROM node', 'ENV A=1', 'ENV B two words', 'WORKDIR /app', 'ENTRYPOINT ["node", "/app/main.js"]', 'CMD ["serve", \\', '  "--fast"]'].join('\n'),
      '/repo',
    );
    expect(spec).toEqual({ entrypoint: ['node', '/app/main.js'], cmd: ['serve', '--fast'], workdir: '/app', env: { A: '1', B: 'two words' }, paths: [['/app', '/repo']] });
  });

  it("reads this repository's Dockerfile: rmq.js under /app, broker by default, HOME for the store", () => {
    const spec = loadImageSpec(ROOT);
    expect(spec.entrypoint).toEqual(['node', '/app/dist/broker/src/cli/rmq.js']);
    expect(spec.cmd).toEqual(['broker']);
    expect(spec.workdir).toBe('/app');
    expect(spec.env.HOME).toBe('/home/rocketmq');
  });
});

describe('path mapping rule', () => {
  const map: Array<[string, string]> = [
    ['/etc/rocketmq', '/h/config'],
    ['/etc/rocketmq-template', '/h/template'],
    ['/home/rocketmq/store', '/h/pvc'],
    ['/home/rocketmq', '/h/home'],
  ];
  it('maps whole path prefixes, longest first, in args, scripts and config files', () => {
    expect(rewritePaths('-c /etc/rocketmq/broker.conf', map)).toBe('-c /h/config/broker.conf');
    expect(rewritePaths('cp /etc/rocketmq-template/broker.conf /etc/rocketmq/broker.conf', map)).toBe('cp /h/template/broker.conf /h/config/broker.conf');
    expect(rewritePaths('storePathRootDir=/home/rocketmq/store\nx=/home/rocketmq', map)).toBe('storePathRootDir=/h/pvc\nx=/h/home');
    expect(rewritePaths('/etc/rocketmq', map)).toBe('/h/config');
  });
  it('leaves other paths alone', () => {
    expect(rewritePaths('/etc/rocketmqx/a /opt/etc/rocketmq a/etc/rocketmq', map)).toBe('/etc/rocketmqx/a /opt/etc/rocketmq a/etc/rocketmq');
  });
  it('expands $(VAR) like Kubernetes', () => {
    expect(expandVars('a=$(POD_IP) b=$(MISSING) c=$$(POD_IP)', { POD_IP: '127.1.0.3' })).toBe('a=127.1.0.3 b=$(MISSING) c=$(POD_IP)');
  });
  it('accepts only the project image', () => {
    expect(isOurImage('rocketmq-ts:0.1.0')).toBe(true);
    expect(isOurImage('ghcr.io/acme/rocketmq-ts@sha256:abc')).toBe(true);
    expect(isOurImage('localhost:5000/rocketmq-ts')).toBe(true);
    expect(isOurImage('busybox:1.36')).toBe(false);
    expect(isOurImage('apache/rocketmq:5.3.0')).toBe(false);
  });
});

describe('pod hook in a real process', () => {
  const dir = mkdtempSync(join(ROOT, '.tmp', 'pod-hook-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('listens on the pod IP, resolves cluster names from the hosts file and maps mounted paths', () => {
    const hook = join(dir, 'pod-hook.mjs');
    writeFileSync(hook, ts.transpileModule(readFileSync(join(import.meta.dirname, 'pod-hook.ts'), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
    writeFileSync(join(dir, 'hosts.json'), JSON.stringify({ 'rmq-0.rmq-headless.mq.svc.cluster.local': ['127.1.0.7'], 'rmq.mq.svc.cluster.local': ['127.1.0.7'] }));
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa', 'token'), 'tok');
    const script = `
      import net from 'node:net'; import dns from 'node:dns'; import { readFileSync } from 'node:fs';
      const s = net.createServer(); await new Promise((r) => s.listen(0, '0.0.0.0', r));
      const out = { listen: s.address().address };
      s.close();
      out.headless = await dns.promises.lookup('rmq-0.rmq-headless.mq.svc.cluster.local');
      out.short = await new Promise((r) => dns.lookup('rmq', (e, a) => r(e ? e.code : a)));
      out.missing = await dns.promises.lookup('nope.mq.svc.cluster.local').catch((e) => e.code);
      out.localhost = (await dns.promises.lookup('localhost')).address;
      out.token = readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8');
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        NODE_OPTIONS: `--import=${hook}`,
        RMQ_E2E_POD_IP: '127.1.0.9',
        RMQ_E2E_POD_NAMESPACE: 'mq',
        RMQ_E2E_HOSTS_FILE: join(dir, 'hosts.json'),
        RMQ_E2E_FS_MAP: JSON.stringify([['/var/run/secrets/kubernetes.io/serviceaccount', join(dir, 'sa')]]),
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ listen: '127.1.0.9', headless: { address: '127.1.0.7', family: 4 }, short: '127.1.0.7', missing: 'ENOTFOUND', localhost: '127.1.0.9', token: 'tok' });
  });
});

// Loaded into every Node process the e2e node agent runs as a pod container
// (NODE_OPTIONS=--import <this file, transpiled by the agent into its work dir>). It gives the
// process what a pod's network and mount namespaces would, without root:
//
// - Listening: a server bound to "all interfaces" (0.0.0.0, ::, no host) or to loopback listens on
//   the pod's own address (RMQ_E2E_POD_IP, a 127.x.y.z address) instead, as it would inside its
//   own network namespace. So every pod can use the same ports (9876, 10911, ...).
// - Names: dns.lookup / dns.promises.lookup answer cluster names from the hosts file the agent
//   keeps current (RMQ_E2E_HOSTS_FILE, JSON { name: [ip, ...] }): `<pod>.<svc>.<ns>.svc.<domain>`
//   of headless Services, `<svc>.<ns>.svc.<domain>` (ready endpoints), and the search path of
//   the pod's namespace (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`). `localhost` is the pod itself.
//   Anything else goes to the real resolver.
// - Files: read-side fs calls on a container path under a mount (RMQ_E2E_FS_MAP, JSON
//   [[containerPath, hostPath], ...], longest first) read the host directory instead. Library
//   code with fixed paths (client-node's /var/run/secrets/kubernetes.io/serviceaccount) then
//   finds the projected ServiceAccount token. Paths in args, env and config files are already
//   rewritten by the agent.
import type * as DnsModule from 'node:dns';
import type * as FsModule from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type * as NetModule from 'node:net';

// The CommonJS export objects: patching their properties is what every importer sees (ESM named
// exports of built-ins follow after syncBuiltinESMExports()).
const require = createRequire(import.meta.url);
const dns = require('node:dns') as typeof DnsModule;
const fs = require('node:fs') as typeof FsModule;
const net = require('node:net') as typeof NetModule;

/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
type AnyFn = (...args: any[]) => any;

const podIP = process.env.RMQ_E2E_POD_IP;
const hostsFile = process.env.RMQ_E2E_HOSTS_FILE;
const namespace = process.env.RMQ_E2E_POD_NAMESPACE ?? 'default';
const domain = process.env.RMQ_E2E_CLUSTER_DOMAIN ?? 'cluster.local';
const fsMap = JSON.parse(process.env.RMQ_E2E_FS_MAP ?? '[]') as Array<[string, string]>;

// ---- names ------------------------------------------------------------------------------------
let cache: { mtimeMs: number; hosts: Record<string, string[]> } = { mtimeMs: -1, hosts: {} };
const realReadFileSync = fs.readFileSync;
const realStatSync = fs.statSync;
function hosts(): Record<string, string[]> {
  if (!hostsFile) return {};
  try {
    const st = realStatSync(hostsFile);
    if (st.mtimeMs !== cache.mtimeMs) cache = { mtimeMs: st.mtimeMs, hosts: JSON.parse(realReadFileSync(hostsFile, 'utf8')) as Record<string, string[]> };
  } catch {
    // not written yet, or replaced while reading: keep the last good copy
  }
  return cache.hosts;
}

/** The addresses of a cluster name (with the pod's search path), or undefined for other names. */
function resolveCluster(name: string): string[] | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (podIP && (n === 'localhost' || n === 'localhost.localdomain')) return [podIP];
  const table = hosts();
  const candidates = name.endsWith('.') ? [n] : [n, `${n}.${namespace}.svc.${domain}`, `${n}.svc.${domain}`, `${n}.${domain}`];
  for (const c of candidates) {
    const ips = table[c];
    if (ips !== undefined) return ips;
  }
  // A cluster name with no ready endpoint: NXDOMAIN, not a question to the real resolver.
  if (n.endsWith(`.svc.${domain}`) || n.endsWith('.svc')) return [];
  return undefined;
}

function notFound(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
}

type Answer = { address: string; family: number } | Array<{ address: string; family: number }> | undefined;
function answer(ips: string[], options: unknown): Answer {
  const o = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean; family?: number | string };
  const family = typeof options === 'number' ? options : (o.family ?? 0);
  const usable = family === 0 || family === 4 || family === 'IPv4' ? ips : [];
  if (o.all) return usable.length === 0 ? undefined : usable.map((address) => ({ address, family: 4 }));
  // Several ready endpoints: spread connections like a Service would.
  return usable.length === 0 ? undefined : { address: usable[Math.floor(Math.random() * usable.length)]!, family: 4 };
}

const origLookup = dns.lookup as AnyFn;
(dns as any).lookup = function lookup(this: unknown, hostname: unknown, options: unknown, callback: unknown): unknown {
  const cb = (typeof options === 'function' ? options : callback) as AnyFn;
  const ips = typeof hostname === 'string' && net.isIP(hostname) === 0 ? resolveCluster(hostname) : undefined;
  if (ips === undefined) return origLookup.call(this, hostname, options, callback);
  const a = answer(ips, typeof options === 'function' ? {} : options);
  process.nextTick(() => {
    if (a === undefined) cb(notFound(hostname as string));
    else if (Array.isArray(a)) cb(null, a);
    else cb(null, a.address, a.family);
  });
  return undefined;
};
const origPromiseLookup = dns.promises.lookup as AnyFn;
(dns.promises as any).lookup = function lookup(this: unknown, hostname: unknown, options: unknown): Promise<unknown> {
  const ips = typeof hostname === 'string' && net.isIP(hostname) === 0 ? resolveCluster(hostname) : undefined;
  if (ips === undefined) return origPromiseLookup.call(this, hostname, options) as Promise<unknown>;
  const a = answer(ips, options);
  return a === undefined ? Promise.reject(notFound(hostname as string)) : Promise.resolve(a);
};

// ---- listening --------------------------------------------------------------------------------
const WILDCARD = new Set<unknown>([undefined, null, '', '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '127.0.0.1', '::1', 'localhost']);
const origListen = (net.Server.prototype as unknown as { listen: AnyFn }).listen;
(net.Server.prototype as any).listen = function listen(this: NetModule.Server, ...args: unknown[]): unknown {
  if (podIP) {
    const first = args[0];
    if (first !== null && typeof first === 'object') {
      const o = first as { host?: string; path?: string; fd?: number; _handle?: unknown };
      if (o.path === undefined && o.fd === undefined && o._handle === undefined && WILDCARD.has(o.host)) args[0] = { ...o, host: podIP };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof args[1] === 'string') {
        if (WILDCARD.has(args[1])) args[1] = podIP;
      } else {
        args.splice(1, 0, podIP);
      }
    } else if (first === undefined || typeof first === 'function') {
      args.unshift(0, podIP);
    }
  }
  return origListen.apply(this, args);
};

// ---- files (read side) ------------------------------------------------------------------------
function mapPath(p: unknown): unknown {
  if (typeof p !== 'string' || fsMap.length === 0) return p;
  for (const [from, to] of fsMap) {
    if (p === from) return to;
    if (p.startsWith(`${from}/`)) return to + p.slice(from.length);
  }
  return p;
}
const fsAny = fs as unknown as Record<string, AnyFn>;
for (const name of ['readFileSync', 'existsSync', 'accessSync', 'statSync', 'readdirSync', 'readFile', 'access', 'stat', 'readdir', 'createReadStream']) {
  const orig = fsAny[name]!;
  fsAny[name] = function mapped(this: unknown, p: unknown, ...rest: unknown[]): unknown {
    return orig.call(this, mapPath(p), ...rest);
  };
}
const fspAny = fs.promises as unknown as Record<string, AnyFn>;
for (const name of ['readFile', 'access', 'stat', 'readdir']) {
  const orig = fspAny[name]!;
  fspAny[name] = function mapped(this: unknown, p: unknown, ...rest: unknown[]): unknown {
    return orig.call(this, mapPath(p), ...rest);
  };
}
syncBuiltinESMExports();

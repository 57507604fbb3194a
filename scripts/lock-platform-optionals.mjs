#!/usr/bin/env node
// Records platform-specific optional packages (rollup's and esbuild's native binaries for other
// operating systems) in package-lock.json with their os/cpu. Registries that do not carry every
// platform's binary make `npm install` leave them out, and `npm ci` then refuses the lockfile;
// with the entries present `npm ci` accepts it and skips them on non-matching platforms.
// Run after `npm install` changes the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';

const OSES = new Set(['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'netbsd', 'sunos', 'aix', 'win32']);
const CPUS = new Set(['arm', 'arm64', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el']);

function platformOf(name) {
  const base = name.slice(name.lastIndexOf('/') + 1).replace(/^rollup-/, '');
  const [os, cpu0, ...rest] = base.split('-');
  const cpu = cpu0 === 'arm' && rest[0] === 'gnueabihf' ? 'arm' : cpu0;
  if (!OSES.has(os) || !CPUS.has(cpu)) return undefined;
  const libc = rest.find((r) => r === 'gnu' || r === 'musl' || r === 'musleabihf' || r === 'gnueabihf');
  return { os: [os], cpu: [cpu], ...(os === 'linux' && libc ? { libc: [libc.startsWith('musl') ? 'musl' : 'glibc'] } : {}) };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const at = `node_modules/${dep}`;
    if (lock.packages[at]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    lock.packages[at] = { version: String(version).replace(/^[~^]/, ''), dev: pkg.dev ?? undefined, optional: true, ...platform };
    added++;
  }
  void key;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform-specific optional entries`);

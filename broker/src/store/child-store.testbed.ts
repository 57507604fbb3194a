// Test support (not built into dist) for the kill -9 tests: a child process runs the store's own
// sources, transpiled (types stripped, no type check) with the TypeScript compiler API into a temp
// directory, so the tests need neither a build of the whole project nor a TS loader for node.
//
//   prepareChildStore(work, `const store = ...; producers(4, async (n) => { ... });`);
//   await runUntilKilled(work, [storeDir], (line) => ++acks === 400);
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect } from 'vitest';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..'); // broker/src
const repoRoot = resolve(srcRoot, '..', '..');

/**
 * What every child program starts with: the store and the message helpers, the hosts its puts
 * carry, and producers(count, put), which runs `count` concurrent loops that call put(n) for
 * n = 0, 1, 2, ... (each n once, across all loops) until the process dies.
 */
const CHILD_PRELUDE = `
import { DefaultMessageStore } from './broker/src/store/default-message-store.js';
import { encodeHost, encodeProperties, tagsCode } from './broker/src/protocol/message.js';
const bornHost = encodeHost('127.0.0.1:40000');
const storeHost = encodeHost('127.0.0.1:10911');
function producers(count, put) {
  let next = 0;
  const loop = async () => {
    for (;;) await put(next++);
  };
  for (let i = 0; i < count; i++) void loop();
}
`;

/**
 * Transpiles the store and what it imports (protocol, common) to JS under `work`, at the paths
 * they have in the repository, and writes CHILD_PRELUDE + `childBody` as `work/child.mjs`.
 */
export function prepareChildStore(work: string, childBody: string): void {
  for (const dir of ['store', 'store/index', 'protocol', 'common']) {
    for (const name of readdirSync(join(srcRoot, dir))) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.conformance.ts') || name.endsWith('.testbed.ts')) continue;
      const file = join(srcRoot, dir, name);
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      const target = join(work, relative(repoRoot, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, js);
    }
  }
  writeFileSync(join(work, 'package.json'), '{"type":"module"}');
  writeFileSync(join(work, 'child.mjs'), CHILD_PRELUDE + childBody);
}

/**
 * Runs `node work/child.mjs ...args` and hands each line it prints to `onLine`; SIGKILLs the child
 * the first time `onLine` returns true. Resolves once the child is gone, and fails the test unless
 * the SIGKILL is what ended it (its stderr is the message). If `onLine` throws, the child is
 * killed and the error goes on.
 */
export async function runUntilKilled(work: string, args: string[], onLine: (line: string) => boolean): Promise<void> {
  const child = spawn(process.execPath, [join(work, 'child.mjs'), ...args], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (onLine(line)) child.kill('SIGKILL');
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  await exited;
  expect(child.signalCode, stderr).toBe('SIGKILL');
}

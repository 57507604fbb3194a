// kill -9 a real process that writes under SYNC_FLUSH, then check that every put it saw
// acknowledged is in the reopened store. The child runs the store's own sources, transpiled
// (types stripped, no type check) with the TypeScript compiler API into a temp directory, so the
// test needs neither a build of the whole project nor a TS loader for node.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessageRecord } from '../protocol/message.js';
import { DefaultMessageStore } from './default-message-store.js';
import type { DefaultMessageStoreConfig } from './default-message-store.js';

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = resolve(here, '..'); // broker/src
const repoRoot = resolve(srcRoot, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'rmq-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CONFIG = {
  flushDiskType: 'SYNC_FLUSH',
  mappedFileSizeCommitLog: 64 * 1024,
  mappedFileSizeConsumeQueue: 50 * 20,
  maxMessageSize: 16 * 1024,
  flushIntervalConsumeQueue: 200,
} satisfies Partial<DefaultMessageStoreConfig>;

/** Transpiles the store and what it imports (protocol, common) to JS under `out`. */
function transpileStore(out: string): void {
  for (const dir of ['store', 'store/index', 'protocol', 'common']) {
    for (const name of readdirSync(join(srcRoot, dir))) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.conformance.ts')) continue;
      const file = join(srcRoot, dir, name);
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      const target = join(out, relative(repoRoot, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, js);
    }
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
}

// Writes with 8 concurrent producers and prints "ack n queueId queueOffset physicalOffset" for
// each PUT_OK. stdout on a pipe is synchronous on Linux, so a printed ack was really given.
const CHILD = `
import { DefaultMessageStore } from './broker/src/store/default-message-store.js';
import { encodeHost, encodeProperties, tagsCode } from './broker/src/protocol/message.js';
const store = new DefaultMessageStore({ storePathRootDir: process.argv[2], ...JSON.parse(process.argv[3]) });
await store.start();
process.stdout.write('ready\\n');
const bornHost = encodeHost('127.0.0.1:40000');
const storeHost = encodeHost('127.0.0.1:10911');
let next = 0;
async function producer() {
  for (;;) {
    const n = next++;
    const queueId = n % 4;
    const tag = 't' + (n % 3);
    const body = Buffer.alloc(40 + ((n * 37) % 700), n % 251);
    body.write('kill-' + n + '|');
    const r = await store.putMessage({
      topic: 'KillTopic', queueId, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost,
      reconsumeTimes: 0, preparedTransactionOffset: 0, body,
      properties: encodeProperties({ UNIQ_KEY: 'K' + n, TAGS: tag }), tagsCode: tagsCode(tag), waitStoreMsgOK: true,
    });
    const a = r.appended[0];
    if (r.status === 'PUT_OK') process.stdout.write('ack ' + n + ' ' + queueId + ' ' + a.queueOffset + ' ' + a.physicalOffset + '\\n');
    else process.stdout.write('not-ok ' + n + ' ' + r.status + '\\n');
  }
}
for (let i = 0; i < 8; i++) void producer();
`;

interface Ack {
  n: number;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
}

/** Runs the child until it has acknowledged `killAfter` puts, SIGKILLs it, returns every ack it printed. */
async function runAndKill(storeDir: string, killAfter: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [join(work, 'child.mjs'), storeDir, JSON.stringify(CONFIG)], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolveExit) => child.on('exit', () => resolveExit()));
  const acks: Ack[] = [];
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const [kind, n, q, qo, po] = line.split(' ');
    if (kind === 'ack') {
      acks.push({ n: Number(n), queueId: Number(q), queueOffset: Number(qo), physicalOffset: Number(po) });
      if (acks.length === killAfter) child.kill('SIGKILL');
    } else if (kind !== 'ready') {
      throw new Error(`child said: ${line}`);
    }
  }
  await exited;
  expect(child.signalCode, stderr).toBe('SIGKILL');
  return acks;
}

describe('DefaultMessageStore survives kill -9 under SYNC_FLUSH', () => {
  beforeAll(() => {
    transpileStore(work);
    writeFileSync(join(work, 'child.mjs'), CHILD);
  });

  for (const killAfter of [150, 1500]) {
    it(`keeps every acknowledged message (killed after ${killAfter} acks)`, { timeout: 60_000 }, async () => {
      const storeDir = join(work, `store-${killAfter}`);
      const acks = await runAndKill(storeDir, killAfter);
      expect(acks.length).toBeGreaterThanOrEqual(killAfter);

      const store = new DefaultMessageStore({ storePathRootDir: storeDir, ...CONFIG });
      await store.start();
      try {
        expect(store.recoveryReport?.mode).toBe('crash');
        for (const a of acks) {
          const got = store.getMessages('KillTopic', a.queueId, a.queueOffset, { maxMsgNums: 1 });
          expect(got.status, `ack ${a.n}`).toBe('FOUND');
          const rec = decodeMessageRecord(got.messages[0]!, 0, true)!;
          expect(rec.body.toString('latin1', 0, `kill-${a.n}|`.length)).toBe(`kill-${a.n}|`);
          expect(rec.physicalOffset).toBe(a.physicalOffset);
          expect(store.lookMessageByOffset(a.physicalOffset)?.equals(got.messages[0]!)).toBe(true);
        }
        // Each queue is gap-free and continues where it ended.
        for (let q = 0; q < 4; q++) {
          const max = store.getMaxOffsetInQueue('KillTopic', q);
          const acked = acks.filter((a) => a.queueId === q).map((a) => a.queueOffset);
          expect(max).toBeGreaterThanOrEqual(Math.max(...acked) + 1);
          let offset = 0;
          while (offset < max) {
            const r = store.getMessages('KillTopic', q, offset, { maxMsgNums: 32 });
            expect(r.status).toBe('FOUND');
            expect(r.queueOffsets[0]).toBe(offset);
            offset = r.nextBeginOffset;
          }
        }
        const stats = store.stats();
        const r = await store.putMessage({
          topic: 'KillTopic', queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: 0,
          bornHost: Buffer.from([127, 0, 0, 1, 0, 0, 0, 1]), storeHost: Buffer.from([127, 0, 0, 1, 0, 0, 0, 2]),
          reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('after'), properties: '', tagsCode: 0, waitStoreMsgOK: true,
        });
        expect(r.status).toBe('PUT_OK');
        expect(r.appended[0]!.queueOffset).toBe(store.getMaxOffsetInQueue('KillTopic', 0) - 1);
        expect(r.appended[0]!.physicalOffset).toBeGreaterThanOrEqual(stats.commitLogMaxOffset);
      } finally {
        await store.shutdown();
      }
    });
  }
});

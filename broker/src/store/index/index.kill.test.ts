// kill -9 a real process that writes keyed messages (checkpoints every 30 ms, so the kill lands
// between index checkpoints), then check that every acknowledged message is found by its key
// and its UNIQ_KEY, exactly once. Same child set-up as default-message-store.kill.test.ts.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, expect, it } from 'vitest';
import { decodeMessageRecord } from '../../protocol/message.js';
import { DefaultMessageStore } from '../default-message-store.js';
import { decodeIndexHeader } from './index-file.js';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'); // broker/src
const repoRoot = resolve(srcRoot, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'rmq-index-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CONFIG = {
  flushDiskType: 'SYNC_FLUSH',
  mappedFileSizeCommitLog: 64 * 1024,
  maxMessageSize: 16 * 1024,
  flushIntervalConsumeQueue: 30,
  maxHashSlotNum: 64,
  maxIndexNum: 200,
} as const;

const CHILD = `
import { DefaultMessageStore } from './broker/src/store/default-message-store.js';
import { encodeHost, encodeProperties } from './broker/src/protocol/message.js';
const store = new DefaultMessageStore({ storePathRootDir: process.argv[2], ...JSON.parse(process.argv[3]) });
await store.start();
const bornHost = encodeHost('127.0.0.1:40000');
const storeHost = encodeHost('127.0.0.1:10911');
let next = 0;
async function producer() {
  for (;;) {
    const n = next++;
    const r = await store.putMessage({
      topic: 'KillIdx', queueId: n % 2, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost,
      reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('m' + n),
      properties: encodeProperties({ UNIQ_KEY: 'U' + n, KEYS: 'key-' + n + ' all' }), tagsCode: 0, waitStoreMsgOK: true,
    });
    if (r.status === 'PUT_OK') process.stdout.write('ack ' + n + ' ' + r.appended[0].physicalOffset + '\\n');
  }
}
for (let i = 0; i < 4; i++) void producer();
`;

function transpile(out: string): void {
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
  writeFileSync(join(out, 'child.mjs'), CHILD);
}

it('finds every acknowledged message by key after kill -9, each key indexed once', { timeout: 60_000 }, async () => {
  transpile(work);
  const storeDir = join(work, 'store');
  const child = spawn(process.execPath, [join(work, 'child.mjs'), storeDir, JSON.stringify(CONFIG)], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const acks = new Map<number, number>();
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, n, phy] = line.split(' ');
    if (kind !== 'ack') continue;
    acks.set(Number(n), Number(phy));
    if (acks.size === 400) child.kill('SIGKILL');
  }
  await exited;
  expect(child.signalCode, stderr).toBe('SIGKILL');

  const store = new DefaultMessageStore({ storePathRootDir: storeDir, ...CONFIG });
  await store.start();
  try {
    expect(store.recoveryReport?.mode).toBe('crash');
    const q = (key: string): number[] =>
      store.queryMessage('KillIdx', key, 64, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => decodeMessageRecord(m)!.physicalOffset);
    for (const [n, phy] of acks) {
      expect(q(`key-${n}`), `key-${n}`).toEqual([phy]);
      expect(q(`U${n}`), `U${n}`).toEqual([phy]);
    }
    expect(q('all')).toHaveLength(64);
    // Every stored message (acked or not) is indexed under its three keys, once.
    let stored = 0;
    for (const queueId of [0, 1]) stored += store.getMaxOffsetInQueue('KillIdx', queueId);
    await store.shutdown(); // writes the headers
    const indexDir = join(storeDir, 'index');
    let entries = 0;
    for (const f of readdirSync(indexDir).filter((x) => /^\d{17}$/.test(x))) entries += decodeIndexHeader(readFileSync(join(indexDir, f))).indexCount - 1;
    expect(entries).toBe(stored * 3);
  } finally {
    await store.shutdown();
  }
});

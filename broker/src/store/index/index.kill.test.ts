// kill -9 a real process that writes keyed messages (checkpoints every 30 ms, so the kill lands
// between index checkpoints), then check that every acknowledged message is found by its key
// and its UNIQ_KEY, exactly once. The child is set up by child-store.testbed.ts.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodeMessageRecord } from '../../protocol/message.js';
import { prepareChildStore, runUntilKilled } from '../child-store.testbed.js';
import { DefaultMessageStore } from '../default-message-store.js';
import { decodeIndexHeader } from './index-file.js';

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

// Writes keyed messages with 4 concurrent producers and prints "ack n physicalOffset" for each PUT_OK.
const CHILD = `
const store = new DefaultMessageStore({ storePathRootDir: process.argv[2], ...JSON.parse(process.argv[3]) });
await store.start();
producers(4, async (n) => {
  const r = await store.putMessage({
    topic: 'KillIdx', queueId: n % 2, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost,
    reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('m' + n),
    properties: encodeProperties({ UNIQ_KEY: 'U' + n, KEYS: 'key-' + n + ' all' }), tagsCode: 0, waitStoreMsgOK: true,
  });
  if (r.status === 'PUT_OK') process.stdout.write('ack ' + n + ' ' + r.appended[0].physicalOffset + '\\n');
});
`;

it('finds every acknowledged message by key after kill -9, each key indexed once', { timeout: 60_000 }, async () => {
  prepareChildStore(work, CHILD);
  const storeDir = join(work, 'store');
  const acks = new Map<number, number>();
  await runUntilKilled(work, [storeDir, JSON.stringify(CONFIG)], (line) => {
    const [kind, n, phy] = line.split(' ');
    if (kind !== 'ack') return false;
    acks.set(Number(n), Number(phy));
    return acks.size === 400;
  });

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

// kill -9 a real process that writes under SYNC_FLUSH, then check that every put it saw
// acknowledged is in the reopened store. The child runs the store's own sources, transpiled
// (see child-store.testbed.ts), so the test needs neither a build of the whole project nor a TS
// loader for node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessageRecord } from '../protocol/message.js';
import { prepareChildStore, runUntilKilled } from './child-store.testbed.js';
import { DefaultMessageStore } from './default-message-store.js';
import type { DefaultMessageStoreConfig } from './default-message-store.js';

const work = mkdtempSync(join(tmpdir(), 'rmq-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CONFIG = {
  flushDiskType: 'SYNC_FLUSH',
  mappedFileSizeCommitLog: 64 * 1024,
  mappedFileSizeConsumeQueue: 50 * 20,
  maxMessageSize: 16 * 1024,
  flushIntervalConsumeQueue: 200,
} satisfies Partial<DefaultMessageStoreConfig>;

// Writes with 8 concurrent producers and prints "ack n queueId queueOffset physicalOffset" for
// each PUT_OK. stdout on a pipe is synchronous on Linux, so a printed ack was really given.
const CHILD = `
const store = new DefaultMessageStore({ storePathRootDir: process.argv[2], ...JSON.parse(process.argv[3]) });
await store.start();
process.stdout.write('ready\\n');
producers(8, async (n) => {
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
});
`;

interface Ack {
  n: number;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
}

/** Runs the child until it has acknowledged `killAfter` puts, SIGKILLs it, returns every ack it printed. */
async function runAndKill(storeDir: string, killAfter: number): Promise<Ack[]> {
  const acks: Ack[] = [];
  await runUntilKilled(work, [storeDir, JSON.stringify(CONFIG)], (line) => {
    const [kind, n, q, qo, po] = line.split(' ');
    if (kind === 'ack') {
      acks.push({ n: Number(n), queueId: Number(q), queueOffset: Number(qo), physicalOffset: Number(po) });
      return acks.length === killAfter;
    }
    if (kind !== 'ready') throw new Error(`child said: ${line}`);
    return false;
  });
  return acks;
}

describe('DefaultMessageStore survives kill -9 under SYNC_FLUSH', () => {
  beforeAll(() => prepareChildStore(work, CHILD));

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

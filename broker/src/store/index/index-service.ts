// The message index of the file store (Java IndexService): every record's UNIQ_KEY and KEYS
// words are indexed as `topic#key` in IndexFiles under `<storePathRootDir>/index`, a new file
// starting when the last one holds maxIndexNum − 1 entries.
//
// Durability follows the consume queues: at each store checkpoint the index writes its pending
// bytes, fsyncs, and then records in `index/.checkpoint.json` the commit-log offset every record
// below which is indexed durably (`indexedTo`), the last indexed record's offset, and the last
// file's header. On start, files newer than that file are removed, the last file goes back to the
// recorded header after a crash (its slot table recomputed from the durable entries), and the
// store re-dispatches records from `indexedTo`; records at or before the last indexed one are
// skipped, so nothing is indexed twice. Without a usable checkpoint the index is rebuilt from
// the start of the commit log.
//
// Retention: files whose last entry points below the commit log's new start are deleted (never
// the last file), as Java's deleteExpiredFile does.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import type { DeletedFile } from '../clean-service.js';
import type { StoreLogger } from '../store-common.js';
import { IndexFile } from './index-file.js';
import type { IndexHeader } from './index-file.js';
import { MAX_MSGS_NUM_BATCH, indexKey, keysToIndex } from './index-keys.js';
import type { IndexQueryResult } from './index-keys.js';

/** Java MessageStoreConfig defaults: a 420 MB (sparse) file per 20 M keys. */
export const DEFAULT_MAX_HASH_SLOT_NUM = 5_000_000;
export const DEFAULT_MAX_INDEX_NUM = 5_000_000 * 4;
const CHECKPOINT_FILE = '.checkpoint.json';
const FILE_NAME = /^\d{17}$/;

export interface IndexServiceOptions {
  /** `<storePathRootDir>/index`. */
  dir: string;
  maxHashSlotNum?: number;
  maxIndexNum?: number;
  logger: StoreLogger;
  /** Clock for file names (tests). */
  now?: () => number;
}

interface IndexCheckpoint {
  version: 1;
  indexedTo: number;
  lastIndexedPhy: number;
  lastFile: string;
  header: IndexHeader | undefined;
}

export interface IndexStats {
  indexFiles: number;
  indexEntries: number;
  /** Commit-log offset of the last indexed record, −1 when none. */
  lastIndexedPhyOffset: number;
}

export class IndexService {
  readonly #dir: string;
  readonly #slotNum: number;
  readonly #indexNum: number;
  readonly #logger: StoreLogger;
  readonly #now: () => number;
  #files: IndexFile[] = [];
  /** Records at or below this commit-log offset are indexed already (re-dispatch skips them). */
  #lastIndexedPhy = -1;
  #lastCheckpointJson = '';

  constructor(o: IndexServiceOptions) {
    const positive = (key: string, v: number | undefined, dflt: number, min: number): number => {
      const value = v ?? dflt;
      if (!Number.isSafeInteger(value) || value < min || value > 0x7fffffff) throw new ConfigError(`${key} must be an integer in [${min}, 2147483647], got ${String(v)}`);
      return value;
    };
    this.#dir = o.dir;
    this.#slotNum = positive('maxHashSlotNum', o.maxHashSlotNum, DEFAULT_MAX_HASH_SLOT_NUM, 1);
    // Entry 0 is never used, so a file needs room for two to hold one key.
    this.#indexNum = positive('maxIndexNum', o.maxIndexNum, DEFAULT_MAX_INDEX_NUM, 2);
    this.#logger = o.logger;
    this.#now = o.now ?? Date.now;
  }

  /**
   * Opens the files and repairs them after a crash. Returns the commit-log offset to
   * re-dispatch records to the index from (0: from the start of the commit log).
   */
  load(crashed: boolean): number {
    mkdirSync(this.#dir, { recursive: true });
    const names = readdirSync(this.#dir).filter((n) => FILE_NAME.test(n)).sort();
    const cp = this.#readCheckpoint();
    const dropAll = (why: string): number => {
      for (const f of this.#files) f.close();
      this.#files = [];
      for (const n of names) rmSync(join(this.#dir, n), { force: true });
      this.#lastIndexedPhy = -1;
      this.#lastCheckpointJson = '';
      if (names.length > 0) this.#logger.warn({ files: names.length, reason: why }, 'message index dropped; rebuilding it from the commit log');
      return 0;
    };
    if (typeof cp === 'string') return dropAll(cp);
    if (cp.lastFile !== '' && !names.includes(cp.lastFile)) return dropAll(`index file ${cp.lastFile} of the checkpoint is missing`);
    let dropped = 0;
    try {
      for (const n of names) {
        if (cp.lastFile === '' || n > cp.lastFile) {
          // Created after the last checkpoint: its keys are re-dispatched.
          this.#removeFile(n);
          dropped++;
          continue;
        }
        this.#files.push(IndexFile.open(join(this.#dir, n), this.#slotNum, this.#indexNum));
      }
    } catch (err) {
      return dropAll(err instanceof Error ? err.message : String(err));
    }
    const last = this.#files.at(-1);
    if (last && cp.header && (crashed || !sameHeader(last.header, cp.header))) last.rebuild(cp.header);
    this.#lastIndexedPhy = cp.lastIndexedPhy;
    this.#lastCheckpointJson = JSON.stringify(cp);
    if (dropped > 0) this.#logger.warn({ files: dropped }, 'message index: removed files newer than its checkpoint');
    return cp.indexedTo;
  }

  /** Dispatch (Java CommitLogDispatcherBuildIndex): indexes one stored record's keys. */
  build(topic: string, sysFlag: number, properties: string, phyOffset: number, storeTimestamp: number): void {
    if (phyOffset <= this.#lastIndexedPhy) return;
    const keys = keysToIndex(sysFlag, properties);
    if (keys.length === 0) return;
    for (const k of keys) this.#putKey(indexKey(topic, k), phyOffset, storeTimestamp);
    this.#lastIndexedPhy = phyOffset;
  }

  #putKey(key: string, phyOffset: number, storeTimestamp: number): void {
    let f = this.#files.at(-1);
    if (f?.putKey(key, phyOffset, storeTimestamp)) return;
    f = this.#newFile(f);
    f.putKey(key, phyOffset, storeTimestamp);
  }

  #newFile(prev: IndexFile | undefined): IndexFile {
    let name = humanTime(this.#now());
    const lastName = this.#files.at(-1)?.name;
    // Names must sort in creation order even when two files start in one millisecond.
    if (lastName !== undefined && name <= lastName) name = (BigInt(lastName) + 1n).toString().padStart(17, '0');
    const f = IndexFile.create(join(this.#dir, name), this.#slotNum, this.#indexNum, prev?.header.endPhyOffset ?? 0, prev?.header.endTimestamp ?? 0);
    this.#files.push(f);
    if (prev) this.#logger.info({ file: name, previous: prev.name, entries: prev.entryCount }, 'message index: file full, started a new one');
    return f;
  }

  /** Java IndexService.queryOffset: newest file first, stopping at maxNum (≤ 64) hits. */
  query(topic: string, key: string, maxNum: number, begin: number, end: number): IndexQueryResult {
    const out: number[] = [];
    const limit = Math.min(maxNum, MAX_MSGS_NUM_BATCH);
    const last = this.#files.at(-1);
    const result: IndexQueryResult = {
      physicalOffsets: out,
      indexLastUpdateTimestamp: last?.header.endTimestamp ?? 0,
      indexLastUpdatePhyoffset: last?.header.endPhyOffset ?? 0,
    };
    if (limit <= 0) return result;
    const k = indexKey(topic, key);
    for (let i = this.#files.length - 1; i >= 0; i--) {
      const f = this.#files[i]!;
      if (f.isTimeMatched(begin, end)) f.selectPhyOffset(out, k, limit, begin, end);
      if (f.header.beginTimestamp < begin || out.length >= limit) break;
    }
    return result;
  }

  /**
   * Checkpoint: every record below `indexedTo` has been dispatched. Writes and fsyncs the files,
   * then records the state (the checkpoint only ever names fsynced entries).
   */
  async flush(indexedTo: number): Promise<void> {
    const written = this.#files.filter((f) => f.writePending());
    const last = this.#files.at(-1);
    const cp: IndexCheckpoint = {
      version: 1,
      indexedTo,
      lastIndexedPhy: this.#lastIndexedPhy,
      lastFile: last?.name ?? '',
      header: last ? { ...last.header } : undefined,
    };
    const json = JSON.stringify(cp);
    if (written.length === 0 && json === this.#lastCheckpointJson) return;
    await Promise.all(written.map((f) => f.sync()));
    const tmp = join(this.#dir, `${CHECKPOINT_FILE}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(json);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.#dir, CHECKPOINT_FILE));
    this.#lastCheckpointJson = json;
    for (const f of this.#files) if (f !== last && f.full) f.release();
  }

  /** Retention: drops files (never the last) whose entries all point below `commitLogMin`. */
  deleteExpired(commitLogMin: number): DeletedFile[] {
    const deleted: DeletedFile[] = [];
    while (this.#files.length > 1 && this.#files[0]!.header.endPhyOffset < commitLogMin) {
      const f = this.#files.shift()!;
      f.destroy();
      deleted.push({ path: f.path, bytes: f.fileSize });
    }
    if (deleted.length > 0) this.#logger.info({ files: deleted.length, commitLogMin }, 'message index: deleted expired files');
    return deleted;
  }

  /** Demotion cut: forgets every key of records at or past `phyOffset`. Returns entries removed. */
  truncate(phyOffset: number): number {
    let removed = 0;
    while (this.#files.length > 0) {
      const f = this.#files.at(-1)!;
      removed += f.rollbackTo(phyOffset);
      if (f.entryCount > 0 || this.#files.length === 1) break;
      this.#files.pop();
      f.destroy();
    }
    this.#lastIndexedPhy = Math.min(this.#lastIndexedPhy, phyOffset - 1);
    return removed;
  }

  stats(): IndexStats {
    let entries = 0;
    for (const f of this.#files) entries += f.entryCount;
    return { indexFiles: this.#files.length, indexEntries: entries, lastIndexedPhyOffset: this.#lastIndexedPhy };
  }

  close(): void {
    for (const f of this.#files) f.close();
    this.#files = [];
  }

  #removeFile(name: string): void {
    rmSync(join(this.#dir, name), { force: true });
  }

  #readCheckpoint(): IndexCheckpoint | string {
    const path = join(this.#dir, CHECKPOINT_FILE);
    if (!existsSync(path)) return 'no index checkpoint';
    try {
      const cp = JSON.parse(readFileSync(path, 'utf8')) as Partial<IndexCheckpoint>;
      const int = (v: unknown): boolean => Number.isSafeInteger(v);
      if (cp.version !== 1 || !int(cp.indexedTo) || !int(cp.lastIndexedPhy) || typeof cp.lastFile !== 'string') return 'index checkpoint is malformed';
      return { version: 1, indexedTo: cp.indexedTo!, lastIndexedPhy: cp.lastIndexedPhy!, lastFile: cp.lastFile, header: cp.header ?? undefined };
    } catch (err) {
      return `index checkpoint unreadable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}

function sameHeader(a: Readonly<IndexHeader>, b: Readonly<IndexHeader>): boolean {
  return (
    a.beginTimestamp === b.beginTimestamp &&
    a.endTimestamp === b.endTimestamp &&
    a.beginPhyOffset === b.beginPhyOffset &&
    a.endPhyOffset === b.endPhyOffset &&
    a.hashSlotCount === b.hashSlotCount &&
    a.indexCount === b.indexCount
  );
}

/** UtilAll.timeMillisToHumanString: yyyyMMddHHmmssSSS in local time, Java's index file name. */
export function humanTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}${p(d.getMilliseconds(), 3)}`;
}

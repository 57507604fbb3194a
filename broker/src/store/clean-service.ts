// Retention and disk-space protection (Java: DefaultMessageStore.CleanCommitLogService and
// ConsumeQueueStore.CleanConsumeQueueService). Every cleanResourceInterval ms one round:
//
//   1. probe the disk holding the store: used / (used + available), as `df` and Java's
//      UtilAll.getDiskPartitionSpaceUsedPercent compute it;
//   2. above diskSpaceWarningLevelRatio the store refuses puts (SERVICE_NOT_AVAILABLE, "disk
//      full") until a later probe finds the disk below it again;
//   3. delete commit-log segments, oldest first, at most deleteFileBatchMax per round:
//        - at a deleteWhen hour, above diskMaxUsedSpaceRatio, or after a manual request:
//          segments last modified more than fileReservedTime hours ago;
//        - above diskSpaceCleanForciblyRatio: also unexpired ones, but only as many as needed to
//          bring the projected usage back under that ratio;
//      stopping at the first segment that may not go (nothing is deleted from the middle). The
//      store never offers the segment being written, nor anything not yet flushed and
//      checkpointed;
//   4. once the commit-log min offset moved: delete consume-queue files whose entries all point
//      below it and advance each queue's min offset.
//
// The thresholds follow Java's three tiers (MessageStoreConfig: diskMaxUsedSpaceRatio 75,
// diskSpaceCleanForciblyRatio 85, diskSpaceWarningLevelRatio 90, clamped as Java clamps them).
// The round itself is synchronous: reads are synchronous too, so no read ever sees a segment
// half-deleted; a read of a deleted offset finds no data (OFFSET_TOO_SMALL / missing record).
import { statfsSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { LogThrottle } from './store-common.js';
import type { StoreLogger } from './store-common.js';

/** Space on the file system holding a store path (bytes). */
export interface DiskUsage {
  /** Bytes in use (total minus free, root-reserved blocks counted as used). */
  usedBytes: number;
  /** usedBytes plus the bytes still available to this process. */
  totalBytes: number;
}

/** Measures the disk holding `path`. Tests inject one; the default uses statfs. */
export type DiskUsageProbe = (path: string) => DiskUsage;

/** statfs(2) on `path`: used = blocks − bfree, total = used + bavail (what `df` shows). */
export const statfsDiskUsage: DiskUsageProbe = (path) => {
  const s = statfsSync(path);
  const used = (s.blocks - s.bfree) * s.bsize;
  return { usedBytes: used, totalBytes: used + s.bavail * s.bsize };
};

/** A commit-log segment the store would let the service delete. */
export interface CleanableSegment {
  start: number;
  bytes: number;
  /** File modification time, ms (Java: MappedFile.getLastModifiedTimestamp). */
  lastModifiedMs: number;
}

export interface DeletedFile {
  path: string;
  bytes: number;
}

/** What the store lets the service see and do. */
export interface CleanTarget {
  /**
   * Segments that may be deleted, oldest first and contiguous from the head of the log: never
   * the segment being written, only segments wholly flushed and covered by a checkpoint.
   */
  cleanableSegments(): CleanableSegment[];
  /** Deletes the `count` oldest segments (a prefix of cleanableSegments()); returns them. */
  deleteSegments(count: number): DeletedFile[];
  commitLogMinOffset(): number;
  /**
   * Advances every consume queue's min offset past entries below `commitLogMin` and deletes the
   * files wholly below it. `pending` when some file could not be deleted now (retried next round).
   */
  cleanConsumeQueues(commitLogMin: number): { files: DeletedFile[]; pending: boolean };
  /** Runs before each round's decisions (the store writes a checkpoint so more is deletable). */
  prepare(): Promise<void>;
}

export interface CleanServiceOptions {
  /** Hours a commit-log segment is kept after its last modification (default 72). */
  fileReservedTime?: number;
  /** Hours of the day (local time, "04" or "04;16") when expired segments are deleted (default "04"). */
  deleteWhen?: string;
  /** Percent: above it expired segments are deleted at any hour (default 75, clamped to [10, 95]). */
  diskMaxUsedSpaceRatio?: number;
  /** Percent: above it unexpired segments are deleted too, oldest first (default 85, clamped to [30, 85]). */
  diskSpaceCleanForciblyRatio?: number;
  /** Percent: above it puts are refused as "disk full" (default 90, clamped to [35, 90]). */
  diskSpaceWarningLevelRatio?: number;
  /** Interval between rounds, ms (default 10 000). */
  cleanResourceInterval?: number;
  /** Most segments deleted in one round (default 10). */
  deleteFileBatchMax?: number;
  /** Wall clock, ms (default Date.now): expiry and the deleteWhen hour. */
  clock?: () => number;
  /** Disk probe (default statfs on the store paths). */
  diskUsage?: DiskUsageProbe;
}

export type CleanReason = 'expired' | 'disk-usage' | 'forced' | 'manual' | 'consume-queue';

export interface CleanRoundResult {
  /** Highest usage ratio (0..1) of the probed paths, undefined when the probe failed. */
  diskUsageRatio: number | undefined;
  diskFull: boolean;
  /** Why segments were deleted; undefined when none were. */
  reason: CleanReason | undefined;
  commitLogFiles: DeletedFile[];
  consumeQueueFiles: DeletedFile[];
  commitLogMinOffset: number;
}

export interface CleanStats {
  diskUsageRatio: number | undefined;
  diskFull: boolean;
  /** Clock time of the last completed round, 0 before the first. */
  lastCleanAt: number;
  commitLogFilesDeleted: number;
  consumeQueueFilesDeleted: number;
  bytesDeleted: number;
}

const HOUR_MS = 3_600_000;
/** Rounds in which expired files are deleted at any hour after a manual request (Java MAX_MANUAL_DELETE_FILE_TIMES). */
const MANUAL_DELETE_ROUNDS = 20;
const WARN_INTERVAL_MS = 60_000;

function clampRatio(logger: StoreLogger, key: string, value: number | undefined, dflt: number, lo: number, hi: number): number {
  const v = value ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${key} must be a percentage, got ${String(value)}`);
  const clamped = Math.min(hi, Math.max(lo, v));
  if (clamped !== v) logger.warn({ [key]: v, effective: clamped }, `${key} is outside [${lo}, ${hi}]; clamped as Java does`);
  return clamped / 100;
}

/** Parses deleteWhen ("04", "04;16") into hours of the day. */
export function parseDeleteWhen(deleteWhen: string): Set<number> {
  const hours = new Set<number>();
  for (const part of deleteWhen.split(';')) {
    const h = Number(part.trim());
    if (!/^\s*\d{1,2}\s*$/.test(part) || h > 23) {
      throw new ConfigError(`deleteWhen must be hours of the day like "04" or "04;16", got "${deleteWhen}"`);
    }
    hours.add(h);
  }
  return hours;
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export class CleanService {
  readonly #target: CleanTarget;
  readonly #paths: readonly string[];
  readonly #logger: StoreLogger;
  readonly #reservedMs: number;
  readonly #deleteHours: Set<number>;
  readonly #maxUsedRatio: number;
  readonly #forciblyRatio: number;
  readonly #warningRatio: number;
  readonly #intervalMs: number;
  readonly #batchMax: number;
  readonly #clock: () => number;
  readonly #probe: DiskUsageProbe;

  #timer: NodeJS.Timeout | undefined;
  #running: Promise<CleanRoundResult> | undefined;
  #stopped = false;
  #manualRounds = 0;
  /** Commit-log min offset the consume queues were last cleaned for (-1: never, so the first round checks them). */
  #cqCleanedFor = -1;
  #cqPending = false;
  #ratio: number | undefined;
  #diskFull = false;
  #lastCleanAt = 0;
  #clFiles = 0;
  #cqFiles = 0;
  #bytes = 0;
  readonly #probeErrors = new LogThrottle(WARN_INTERVAL_MS);
  readonly #stuckWarnings = new LogThrottle(WARN_INTERVAL_MS);

  constructor(options: CleanServiceOptions, deps: { target: CleanTarget; paths: readonly string[]; logger: StoreLogger }) {
    this.#target = deps.target;
    this.#paths = [...new Set(deps.paths)];
    this.#logger = deps.logger;
    const reserved = options.fileReservedTime ?? 72;
    if (typeof reserved !== 'number' || !Number.isFinite(reserved) || reserved < 0) {
      throw new ConfigError(`fileReservedTime must be a non-negative number of hours, got ${String(options.fileReservedTime)}`);
    }
    this.#reservedMs = reserved * HOUR_MS;
    this.#deleteHours = parseDeleteWhen(options.deleteWhen ?? '04');
    this.#maxUsedRatio = clampRatio(this.#logger, 'diskMaxUsedSpaceRatio', options.diskMaxUsedSpaceRatio, 75, 10, 95);
    this.#forciblyRatio = clampRatio(this.#logger, 'diskSpaceCleanForciblyRatio', options.diskSpaceCleanForciblyRatio, 85, 30, 85);
    this.#warningRatio = clampRatio(this.#logger, 'diskSpaceWarningLevelRatio', options.diskSpaceWarningLevelRatio, 90, 35, 90);
    const positive = (key: string, v: number | undefined, dflt: number): number => {
      const value = v ?? dflt;
      if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${key} must be a positive integer, got ${String(v)}`);
      return value;
    };
    this.#intervalMs = positive('cleanResourceInterval', options.cleanResourceInterval, 10_000);
    this.#batchMax = positive('deleteFileBatchMax', options.deleteFileBatchMax, 10);
    this.#clock = options.clock ?? Date.now;
    this.#probe = options.diskUsage ?? statfsDiskUsage;
  }

  /** Probes the disk once (so a full disk refuses puts from the start) and starts the rounds. */
  start(): void {
    this.#stopped = false;
    this.#measure();
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.runRound().catch((err: unknown) => this.#logger.error({ err }, 'clean round failed'));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops the rounds; resolves once a running one has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#running) await this.#running.catch(noop);
  }

  /** Java executeDeleteFilesManually (admin deleteExpiredCommitLog): the next rounds delete expired files at any hour. */
  deleteExpiredFilesManually(): void {
    this.#manualRounds = MANUAL_DELETE_ROUNDS;
  }

  /** Why puts are refused right now, or undefined when the disk is below the warning level. */
  get diskFullRemark(): string | undefined {
    if (!this.#diskFull) return undefined;
    return (
      `disk full: ${pct(this.#ratio ?? 1)} of the disk holding the store is used, above diskSpaceWarningLevelRatio ` +
      `${Math.round(this.#warningRatio * 100)}%; puts are refused until old commit-log files are deleted or space is freed`
    );
  }

  stats(): CleanStats {
    return {
      diskUsageRatio: this.#ratio,
      diskFull: this.#diskFull,
      lastCleanAt: this.#lastCleanAt,
      commitLogFilesDeleted: this.#clFiles,
      consumeQueueFilesDeleted: this.#cqFiles,
      bytesDeleted: this.#bytes,
    };
  }

  /** One round now (the timer calls this too). Rounds never overlap. */
  runRound(): Promise<CleanRoundResult> {
    if (this.#running) return this.#running;
    const run = this.#round().finally(() => {
      this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #round(): Promise<CleanRoundResult> {
    try {
      await this.#target.prepare();
    } catch (err) {
      // Deletion is bounded by the last good checkpoint anyway.
      this.#logger.warn({ err }, 'clean round: checkpoint before cleaning failed');
    }
    const usage = this.#measure();
    const result: CleanRoundResult = {
      diskUsageRatio: usage?.ratio,
      diskFull: this.#diskFull,
      reason: undefined,
      commitLogFiles: [],
      consumeQueueFiles: [],
      commitLogMinOffset: this.#target.commitLogMinOffset(),
    };
    if (this.#stopped) return result;
    const now = this.#clock();
    this.#deleteSegments(now, usage, result);
    this.#cleanConsumeQueues(result);
    const deleted = [...result.commitLogFiles, ...result.consumeQueueFiles];
    if (deleted.length > 0) {
      const bytes = deleted.reduce((n, f) => n + f.bytes, 0);
      this.#clFiles += result.commitLogFiles.length;
      this.#cqFiles += result.consumeQueueFiles.length;
      this.#bytes += bytes;
      result.reason ??= 'consume-queue';
      // Deleting frees space: measure again so puts resume at once when they can.
      if (result.commitLogFiles.length > 0) {
        result.diskUsageRatio = this.#measure()?.ratio;
        result.diskFull = this.#diskFull;
      }
      this.#logger.info(
        {
          reason: result.reason,
          commitLogFiles: result.commitLogFiles.length,
          consumeQueueFiles: result.consumeQueueFiles.length,
          bytes,
          commitLogMinOffset: result.commitLogMinOffset,
          diskUsage: usage ? pct(usage.ratio) : undefined,
        },
        `retention: deleted ${result.commitLogFiles.length} commit-log and ${result.consumeQueueFiles.length} consume-queue files (${bytes} bytes, ${result.reason})`,
      );
    }
    this.#lastCleanAt = now;
    return result;
  }

  #deleteSegments(now: number, usage: { used: number; total: number; ratio: number } | undefined, result: CleanRoundResult): void {
    const timeUp = this.#deleteHours.has(new Date(now).getHours());
    const overMax = usage !== undefined && usage.ratio > this.#maxUsedRatio;
    const forced = usage !== undefined && usage.ratio > this.#forciblyRatio;
    const manual = this.#manualRounds > 0;
    if (manual) this.#manualRounds--;
    if (!timeUp && !overMax && !forced && !manual) return;

    const segments = this.#target.cleanableSegments();
    let used = usage?.used ?? 0;
    let count = 0;
    let forcedAny = false;
    for (const seg of segments) {
      if (count >= this.#batchMax) break;
      const expired = now >= seg.lastModifiedMs + this.#reservedMs;
      // Unexpired data goes only while the projected usage is still above the forcing level.
      const force = forced && usage !== undefined && used / usage.total > this.#forciblyRatio;
      if (!expired && !force) break;
      if (!expired) forcedAny = true;
      used -= seg.bytes;
      count++;
    }
    if (count > 0) {
      result.commitLogFiles = this.#target.deleteSegments(count);
      result.commitLogMinOffset = this.#target.commitLogMinOffset();
      result.reason = forcedAny ? 'forced' : timeUp ? 'expired' : overMax ? 'disk-usage' : 'manual';
    }
    if (result.commitLogFiles.length === 0 && overMax && usage) {
      const suppressed = this.#stuckWarnings.allow();
      if (suppressed >= 0) {
        this.#logger.warn(
          { diskUsage: pct(usage.ratio), diskMaxUsedSpaceRatio: Math.round(this.#maxUsedRatio * 100), cleanable: segments.length, suppressed },
          forced
            ? 'disk space is nearly full but no commit-log file can be deleted (only the active segment, or unflushed data, is left)'
            : 'disk usage is above diskMaxUsedSpaceRatio but no commit-log file has expired yet',
        );
      }
    }
  }

  #cleanConsumeQueues(result: CleanRoundResult): void {
    const min = result.commitLogMinOffset;
    if (min === this.#cqCleanedFor && !this.#cqPending) return;
    const { files, pending } = this.#target.cleanConsumeQueues(min);
    this.#cqCleanedFor = min;
    this.#cqPending = pending;
    result.consumeQueueFiles = files;
  }

  /** Probes every store path; keeps the highest ratio and updates the disk-full flag. */
  #measure(): { used: number; total: number; ratio: number } | undefined {
    let worst: { used: number; total: number; ratio: number } | undefined;
    for (const path of this.#paths) {
      let u: DiskUsage;
      try {
        u = this.#probe(path);
      } catch (err) {
        const suppressed = this.#probeErrors.allow();
        if (suppressed >= 0) this.#logger.warn({ err, path, suppressed }, 'cannot measure disk usage; disk-space protection is off until it works');
        continue;
      }
      if (!(u.totalBytes > 0)) continue;
      const ratio = u.usedBytes / u.totalBytes;
      if (!worst || ratio > worst.ratio) worst = { used: u.usedBytes, total: u.totalBytes, ratio };
    }
    this.#ratio = worst?.ratio;
    const full = worst !== undefined && worst.ratio > this.#warningRatio;
    if (full !== this.#diskFull) {
      this.#diskFull = full;
      const details = { diskUsage: worst ? pct(worst.ratio) : undefined, diskSpaceWarningLevelRatio: Math.round(this.#warningRatio * 100) };
      if (full) this.#logger.error(details, 'disk is nearly full: refusing puts until space is freed');
      else this.#logger.info(details, 'disk space is OK again: accepting puts');
    }
    return worst;
  }
}

function noop(): void {}

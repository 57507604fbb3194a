// The file operations on the store's write path, behind an interface so tests can inject faults
// (ENOSPC, EIO, slow fsync) and count fsyncs. The interface is asynchronous; the Node implementation
// writes synchronously (see writev) and syncs asynchronously. Reads and start-up work use node:fs
// synchronously: reads must be synchronous (getMessages is), and start-up is one-off.
import { close, fdatasync, ftruncate, open, writevSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';

export interface StoreIo {
  /** Opens a file for positional reads and writes ('r+': must exist, 'w+': create or truncate). */
  open(path: string, flags: 'r+' | 'w+'): Promise<number>;
  /** Positional gather write; resolves with the bytes written (may be short, e.g. disk full). */
  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<number>;
  /** Makes written data durable (fdatasync: data plus the metadata needed to read it back). */
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  /** Makes a directory entry (a new file) durable. */
  syncDir(path: string): Promise<void>;
}

export const nodeStoreIo: StoreIo = {
  open: (path, flags) =>
    new Promise((resolve, reject) => open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)))),
  // Synchronous on purpose: a positional write into the page cache takes microseconds (it is what
  // Java's memcpy into its mapped file costs), while the thread-pool hop of an async write adds two
  // thread switches and an event-loop wake-up to every batch. Measured with `npm run bench`: 12-27 %
  // less broker CPU per message (docs/benchmarks.md). fsync stays asynchronous.
  writev: (fd, buffers, position) => {
    try {
      return Promise.resolve(writevSync(fd, buffers, position));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  },
  fsync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) =>
    new Promise((resolve, reject) => ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
  close: (fd) => new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve()))),
  syncDir: async (path) => {
    const handle = await openAsync(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Linux IOV_MAX: the most buffers one writev system call takes. */
const MAX_IOV = 1024;

/**
 * Writes every byte of `buffers` at `position`, retrying short writes. A write that makes no
 * progress fails with ENOSPC, which is what a short write means on a full disk.
 */
export async function writeFully(io: StoreIo, fd: number, buffers: readonly Buffer[], position: number): Promise<void> {
  let idx = 0;
  let skip = 0; // bytes of buffers[idx] already written
  let pos = position;
  while (idx < buffers.length) {
    const chunk: Buffer[] = [];
    for (let k = idx; k < buffers.length && chunk.length < MAX_IOV; k++) {
      const b = buffers[k]!;
      chunk.push(k === idx && skip > 0 ? b.subarray(skip) : b);
    }
    const n = await io.writev(fd, chunk, pos);
    if (n <= 0) throw errnoError('ENOSPC', `short write at position ${pos}: no bytes written`);
    pos += n;
    let left = n;
    while (left > 0 && idx < buffers.length) {
      const avail = buffers[idx]!.length - skip;
      if (left >= avail) {
        left -= avail;
        idx++;
        skip = 0;
      } else {
        skip += left;
        left = 0;
      }
    }
    while (idx < buffers.length && buffers[idx]!.length === 0) idx++;
  }
}

export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  err.code = code;
  return err;
}

/** "ENOSPC: no space left on device, write" style text for remarks and logs. */
export function describeIoError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

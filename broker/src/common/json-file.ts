// Config tables persisted as JSON the way RocketMQ keeps them: the previous version survives as
// <file>.bak, a new version is written to a temp file, fsynced and renamed into place, so a
// crash leaves either the old or the new file, never a torn one.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseLenientJson } from './json.js';

export function readJsonFile(path: string): unknown {
  for (const candidate of [path, `${path}.bak`]) {
    if (!existsSync(candidate)) continue;
    const text = readFileSync(candidate, 'utf8');
    if (text.trim() === '') continue;
    try {
      return parseLenientJson(text);
    } catch {
      // corrupt: try the backup
    }
  }
  return undefined;
}

export function writeJsonFile(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (existsSync(path)) renameSync(path, `${path}.bak`);
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

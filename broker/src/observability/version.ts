// Versions reported by /status, /metrics and GET_BROKER_RUNTIME_INFO.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The RocketMQ release whose protocol we speak (MQVersion name of SERVER_VERSION). */
export const ROCKETMQ_VERSION = 'V5_3_3';

/** This project's version from its package.json (found above this file in src/ and dist/ layouts). */
export const PRODUCT_VERSION = readProductVersion();

function readProductVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rocketmq-ts' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one directory up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'unknown';
}

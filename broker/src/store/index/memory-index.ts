// The memory store's message index: the same keys and query rules as the file index
// (index-keys.ts), exact store times instead of Java's second-granular ones. Never evicted,
// like the memory store itself.
import { MAX_MSGS_NUM_BATCH, indexKey, keysToIndex } from './index-keys.js';
import type { IndexQueryResult } from './index-keys.js';

interface Hit {
  phyOffset: number;
  storeTimestamp: number;
}

export class MemoryIndex {
  readonly #byKey = new Map<string, Hit[]>();
  #lastTimestamp = 0;
  #lastPhyOffset = 0;

  build(topic: string, sysFlag: number, properties: string, phyOffset: number, storeTimestamp: number): void {
    const keys = keysToIndex(sysFlag, properties);
    if (keys.length === 0) return;
    for (const k of keys) {
      const key = indexKey(topic, k);
      let hits = this.#byKey.get(key);
      if (!hits) this.#byKey.set(key, (hits = []));
      hits.push({ phyOffset, storeTimestamp });
    }
    this.#lastTimestamp = storeTimestamp;
    this.#lastPhyOffset = phyOffset;
  }

  /** Newest first, at most min(maxNum, 64), store time within [begin, end]. */
  query(topic: string, key: string, maxNum: number, begin: number, end: number): IndexQueryResult {
    const out: number[] = [];
    const limit = Math.min(maxNum, MAX_MSGS_NUM_BATCH);
    const hits = this.#byKey.get(indexKey(topic, key)) ?? [];
    for (let i = hits.length - 1; i >= 0 && out.length < limit; i--) {
      const h = hits[i]!;
      if (h.storeTimestamp < begin) break;
      if (h.storeTimestamp <= end) out.push(h.phyOffset);
    }
    return { physicalOffsets: out, indexLastUpdateTimestamp: this.#lastTimestamp, indexLastUpdatePhyoffset: this.#lastPhyOffset };
  }
}

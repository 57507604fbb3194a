// MessageStore.queues() for any store: every queue's offset bounds, read from the store's own
// per-queue state.
import type { QueueBounds } from './message-store.js';

/** A snapshot (copied values, not live objects) of each topic's queues' bounds. */
export function queueBoundsTable<Q>(queues: ReadonlyMap<string, ReadonlyMap<number, Q>>, boundsOf: (queue: Q) => QueueBounds): Map<string, Map<number, QueueBounds>> {
  const out = new Map<string, Map<number, QueueBounds>>();
  for (const [topic, byQueue] of queues) {
    const m = new Map<number, QueueBounds>();
    for (const [queueId, queue] of byQueue) {
      const { minOffset, maxOffset } = boundsOf(queue);
      m.set(queueId, { minOffset, maxOffset });
    }
    out.set(topic, m);
  }
  return out;
}

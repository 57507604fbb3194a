// Long polling: a pull that finds nothing new is parked per topic@queue until a message for
// that queue arrives (and passes the request's tag filter) or its suspend timeout ends; then
// the pull runs again and its result is the response.
import type { DispatchedMessage } from '../store/message-store.js';

export interface HeldPull {
  topic: string;
  queueId: number;
  /** The offset the consumer asked for: only messages at or past it wake the request. */
  offset: number;
  tagsFilter: ((tagsCode: number) => boolean) | undefined;
  /** Runs the pull again (without suspending) and sends its response. */
  wake: () => void;
  timer?: NodeJS.Timeout;
  done: boolean;
}

export class PullRequestHoldService {
  readonly #held = new Map<string, Set<HeldPull>>();

  /** Parks `pull` for at most `timeoutMs`; `wake` runs exactly once. */
  hold(pull: HeldPull, timeoutMs: number): void {
    const key = `${pull.topic}@${pull.queueId}`;
    let set = this.#held.get(key);
    if (!set) this.#held.set(key, (set = new Set()));
    set.add(pull);
    pull.timer = setTimeout(() => this.#release(key, pull), Math.max(0, timeoutMs));
  }

  /** Called for each dispatched message: wakes the matching parked pulls. */
  onDispatch(msg: DispatchedMessage): void {
    const key = `${msg.topic}@${msg.queueId}`;
    const set = this.#held.get(key);
    if (!set) return;
    for (const pull of set) {
      if (msg.queueOffset < pull.offset) continue;
      if (pull.tagsFilter && !pull.tagsFilter(msg.tagsCode)) continue;
      // Off the store's append path: the pull re-reads the queue on the next turn.
      setImmediate(() => this.#release(key, pull));
    }
  }

  get size(): number {
    let n = 0;
    for (const s of this.#held.values()) n += s.size;
    return n;
  }

  /** Answers every parked pull now (shutdown). */
  releaseAll(): void {
    for (const [key, set] of this.#held) for (const pull of set) this.#release(key, pull);
  }

  #release(key: string, pull: HeldPull): void {
    if (pull.done) return;
    pull.done = true;
    clearTimeout(pull.timer);
    const set = this.#held.get(key);
    set?.delete(pull);
    if (set && set.size === 0) this.#held.delete(key);
    pull.wake();
  }
}

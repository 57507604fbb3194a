// Kubernetes Events (core/v1) for every action a user should see in `kubectl describe`:
// restarts with their reason, drains, invalid specs, applied topics, blockers. Identical events
// (same object, reason and message) within `dedupWindowMs` are recorded once, so a reconcile
// that keeps finding the same problem does not flood the namespace.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApi } from './kube.js';

export type EventType = 'Normal' | 'Warning';

/** What reconcilers use; tests collect the calls. */
export interface EventRecorder {
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
}

export const COMPONENT = 'rmq-ts-operator';

export class KubeEventRecorder implements EventRecorder {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #dedupWindowMs: number;
  readonly #recent = new Map<string, number>();
  readonly #host: string;
  #seq = 0;
  recorded = 0;

  constructor(api: KubeApi, log: Logger, opts: { dedupWindowMs?: number; host?: string } = {}) {
    this.#api = api;
    this.#log = log;
    this.#dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000;
    this.#host = opts.host ?? '';
  }

  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const meta = obj.metadata ?? {};
    const now = Date.now();
    const dedupKey = `${meta.uid ?? ''}|${reason}|${message}`;
    const last = this.#recent.get(dedupKey);
    if (last !== undefined && now - last < this.#dedupWindowMs) return;
    this.#recent.set(dedupKey, now);
    if (this.#recent.size > 5_000) {
      for (const [k, t] of this.#recent) if (now - t >= this.#dedupWindowMs) this.#recent.delete(k);
    }
    const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${meta.name ?? 'object'}.${now.toString(16)}${(this.#seq++ % 4096).toString(16)}`, namespace: meta.namespace ?? 'default' },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: COMPONENT, host: this.#host },
      reportingComponent: COMPONENT,
      reportingInstance: this.#host || COMPONENT,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    this.recorded++;
    this.#log.info({ object: `${obj.kind ?? ''}/${meta.namespace ?? ''}/${meta.name ?? ''}`, type, reason, message }, 'event');
    this.#api.create(event).catch((err: unknown) => this.#log.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'could not record event'));
  }
}

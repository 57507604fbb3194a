// The typed access layer between the operator and the Kubernetes API server: a small interface
// (KubeApi) that reconcilers, informers, the event recorder and leader election use, and tests
// replace with an in-memory fake. The HTTP implementation (HttpKubeApi) sends plain REST calls
// with client-node's KubeConfig for authentication (in-cluster token or KUBECONFIG), so we
// control content types (server-side apply, JSON patch) and the watch stream ourselves instead
// of depending on the generated clients' quirks (client-node #995, #1398).
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION } from '../api/v1alpha1/common.js';

/** The field manager of every server-side apply the operator sends (visible in managedFields). */
export const FIELD_MANAGER = 'rmq-ts-operator';

/** A resource type: where its REST path is and whether it lives in a namespace. */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const rt = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType => ({ apiVersion, kind, plural, namespaced });

/** Every resource type the operator reads or writes. */
export const R = {
  nameServer: rt(API_VERSION, 'NameServer', 'nameservers'),
  brokerGroup: rt(API_VERSION, 'BrokerGroup', 'brokergroups'),
  topic: rt(API_VERSION, 'Topic', 'topics'),
  statefulSet: rt('apps/v1', 'StatefulSet', 'statefulsets'),
  pod: rt('v1', 'Pod', 'pods'),
  service: rt('v1', 'Service', 'services'),
  configMap: rt('v1', 'ConfigMap', 'configmaps'),
  event: rt('v1', 'Event', 'events'),
  podDisruptionBudget: rt('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  lease: rt('coordination.k8s.io/v1', 'Lease', 'leases'),
} as const;

/** The resource type of an object by its apiVersion and kind (for apply). */
export function resourceTypeOf(obj: KubernetesObject): ResourceType {
  const found = Object.values(R).find((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind);
  if (!found) throw new Error(`the operator does not manage ${obj.apiVersion ?? '?'}/${obj.kind ?? '?'}`);
  return found;
}

/** REST path of a collection (no name) or an object, optionally a subresource. */
export function resourcePath(r: ResourceType, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  const sub = subresource !== undefined ? `/${subresource}` : '';
  return `${base}${ns}/${r.plural}${obj}${sub}`;
}

/** An API server error answer: `status` is the HTTP status, `reason` the Status reason (e.g. Conflict). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
/** 410 Gone: the resourceVersion a watch asked for is no longer in the API server's window. */
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.status === 410;

export interface ListResult<T> {
  items: T[];
  /** The list's resourceVersion: where a watch continues from. */
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  /** The object; for ERROR a metav1.Status. */
  object: T;
}

export interface WatchHandle {
  /** Settles when the stream ends: resolves on a clean close, rejects on a transport error. */
  done: Promise<void>;
  /** Ends the stream (the watchdog uses it on silent watches). */
  abort(): void;
}

export interface ListOptions {
  labelSelector?: string;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  /** The API server closes the watch after this many seconds; the informer then continues it. */
  timeoutSeconds?: number;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** What the operator needs from the API server, and nothing more. */
export interface KubeApi {
  /** The object, or undefined when it does not exist. */
  get<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined>;
  /** Objects of one namespace, or of all namespaces when `namespace` is undefined. */
  list<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, opts?: ListOptions): Promise<ListResult<T>>;
  watch<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle;
  /** Server-side apply (application/apply-patch+yaml) with our field manager, force: creates or updates the fields we own. */
  apply<T extends KubernetesObject>(obj: T): Promise<T>;
  create<T extends KubernetesObject>(obj: T): Promise<T>;
  /** PUT with the object's resourceVersion as precondition (409 Conflict when stale). */
  replace<T extends KubernetesObject>(obj: T): Promise<T>;
  /** PUT of the status subresource with the object's resourceVersion as precondition. */
  replaceStatus<T extends KubernetesObject>(obj: T): Promise<T>;
  /** JSON patch (RFC 6902), e.g. `test` + `remove` of one finalizer. */
  jsonPatch<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, name: string, ops: JsonPatchOp[]): Promise<T>;
  /** Deletes; false when it did not exist. `uid` makes it a precondition (never delete a newer object of the same name). */
  delete(r: ResourceType, namespace: string | undefined, name: string, opts?: { uid?: string }): Promise<boolean>;
}

interface HttpAnswer {
  status: number;
  body: string;
}

function apiError(status: number, body: string, what: string): KubeApiError {
  let reason = '';
  let message = body.slice(0, 500);
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new KubeApiError(status, reason, `${what}: ${status} ${reason}: ${message}`);
}

/** KubeApi over HTTPS with a KubeConfig (in-cluster or a kubeconfig file). */
export class HttpKubeApi implements KubeApi {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, opts: { requestTimeoutMs?: number } = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  async #options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    const base = this.#server.pathname.replace(/\/$/, '');
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      protocol: this.#server.protocol,
      hostname: this.#server.hostname.replace(/^\[|\]$/g, ''),
      port: this.#server.port || (this.#server.protocol === 'https:' ? 443 : 80),
      path: `${base}${path}`,
      headers: { Accept: 'application/json', ...headers },
    };
    // Adds the CA, client certificates or bearer token of the current context.
    await this.#kc.applyToHTTPSOptions(opts);
    return opts;
  }

  #send(opts: RequestOptions, body: string | undefined, timeoutMs: number): Promise<IncomingMessage> {
    const send = this.#server.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(opts, resolve);
      req.on('error', reject);
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${opts.method ?? ''} ${opts.path ?? ''}: no answer within ${timeoutMs} ms`)));
      req.end(body);
    });
  }

  async #call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<HttpAnswer> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = text === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(text)) };
    const res = await this.#send(await this.#options(method, path, headers), text, this.#timeoutMs);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
  }

  async #json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const a = await this.#call(method, path, body, contentType);
    if (a.status < 200 || a.status >= 300) throw apiError(a.status, a.body, `${method} ${path}`);
    return JSON.parse(a.body) as T;
  }

  async get<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.#json<T>('GET', resourcePath(r, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    const qs = q.size > 0 ? `?${q.toString()}` : '';
    const list = await this.#json<{ items: T[]; metadata: { resourceVersion?: string } }>('GET', `${resourcePath(r, namespace)}${qs}`);
    // Items of a list carry no apiVersion/kind; give them back so every object is self-describing.
    const items = list.items.map((i) => ({ ...i, apiVersion: r.apiVersion, kind: r.kind }));
    return { items, resourceVersion: list.metadata.resourceVersion ?? '' };
  }

  watch<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', resourceVersion: opts.resourceVersion });
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.timeoutSeconds !== undefined) q.set('timeoutSeconds', String(opts.timeoutSeconds));
    const path = `${resourcePath(r, namespace)}?${q.toString()}`;
    let aborted = false;
    let res: IncomingMessage | undefined;
    const done = (async () => {
      // No request timeout: the stream is long-lived; the informer's watchdog ends silent ones.
      res = await this.#send(await this.#options('GET', path, {}), undefined, 0);
      if (aborted) {
        res.destroy();
        return;
      }
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        throw apiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), `watch ${path}`);
      }
      let pending = '';
      try {
        for await (const chunk of res) {
          pending += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        }
      } catch (err) {
        if (!aborted) throw err;
      }
    })();
    return {
      done,
      abort: () => {
        aborted = true;
        res?.destroy();
      },
    };
  }

  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    const q = new URLSearchParams({ fieldManager: FIELD_MANAGER, force: 'true' });
    // JSON is YAML: the apply body may be sent as JSON under the apply-patch+yaml type.
    return this.#json<T>('PATCH', `${resourcePath(r, obj.metadata?.namespace, obj.metadata?.name)}?${q.toString()}`, obj, 'application/apply-patch+yaml');
  }

  create<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    return this.#json<T>('POST', `${resourcePath(r, obj.metadata?.namespace)}?fieldManager=${FIELD_MANAGER}`, obj);
  }

  replace<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    return this.#json<T>('PUT', `${resourcePath(r, obj.metadata?.namespace, obj.metadata?.name)}?fieldManager=${FIELD_MANAGER}`, obj);
  }

  replaceStatus<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    return this.#json<T>('PUT', `${resourcePath(r, obj.metadata?.namespace, obj.metadata?.name, 'status')}?fieldManager=${FIELD_MANAGER}`, obj);
  }

  jsonPatch<T extends KubernetesObject>(r: ResourceType, namespace: string | undefined, name: string, ops: JsonPatchOp[]): Promise<T> {
    return this.#json<T>('PATCH', `${resourcePath(r, namespace, name)}?fieldManager=${FIELD_MANAGER}`, ops, 'application/json-patch+json');
  }

  async delete(r: ResourceType, namespace: string | undefined, name: string, opts: { uid?: string } = {}): Promise<boolean> {
    const body = opts.uid !== undefined ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: opts.uid } } : undefined;
    const path = resourcePath(r, namespace, name);
    const a = await this.#call('DELETE', path, body);
    if (a.status === 404) return false;
    if (a.status < 200 || a.status >= 300) throw apiError(a.status, a.body, `DELETE ${path}`);
    return true;
  }
}

/** `namespace/name` (or `name` for cluster-scoped objects): the work-queue key. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

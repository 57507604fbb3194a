// An in-memory API server for reconciler tests: objects with uid, resourceVersion, generation
// and creationTimestamp; server-side apply (our manager owns every field it sends), the status
// subresource with resourceVersion preconditions (409 on a stale write), JSON patch, finalizers
// (delete sets deletionTimestamp while any remain), label-selector lists and watches. Plus a
// stand-in for the StatefulSet controller and kubelet (pods created from the template current at
// creation, OnDelete), a broker probe and a broker admin with topic tables per broker.
import type { KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { BrokerAdmin, BrokerProbe, MemberReport, TopicSettings } from '../src/reconcile/broker-admin.js';
import type { EventRecorder, EventType } from '../src/runtime/events.js';
import { KubeApiError, resourcePath, resourceTypeOf, type JsonPatchOp, type KubeApi, type ListOptions, type ListResult, type ResourceType, type WatchEvent, type WatchHandle, type WatchOptions } from '../src/runtime/kube.js';

type Obj = KubernetesObject & { spec?: unknown; status?: unknown; [k: string]: unknown };

const clone = <T>(v: T): T => structuredClone(v);

function matches(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=') as [string, string];
    return labels?.[k] === v;
  });
}

function pointer(path: string): string[] {
  return path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJsonPatch(doc: Record<string, unknown>, ops: readonly JsonPatchOp[]): void {
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop()!;
    let parent: unknown = doc;
    for (const p of parts) parent = (parent as Record<string, unknown>)[p];
    if (parent === undefined || parent === null) throw new KubeApiError(422, 'Invalid', `path ${op.path} does not exist`);
    const container = parent as Record<string, unknown>;
    if (op.op === 'test') {
      if (JSON.stringify(container[last]) !== JSON.stringify(op.value)) throw new KubeApiError(422, 'Invalid', `test ${op.path} failed`);
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete container[last];
    } else if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else parent.splice(Number(last), op.op === 'replace' ? 1 : 0, op.value);
    } else container[last] = op.value;
  }
}

export class FakeKube implements KubeApi {
  readonly objects = new Map<string, Obj>();
  #rv = 100;
  #uid = 0;
  /** Every write, `VERB kind/ns/name`, for assertions on what the operator did. */
  readonly writes: string[] = [];
  readonly #watchers = new Set<{ r: ResourceType; ns: string | undefined; sel: string | undefined; fn: (e: WatchEvent<KubernetesObject>) => void }>();
  now = Date.parse('2026-01-01T00:00:00Z');

  #key(r: ResourceType, ns: string | undefined, name: string): string {
    return resourcePath(r, r.namespaced ? ns : undefined, name);
  }

  #emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', r: ResourceType, obj: Obj): void {
    for (const w of this.#watchers) {
      if (w.r !== r || (w.ns !== undefined && w.ns !== obj.metadata?.namespace) || !matches(obj.metadata?.labels, w.sel)) continue;
      w.fn({ type, object: clone(obj) });
    }
  }

  #store(r: ResourceType, obj: Obj, type: 'ADDED' | 'MODIFIED'): Obj {
    obj.metadata!.resourceVersion = String(++this.#rv);
    this.objects.set(this.#key(r, obj.metadata?.namespace, obj.metadata!.name!), obj);
    this.#emit(type, r, obj);
    return clone(obj);
  }

  /** Puts an object as a user would (kubectl create): uid, generation 1, creationTimestamp. */
  seed<T extends KubernetesObject>(obj: T): T {
    const o = clone(obj) as unknown as Obj;
    const r = resourceTypeOf(o);
    o.metadata = { ...o.metadata, uid: o.metadata?.uid ?? `uid-${++this.#uid}`, generation: 1, creationTimestamp: new Date(this.now).toISOString() as unknown as Date };
    return this.#store(r, o, 'ADDED') as unknown as T;
  }

  /** A user edit of the spec or metadata (generation bumps when the spec changes). */
  edit<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, name: string, change: (o: T) => void): T {
    const o = this.objects.get(this.#key(r, ns, name));
    if (!o) throw new Error(`no ${r.kind} ${ns ?? ''}/${name}`);
    const before = JSON.stringify(o.spec);
    change(o as unknown as T);
    if (JSON.stringify(o.spec) !== before) o.metadata!.generation = (o.metadata!.generation ?? 0) + 1;
    return this.#store(r, o, 'MODIFIED') as unknown as T;
  }

  peek<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, name: string): T | undefined {
    const o = this.objects.get(this.#key(r, ns, name));
    return o ? (clone(o) as unknown as T) : undefined;
  }

  all<T extends KubernetesObject>(r: ResourceType): T[] {
    return [...this.objects.values()].filter((o) => o.apiVersion === r.apiVersion && o.kind === r.kind).map((o) => clone(o) as unknown as T);
  }

  get<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, name: string): Promise<T | undefined> {
    return Promise.resolve(this.peek<T>(r, ns, name));
  }

  list<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, opts: ListOptions = {}): Promise<ListResult<T>> {
    const items = this.all<T>(r).filter((o) => (ns === undefined || o.metadata?.namespace === ns) && matches(o.metadata?.labels, opts.labelSelector));
    items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    return Promise.resolve({ items, resourceVersion: String(this.#rv) });
  }

  watch<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    const w = { r, ns, sel: opts.labelSelector, fn: onEvent as (e: WatchEvent<KubernetesObject>) => void };
    this.#watchers.add(w);
    return {
      done,
      abort: () => {
        this.#watchers.delete(w);
        end();
      },
    };
  }

  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    const o = clone(obj) as unknown as Obj;
    const ns = o.metadata?.namespace;
    const name = o.metadata!.name!;
    this.writes.push(`APPLY ${r.kind}/${ns ?? ''}/${name}`);
    const existing = this.objects.get(this.#key(r, ns, name));
    if (!existing) {
      o.metadata = { ...o.metadata, uid: `uid-${++this.#uid}`, generation: 1, creationTimestamp: new Date(this.now).toISOString() as unknown as Date };
      return Promise.resolve(this.#store(r, o, 'ADDED') as unknown as T);
    }
    const { metadata, status: _ignored, ...rest } = o;
    const next: Obj = { ...existing, ...rest, metadata: { ...existing.metadata, ...metadata, uid: existing.metadata!.uid, generation: existing.metadata!.generation, creationTimestamp: existing.metadata!.creationTimestamp } };
    if (JSON.stringify(next.spec) !== JSON.stringify(existing.spec)) next.metadata!.generation = (existing.metadata!.generation ?? 0) + 1;
    if (JSON.stringify(next) === JSON.stringify(existing)) return Promise.resolve(clone(existing) as unknown as T);
    return Promise.resolve(this.#store(r, next, 'MODIFIED') as unknown as T);
  }

  create<T extends KubernetesObject>(obj: T): Promise<T> {
    const r = resourceTypeOf(obj);
    const o = clone(obj) as unknown as Obj;
    this.writes.push(`CREATE ${r.kind}/${o.metadata?.namespace ?? ''}/${o.metadata!.name!}`);
    if (this.objects.has(this.#key(r, o.metadata?.namespace, o.metadata!.name!))) return Promise.reject(new KubeApiError(409, 'AlreadyExists', `${o.metadata!.name!} already exists`));
    o.metadata = { ...o.metadata, uid: `uid-${++this.#uid}`, generation: 1, creationTimestamp: new Date(this.now).toISOString() as unknown as Date };
    return Promise.resolve(this.#store(r, o, 'ADDED') as unknown as T);
  }

  #current(obj: KubernetesObject): { r: ResourceType; existing: Obj } {
    const r = resourceTypeOf(obj);
    const existing = this.objects.get(this.#key(r, obj.metadata?.namespace, obj.metadata!.name!));
    if (!existing) throw new KubeApiError(404, 'NotFound', `${obj.metadata!.name!} not found`);
    if (obj.metadata?.resourceVersion !== existing.metadata?.resourceVersion) {
      throw new KubeApiError(409, 'Conflict', `the object has been modified; please apply your changes to the latest version and try again`);
    }
    return { r, existing };
  }

  async replace<T extends KubernetesObject>(obj: T): Promise<T> {
    await Promise.resolve();
    const { r, existing } = this.#current(obj);
    this.writes.push(`UPDATE ${r.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata!.name!}`);
    const next = { ...(clone(obj) as unknown as Obj), status: existing.status } as Obj;
    return this.#store(r, next, 'MODIFIED') as unknown as T;
  }

  async replaceStatus<T extends KubernetesObject>(obj: T): Promise<T> {
    await Promise.resolve();
    const { r, existing } = this.#current(obj);
    this.writes.push(`STATUS ${r.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata!.name!}`);
    const next = { ...existing, status: clone((obj as unknown as Obj).status) };
    return this.#store(r, next, 'MODIFIED') as unknown as T;
  }

  async jsonPatch<T extends KubernetesObject>(r: ResourceType, ns: string | undefined, name: string, ops: JsonPatchOp[]): Promise<T> {
    await Promise.resolve();
    const existing = this.objects.get(this.#key(r, ns, name));
    if (!existing) throw new KubeApiError(404, 'NotFound', `${name} not found`);
    this.writes.push(`PATCH ${r.kind}/${ns ?? ''}/${name}`);
    const next = clone(existing);
    applyJsonPatch(next, ops);
    if (next.metadata?.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(this.#key(r, ns, name));
      this.#emit('DELETED', r, next);
      return clone(next) as unknown as T;
    }
    return this.#store(r, next, 'MODIFIED') as unknown as T;
  }

  delete(r: ResourceType, ns: string | undefined, name: string, opts: { uid?: string } = {}): Promise<boolean> {
    const key = this.#key(r, ns, name);
    const existing = this.objects.get(key);
    if (!existing) return Promise.resolve(false);
    if (opts.uid !== undefined && existing.metadata?.uid !== opts.uid) return Promise.reject(new KubeApiError(409, 'Conflict', `uid precondition failed for ${name}`));
    this.writes.push(`DELETE ${r.kind}/${ns ?? ''}/${name}`);
    if ((existing.metadata?.finalizers ?? []).length > 0) {
      if (!existing.metadata!.deletionTimestamp) {
        existing.metadata!.deletionTimestamp = new Date(this.now).toISOString() as unknown as Date;
        this.#store(r, existing, 'MODIFIED');
      }
      return Promise.resolve(true);
    }
    this.objects.delete(key);
    this.#emit('DELETED', r, existing);
    return Promise.resolve(true);
  }
}

/** Pods and StatefulSet status as the StatefulSet controller and kubelets would make them. */
export class FakeCluster {
  readonly kube: FakeKube;
  #ip = 10;
  /** Pods (by name) whose container is not ready. */
  readonly unready = new Set<string>();

  constructor(kube: FakeKube) {
    this.kube = kube;
  }

  /** One controller pass: create missing pods from the current template, update StatefulSet status. */
  sync(): void {
    const stsType = resourceTypeOf({ apiVersion: 'apps/v1', kind: 'StatefulSet' });
    const podType = resourceTypeOf({ apiVersion: 'v1', kind: 'Pod' });
    for (const sts of this.kube.all<V1StatefulSet>(stsType)) {
      const ns = sts.metadata!.namespace!;
      const want = sts.spec!.replicas ?? 1;
      const revision = `rev-${sts.metadata!.generation!}`;
      let ready = 0;
      let updated = 0;
      for (let i = 0; i < want; i++) {
        const name = `${sts.metadata!.name!}-${i}`;
        let pod = this.kube.peek<V1Pod>(podType, ns, name);
        if (!pod) {
          const t = sts.spec!.template;
          pod = this.kube.seed<V1Pod>({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace: ns, labels: { ...t.metadata?.labels, 'controller-revision-hash': revision }, annotations: { ...t.metadata?.annotations } },
            spec: clone(t.spec!),
            status: { phase: 'Running', podIP: `10.0.0.${this.#ip++}` },
          });
        }
        const isReady = !this.unready.has(name);
        if (pod.status?.conditions?.[0]?.status !== (isReady ? 'True' : 'False')) {
          this.kube.edit<V1Pod>(podType, ns, name, (p) => {
            p.status = { ...p.status, conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] };
          });
        }
        if (isReady) ready++;
        if (pod.metadata?.labels?.['controller-revision-hash'] === revision) updated++;
      }
      this.kube.edit<V1StatefulSet>(stsType, ns, sts.metadata!.name!, (s) => {
        s.status = { observedGeneration: s.metadata!.generation!, replicas: want, readyReplicas: ready, updatedReplicas: updated, currentRevision: updated === want ? revision : 'old', updateRevision: revision };
      });
    }
  }
}

/** Brokers as the probe sees them: derived from the pod unless a test overrides fields. */
export class FakeBrokers implements BrokerProbe {
  readonly #kube: FakeKube;
  /** podIP → report overrides. */
  readonly overrides = new Map<string, Partial<MemberReport>>();
  /** Name-server addresses every broker reports registered with / configured. */
  namesrv: string[] = [];

  constructor(kube: FakeKube) {
    this.#kube = kube;
  }

  report(podIP: string): Promise<MemberReport> {
    const pod = this.#kube.all<V1Pod>(resourceTypeOf({ apiVersion: 'v1', kind: 'Pod' })).find((p) => p.status?.podIP === podIP);
    if (!pod) return Promise.reject(new Error(`connect ECONNREFUSED ${podIP}`));
    const id = Number(pod.metadata?.labels?.['rocketmq.rmq-ts.io/broker-id'] ?? '0');
    const base: MemberReport = {
      role: id === 0 ? 'ASYNC_MASTER' : 'SLAVE',
      brokerId: id,
      brokerName: pod.metadata?.labels?.['rocketmq.rmq-ts.io/broker-group'] ?? '',
      brokerAddr: `${podIP}:10911`,
      version: '0.1.0',
      ready: pod.status?.conditions?.[0]?.status === 'True',
      unmet: pod.status?.conditions?.[0]?.status === 'True' ? [] : ['replication lag 1000 bytes exceeds readyMaxReplicationLagBytes=10'],
      registeredWith: [...this.namesrv],
      nameServers: [...this.namesrv],
      writable: true,
      ...(id === 0 ? { haConnections: [] } : { replication: { connected: true, lagBytes: 0 } }),
    };
    return Promise.resolve({ ...base, ...this.overrides.get(podIP) });
  }
}

/** Broker admin over in-memory topic tables per broker address; records every call. */
export class FakeAdmin implements BrokerAdmin {
  readonly topics = new Map<string, Map<string, TopicSettings>>();
  readonly calls: string[] = [];
  /** Addresses whose requests fail (connection refused). */
  readonly down = new Set<string>();

  #broker(addr: string): Map<string, TopicSettings> {
    if (this.down.has(addr)) throw new Error(`connect ECONNREFUSED ${addr}`);
    let t = this.topics.get(addr);
    if (!t) this.topics.set(addr, (t = new Map<string, TopicSettings>()));
    return t;
  }

  async getTopic(addr: string, topic: string): Promise<TopicSettings | undefined> {
    await Promise.resolve();
    const t = this.#broker(addr).get(topic);
    return t ? clone(t) : undefined;
  }

  async applyTopic(addr: string, topic: TopicSettings): Promise<void> {
    await Promise.resolve();
    this.calls.push(`applyTopic ${addr} ${topic.topicName} r${topic.readQueueNums} w${topic.writeQueueNums} p${topic.perm}`);
    this.#broker(addr).set(topic.topicName, clone(topic));
  }

  async deleteTopic(addr: string, topic: string): Promise<void> {
    await Promise.resolve();
    this.calls.push(`deleteTopic ${addr} ${topic}`);
    this.#broker(addr).delete(topic);
  }

  deleteTopicInNameServers(addrs: readonly string[], topic: string): Promise<void> {
    this.calls.push(`deleteTopicInNameServers ${addrs.join(';')} ${topic}`);
    return Promise.resolve();
  }

  /** Ordered topics' order configuration per name-server set. */
  readonly orderConfs = new Map<string, string>();

  getOrderConf(addrs: readonly string[], topic: string): Promise<string | undefined> {
    return Promise.resolve(this.orderConfs.get(`${addrs.join(';')} ${topic}`));
  }

  putOrderConf(addrs: readonly string[], topic: string, conf: string): Promise<void> {
    this.calls.push(`putOrderConf ${addrs.join(';')} ${topic} ${conf}`);
    this.orderConfs.set(`${addrs.join(';')} ${topic}`, conf);
    return Promise.resolve();
  }

  deleteOrderConf(addrs: readonly string[], topic: string): Promise<void> {
    this.calls.push(`deleteOrderConf ${addrs.join(';')} ${topic}`);
    this.orderConfs.delete(`${addrs.join(';')} ${topic}`);
    return Promise.resolve();
  }

  wipeWritePerm(addrs: readonly string[], brokerName: string): Promise<void> {
    this.calls.push(`wipeWritePerm ${addrs.join(';')} ${brokerName}`);
    return Promise.resolve();
  }

  addWritePerm(addrs: readonly string[], brokerName: string): Promise<void> {
    this.calls.push(`addWritePerm ${addrs.join(';')} ${brokerName}`);
    return Promise.resolve();
  }

  /** Runtime configuration per broker address (what GET_BROKER_CONFIG answers). */
  readonly configs = new Map<string, Record<string, string>>();

  getBrokerConfig(addr: string): Promise<Record<string, string>> {
    return Promise.resolve({ ...this.configs.get(addr) });
  }

  updateBrokerConfig(addr: string, entries: Record<string, string>): Promise<void> {
    this.calls.push(`updateBrokerConfig ${addr} ${Object.entries(entries).map(([k, v]) => `${k}=${v}`).join(',')}`);
    this.configs.set(addr, { ...this.configs.get(addr), ...entries });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class CollectingEvents implements EventRecorder {
  readonly events: Array<{ object: string; type: EventType; reason: string; message: string }> = [];
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    this.events.push({ object: `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`, type, reason, message });
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

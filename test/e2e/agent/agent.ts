// The e2e node agent: a test kubelet for a control plane without kubelet, scheduler or kube-proxy.
//
// It registers one Node and renews its Lease, binds every pending pod to it, and runs the
// containers of the project's image as local processes, exactly as the Dockerfile's
// ENTRYPOINT/CMD/WORKDIR/ENV say (image paths mapped to this checkout: /app → the repository with
// its dist/ and node_modules/). It writes pod status the way a kubelet does (phase, conditions,
// containerStatuses with restartCount, podIP, hostIP), runs probes, restarts containers per
// restartPolicy and finishes deletions (SIGTERM, grace period, SIGKILL, delete with grace 0).
//
// Emulation rules (what a real node gives through namespaces, done here without root):
// - Pod network: every pod gets its own loopback address 127.1.x.y as podIP; the pod hook
//   (pod-hook.ts, NODE_OPTIONS=--import) makes servers that bind 0.0.0.0/loopback listen on it.
// - Cluster DNS: the agent keeps a hosts file (JSON) of Service and pod names; the pod hook answers
//   dns.lookup from it. ClusterIP Services resolve to a ready endpoint's pod IP (no kube-proxy, so
//   no virtual IP): a Service's port must equal its target port. Tests resolve names with resolve().
// - Mounts: each volume is a host directory (configMap/secret/downwardAPI/projected files written
//   by the agent, emptyDir per pod, persistentVolumeClaim per claim under pvc/<ns>/<claim>, kept
//   across pod restarts and re-creations). Container paths are mapped to host paths by a textual
//   rule: in command, args, env values and the contents of configMap/secret files every
//   occurrence of a mount path (or an image path: /app, HOME) followed by a path boundary is
//   replaced by its host directory, longest path first. Library code with fixed paths reads
//   through the pod hook's fs mapping (the ServiceAccount token under /var/run/secrets/...).
// - Only the project's image runs (RMQ image names, see isOurImage); other images get a waiting
//   state ImageRefused with a message saying why. Executables: `node` is this Node, other
//   absolute paths (e.g. /bin/sh) are the host's.
// - Probes: httpGet, tcpSocket and exec as specified, except that readiness and startup probes
//   run at most every `probePeriodCapSeconds` (default 1 s) so tests do not wait whole periods;
//   thresholds count as written. Liveness probes keep their period.
// - Restart back-off doubles from 1 s up to `maxBackoffMs` (default 10 s; kubelet: 10 s … 5 min).
// - Not emulated: resource limits, securityContext (processes run as the test's user), preStop
//   hooks, ephemeral containers, node selectors/affinity (every pod is bound here).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1ContainerStatus,
  type V1EnvVar,
  type V1Node,
  type V1ObjectFieldSelector,
  type V1Pod,
  type V1PodCondition,
  type V1PodStatus,
  type V1Probe,
  type V1Service,
  type V1Volume,
} from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import ts from 'typescript';
import { loadImageSpec, type ImageSpec } from './image.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');

export interface AgentOptions {
  kubeConfig: KubeConfig;
  /** API server URL for in-cluster clients (KUBERNETES_SERVICE_HOST/PORT). */
  apiServer: { host: string; port: number };
  /** CA of the API server, written into projected ServiceAccount volumes. */
  caFile: string;
  /** Where pod dirs, claim dirs, logs and the hosts file go. */
  workDir: string;
  nodeName?: string;
  clusterDomain?: string;
  /** Accept this image reference (default: the project's image names, see isOurImage). */
  isOurImage?: (image: string) => boolean;
  probePeriodCapSeconds?: number;
  maxBackoffMs?: number;
  /** Period of the reconcile loop (ms). */
  syncIntervalMs?: number;
}

/** The project's image: repository `rocketmq-ts` at any registry/tag/digest. */
export function isOurImage(image: string): boolean {
  const repo = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return repo === 'rocketmq-ts' || repo.endsWith('/rocketmq-ts');
}

type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | { kind: 'terminated'; exitCode: number; signal?: string; reason: string; startedAt: Date; finishedAt: Date };

interface ContainerRun {
  spec: V1Container;
  init: boolean;
  state: ContainerState;
  lastTerminated?: Extract<ContainerState, { kind: 'terminated' }>;
  child?: ChildProcess;
  exited?: Promise<void>;
  restartCount: number;
  ready: boolean;
  /** Startup probe passed (or none). */
  started: boolean;
  backoffMs: number;
  timers: NodeJS.Timeout[];
  /** Bumped on every (re)start: probe results of an older run are dropped. */
  generation: number;
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  dir: string;
  startTime: Date;
  containers: ContainerRun[];
  initContainers: ContainerRun[];
  initialized: boolean;
  /** Container path → host path (mounts of every container plus the image's paths), longest first. */
  pathMap: Array<[string, string]>;
  terminating: boolean;
  finished: boolean;
  lastStatusJson?: string;
  conditionTimes: Map<string, { status: string; time: Date }>;
  /** A reason the pod cannot run at all (refused image, bad volume). */
  fatal?: { reason: string; message: string };
}

const LOOP_ERROR_LOG_EVERY_MS = 10_000;

export class NodeAgent {
  readonly nodeName: string;
  readonly workDir: string;
  readonly hostsFile: string;
  readonly log: Logger;
  readonly #o: Required<Omit<AgentOptions, 'nodeName' | 'clusterDomain' | 'isOurImage'>> & { isOurImage: (image: string) => boolean; clusterDomain: string };
  readonly #core: CoreV1Api;
  readonly #coord: CoordinationV1Api;
  readonly #image: ImageSpec;
  readonly #pods = new Map<string, PodRun>();
  #hookFile = '';
  #nextIp = 2;
  #loop?: NodeJS.Timeout;
  #lease?: NodeJS.Timeout;
  #running = false;
  #syncing = false;
  #hosts: Record<string, string[]> = {};
  #lastLoopErrorAt = 0;

  constructor(opts: AgentOptions) {
    this.nodeName = opts.nodeName ?? 'rmq-e2e-node';
    this.workDir = opts.workDir;
    this.#o = {
      ...opts,
      clusterDomain: opts.clusterDomain ?? 'cluster.local',
      isOurImage: opts.isOurImage ?? isOurImage,
      probePeriodCapSeconds: opts.probePeriodCapSeconds ?? 1,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      syncIntervalMs: opts.syncIntervalMs ?? 500,
    };
    mkdirSync(join(this.workDir, 'pods'), { recursive: true });
    mkdirSync(join(this.workDir, 'pvc'), { recursive: true });
    // One file per live container process group: stop.sh kills what is left if the test process dies.
    mkdirSync(join(this.workDir, 'pids'), { recursive: true });
    this.hostsFile = join(this.workDir, 'hosts.json');
    writeFileSync(this.hostsFile, '{}');
    this.log = pino({ name: 'e2e-agent', base: { component: 'e2e-agent' } }, pino.destination({ dest: join(this.workDir, 'agent.log'), sync: true }));
    this.#core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#coord = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#image = loadImageSpec(REPO_ROOT);
  }

  /** Registers the Node, starts the lease heartbeat and the pod loop. */
  async start(): Promise<void> {
    this.#hookFile = join(this.workDir, 'pod-hook.mjs');
    const src = readFileSync(join(HERE, 'pod-hook.ts'), 'utf8');
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(this.#hookFile, out.outputText);
    await this.#registerNode();
    await this.#renewLease();
    this.#running = true;
    this.#lease = setInterval(() => void this.#heartbeat(), 10_000);
    this.#loop = setInterval(() => void this.#sync(), this.#o.syncIntervalMs);
    this.log.info({ node: this.nodeName }, 'node agent started');
  }

  /** Stops every pod process (SIGTERM, then SIGKILL after `graceMs`) and the loops. Leaves API objects as they are. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#running = false;
    clearInterval(this.#loop);
    clearInterval(this.#lease);
    await Promise.all([...this.#pods.values()].map((p) => this.#killPod(p, graceMs)));
    this.log.info('node agent stopped');
    this.log.flush();
  }

  /** Resolves a cluster name (like the pods do) to its addresses; [] when it has none. */
  resolve(name: string, namespace = 'default'): string[] {
    const n = name.toLowerCase();
    const d = this.#o.clusterDomain;
    for (const c of [n, `${n}.${namespace}.svc.${d}`, `${n}.svc.${d}`]) {
      const ips = this.#hosts[c];
      if (ips) return ips;
    }
    return [];
  }

  /** Directory with a pod's container logs (`<container>.log`), or undefined if it never ran here. */
  podDir(namespace: string, name: string): string | undefined {
    for (const p of this.#pods.values()) if (p.namespace === namespace && p.name === name) return p.dir;
    return undefined;
  }

  /** The host directory of a PersistentVolumeClaim (exists once a pod used it). */
  claimDir(namespace: string, claim: string): string {
    return join(this.workDir, 'pvc', namespace, claim);
  }

  // ---- node ---------------------------------------------------------------------------------

  async #registerNode(): Promise<void> {
    const node: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch },
      },
    };
    try {
      await this.#core.createNode({ body: node });
    } catch (err) {
      if (apiCode(err) !== 409) throw err;
    }
    await this.#writeNodeStatus();
  }

  async #writeNodeStatus(): Promise<void> {
    // The node lifecycle controller writes taints concurrently: retry conflicts on a fresh read.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#writeNodeStatusOnce();
        return;
      } catch (err) {
        if (apiCode(err) !== 409 || attempt >= 5) throw err;
      }
    }
  }

  async #writeNodeStatusOnce(): Promise<void> {
    const cur = await this.#core.readNode({ name: this.nodeName });
    const now = new Date();
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: cur.status?.conditions?.find((c) => c.type === type && c.status === status)?.lastTransitionTime ?? now });
    cur.status = {
      ...cur.status,
      conditions: [
        cond('Ready', 'True', 'KubeletReady', 'e2e node agent is posting ready status'),
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'e2e node agent'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'e2e node agent'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'e2e node agent'),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: this.nodeName },
      ],
      capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      nodeInfo: {
        architecture: process.arch === 'x64' ? 'amd64' : process.arch, bootID: '', containerRuntimeVersion: 'e2e-agent://1', kernelVersion: '', kubeProxyVersion: '',
        kubeletVersion: 'v1.32.2', machineID: '', operatingSystem: 'linux', osImage: 'rocketmq-ts e2e node agent', systemUUID: '',
      },
    };
    await this.#core.replaceNodeStatus({ name: this.nodeName, body: cur });
  }

  async #renewLease(): Promise<void> {
    const ns = 'kube-node-lease';
    // MicroTime: the API server wants 6 fractional digits; client-node passes V1MicroTime through unconverted.
    const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
    const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime };
    try {
      const cur = await this.#coord.readNamespacedLease({ name: this.nodeName, namespace: ns });
      cur.spec = { ...cur.spec, ...spec };
      await this.#coord.replaceNamespacedLease({ name: this.nodeName, namespace: ns, body: cur });
    } catch (err) {
      if (apiCode(err) !== 404) throw err;
      await this.#coord.createNamespacedLease({ namespace: ns, body: { metadata: { name: this.nodeName, namespace: ns }, spec } });
    }
  }

  #beats = 0;
  async #heartbeat(): Promise<void> {
    try {
      await this.#renewLease();
      if (++this.#beats % 3 === 0) await this.#writeNodeStatus();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'node heartbeat failed');
    }
  }

  // ---- the loop -------------------------------------------------------------------------------

  async #sync(): Promise<void> {
    if (this.#syncing || !this.#running) return;
    this.#syncing = true;
    try {
      const pods = (await this.#core.listPodForAllNamespaces()).items;
      const seen = new Set<string>();
      for (const pod of pods) {
        const uid = pod.metadata?.uid;
        if (!uid) continue;
        if (!pod.spec?.nodeName) {
          if (!pod.metadata?.deletionTimestamp) await this.#bind(pod);
          continue;
        }
        if (pod.spec.nodeName !== this.nodeName) continue;
        seen.add(uid);
        let run = this.#pods.get(uid);
        if (!run) {
          if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
          run = this.#admit(pod);
        }
        if (pod.metadata?.deletionTimestamp && !run.terminating) void this.#terminate(run, pod);
        await this.#writeStatus(run, pod);
      }
      for (const run of this.#pods.values()) {
        // Gone from the API (force-deleted): kill its processes at once, like a crashed pod.
        if (!seen.has(run.uid)) {
          this.#pods.delete(run.uid);
          this.log.info({ pod: `${run.namespace}/${run.name}` }, 'pod vanished from the API: SIGKILL');
          void this.#killPod(run, 0);
        }
      }
      const services = (await this.#core.listServiceForAllNamespaces()).items;
      this.#updateHosts(pods, services);
      await this.#provisionVolumes();
    } catch (err) {
      if (Date.now() - this.#lastLoopErrorAt > LOOP_ERROR_LOG_EVERY_MS) {
        this.#lastLoopErrorAt = Date.now();
        this.log.warn({ err: String(err) }, 'sync failed; retrying');
      }
    } finally {
      this.#syncing = false;
    }
  }

  /**
   * A static "local" provisioner: every Pending claim gets a PersistentVolume on this node whose
   * path is the claim's directory, so the PV controller binds it as on a real cluster.
   */
  async #provisionVolumes(): Promise<void> {
    const claims = (await this.#core.listPersistentVolumeClaimForAllNamespaces()).items;
    for (const c of claims) {
      if (c.status?.phase !== 'Pending' || c.spec?.volumeName || !c.metadata?.uid) continue;
      const ns = c.metadata.namespace!;
      const name = `pv-${c.metadata.uid}`;
      const dir = this.claimDir(ns, c.metadata.name!);
      mkdirSync(dir, { recursive: true });
      try {
        await this.#core.createPersistentVolume({
          body: {
            metadata: { name, labels: { 'rmq-e2e/node': this.nodeName } },
            spec: {
              capacity: { storage: c.spec?.resources?.requests?.storage ?? '1Gi' },
              accessModes: c.spec?.accessModes ?? ['ReadWriteOnce'],
              persistentVolumeReclaimPolicy: 'Retain',
              storageClassName: c.spec?.storageClassName ?? '',
              hostPath: { path: dir, type: 'DirectoryOrCreate' },
              claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: c.metadata.name!, uid: c.metadata.uid },
            },
          },
        });
        this.log.info({ claim: `${ns}/${c.metadata.name}`, pv: name, dir }, 'provisioned volume');
      } catch (err) {
        if (apiCode(err) !== 409) throw err;
      }
    }
  }

  async #bind(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    try {
      await this.#core.createNamespacedPodBinding({
        name,
        namespace,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid: pod.metadata!.uid! }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } },
      });
      this.log.info({ pod: `${namespace}/${name}` }, 'bound pod');
    } catch (err) {
      // The binding endpoint answers a Status where the client expects a Binding: a parse error after success.
      if (apiCode(err) === 409) return;
      if (apiCode(err) === undefined && /Binding|parse|deserializ|Status/i.test(String(err))) return;
      this.log.warn({ pod: `${namespace}/${name}`, err: String(err) }, 'bind failed');
    }
  }

  #admit(pod: V1Pod): PodRun {
    const uid = pod.metadata!.uid!;
    const namespace = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const n = this.#nextIp++;
    const ip = `127.1.${Math.floor(n / 254) % 254}.${(n % 254) + 1}`;
    const dir = join(this.workDir, 'pods', `${namespace}_${name}_${uid.slice(0, 8)}`);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'home'), { recursive: true });
    const mk = (spec: V1Container, init: boolean): ContainerRun => ({ spec, init, state: { kind: 'waiting', reason: 'ContainerCreating' }, restartCount: 0, ready: false, started: false, backoffMs: 1_000, timers: [], generation: 0 });
    const run: PodRun = {
      uid, namespace, name, ip, dir, startTime: new Date(),
      containers: (pod.spec!.containers ?? []).map((c) => mk(c, false)),
      initContainers: (pod.spec!.initContainers ?? []).map((c) => mk(c, true)),
      initialized: false,
      pathMap: [],
      terminating: false,
      finished: false,
      conditionTimes: new Map(),
    };
    this.#pods.set(uid, run);
    this.log.info({ pod: `${namespace}/${name}`, podIP: ip, dir }, 'admitted pod');
    void this.#runPod(run, pod).catch((err: unknown) => {
      run.fatal = { reason: 'AgentError', message: String(err) };
      this.log.error({ pod: `${namespace}/${name}`, err: String(err) }, 'pod failed to start');
    });
    return run;
  }

  // ---- running a pod ----------------------------------------------------------------------------

  async #runPod(run: PodRun, pod: V1Pod): Promise<void> {
    const refused = [...run.initContainers, ...run.containers].find((c) => !this.#o.isOurImage(c.spec.image ?? ''));
    if (refused) {
      const message = `the e2e node agent runs only the rocketmq-ts image (built from this checkout's Dockerfile); container "${refused.spec.name}" wants "${refused.spec.image ?? ''}"`;
      run.fatal = { reason: 'ImageRefused', message };
      for (const c of [...run.initContainers, ...run.containers]) c.state = { kind: 'waiting', reason: 'ImageRefused', message };
      this.log.warn({ pod: `${run.namespace}/${run.name}` }, message);
      return;
    }
    await this.#prepareVolumes(run, pod);
    for (const c of run.initContainers) {
      for (;;) {
        if (run.terminating) return;
        await this.#startContainer(run, pod, c);
        await c.exited;
        const t = c.state;
        if (t.kind === 'terminated' && t.exitCode === 0) break;
        if (run.terminating) return;
        if (pod.spec?.restartPolicy === 'Never') {
          run.finished = true;
          return;
        }
        await this.#backoff(run, c);
      }
    }
    run.initialized = true;
    await Promise.all(run.containers.map((c) => this.#startContainer(run, pod, c)));
  }

  async #backoff(run: PodRun, c: ContainerRun): Promise<void> {
    const ms = c.backoffMs;
    c.backoffMs = Math.min(c.backoffMs * 2, this.#o.maxBackoffMs);
    c.lastTerminated = c.state.kind === 'terminated' ? c.state : c.lastTerminated;
    c.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${ms} ms restarting failed container ${c.spec.name} in pod ${run.name}` };
    await sleep(ms);
    c.restartCount++;
  }

  /** Config maps, secrets, downward API, projected token, emptyDir and claims as host directories. */
  async #prepareVolumes(run: PodRun, pod: V1Pod): Promise<void> {
    const volDirs = new Map<string, string>();
    for (const v of pod.spec?.volumes ?? []) {
      const dir = v.persistentVolumeClaim ? this.claimDir(run.namespace, v.persistentVolumeClaim.claimName) : join(run.dir, 'volumes', v.name);
      mkdirSync(dir, { recursive: true });
      volDirs.set(v.name, dir);
    }
    // Statefulset claims: volumeClaimTemplates become PVCs named <template>-<pod>, referenced as volumes above.
    const map: Array<[string, string]> = [...this.#image.paths, [this.#image.env.HOME ?? '/root', join(run.dir, 'home')]];
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      for (const m of c.volumeMounts ?? []) {
        const base = volDirs.get(m.name);
        if (!base) throw new Error(`container ${c.name} mounts volume ${m.name}, which the pod does not define`);
        const host = m.subPath ? join(base, m.subPath) : base;
        if (!map.some(([p]) => p === m.mountPath)) map.push([m.mountPath.replace(/\/$/, ''), host]);
      }
    }
    map.sort(([a], [b]) => b.length - a.length);
    run.pathMap = map;
    for (const v of pod.spec?.volumes ?? []) await this.#fillVolume(run, pod, v, volDirs.get(v.name)!);
  }

  async #fillVolume(run: PodRun, pod: V1Pod, v: V1Volume, dir: string): Promise<void> {
    const write = (path: string, content: string | Buffer) => {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? rewritePaths(content, run.pathMap) : content);
    };
    const fromMap = async (kind: 'configMap' | 'secret', name: string, items: Array<{ key: string; path: string }> | undefined, optional: boolean | undefined, target: (p: string, c: string | Buffer) => void) => {
      let data: Record<string, string | Buffer>;
      try {
        if (kind === 'configMap') {
          const cm = await this.#core.readNamespacedConfigMap({ name, namespace: run.namespace });
          data = { ...(cm.data ?? {}), ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64')])) };
        } else {
          const s = await this.#core.readNamespacedSecret({ name, namespace: run.namespace });
          data = { ...Object.fromEntries(Object.entries(s.data ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64').toString('utf8')])), ...(s.stringData ?? {}) };
        }
      } catch (err) {
        if (apiCode(err) === 404 && optional) return;
        throw new Error(`volume ${v.name}: ${kind} ${run.namespace}/${name}: ${String(err)}`);
      }
      const pairs = items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const it of pairs) {
        const content = data[it.key];
        if (content === undefined) throw new Error(`volume ${v.name}: ${kind} ${run.namespace}/${name} has no key ${it.key}`);
        target(it.path, content);
      }
    };
    if (v.configMap) await fromMap('configMap', v.configMap.name!, v.configMap.items, v.configMap.optional, write);
    else if (v.secret) await fromMap('secret', v.secret.secretName!, v.secret.items, v.secret.optional, write);
    else if (v.downwardAPI) for (const it of v.downwardAPI.items ?? []) write(it.path, it.fieldRef ? this.#fieldRef(pod, run, it.fieldRef) : '');
    else if (v.projected) {
      for (const s of v.projected.sources ?? []) {
        if (s.serviceAccountToken) {
          const token = await this.#core.createNamespacedServiceAccountToken({
            name: pod.spec?.serviceAccountName ?? 'default',
            namespace: run.namespace,
            body: { spec: { audiences: s.serviceAccountToken.audience ? [s.serviceAccountToken.audience] : [], expirationSeconds: Math.max(s.serviceAccountToken.expirationSeconds ?? 3607, 3600), boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: run.name, uid: run.uid } } },
          });
          write(s.serviceAccountToken.path, Buffer.from(token.status?.token ?? ''));
        }
        if (s.configMap) await fromMap('configMap', s.configMap.name!, s.configMap.items, s.configMap.optional, (p, c) => write(p, typeof c === 'string' ? Buffer.from(c) : c));
        if (s.secret) await fromMap('secret', s.secret.name!, s.secret.items, s.secret.optional, (p, c) => write(p, typeof c === 'string' ? Buffer.from(c) : c));
        for (const it of s.downwardAPI?.items ?? []) write(it.path, Buffer.from(it.fieldRef ? this.#fieldRef(pod, run, it.fieldRef) : ''));
      }
    } else if (!v.emptyDir && !v.persistentVolumeClaim) {
      throw new Error(`volume ${v.name}: only configMap, secret, downwardAPI, projected, emptyDir and persistentVolumeClaim volumes are emulated`);
    }
  }

  #fieldRef(pod: V1Pod, run: PodRun, ref: V1ObjectFieldSelector): string {
    const p = ref.fieldPath;
    const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(p);
    if (label) return (label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[label[2]!] ?? '';
    switch (p) {
      case 'metadata.name': return run.name;
      case 'metadata.namespace': return run.namespace;
      case 'metadata.uid': return run.uid;
      case 'spec.nodeName': return this.nodeName;
      case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? 'default';
      case 'status.podIP': return run.ip;
      case 'status.podIPs': return run.ip;
      case 'status.hostIP': return '127.0.0.1';
      case 'status.hostIPs': return '127.0.0.1';
      default: throw new Error(`downward API field ${p} is not emulated`);
    }
  }

  async #env(run: PodRun, pod: V1Pod, c: V1Container): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#image.env)) env[k] = rewritePaths(v, run.pathMap);
    env.PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
    env.HOSTNAME = pod.spec?.hostname ?? run.name;
    env.KUBERNETES_SERVICE_HOST = this.#o.apiServer.host;
    env.KUBERNETES_SERVICE_PORT = String(this.#o.apiServer.port);
    env.KUBERNETES_SERVICE_PORT_HTTPS = String(this.#o.apiServer.port);
    for (const from of c.envFrom ?? []) {
      const prefix = from.prefix ?? '';
      if (from.configMapRef) {
        const cm = await this.#core.readNamespacedConfigMap({ name: from.configMapRef.name!, namespace: run.namespace }).catch((e: unknown) => {
          if (from.configMapRef!.optional && apiCode(e) === 404) return undefined;
          throw e;
        });
        for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = v;
      }
      if (from.secretRef) {
        const s = await this.#core.readNamespacedSecret({ name: from.secretRef.name!, namespace: run.namespace }).catch((e: unknown) => {
          if (from.secretRef!.optional && apiCode(e) === 404) return undefined;
          throw e;
        });
        for (const [k, v] of Object.entries(s?.data ?? {})) env[prefix + k] = Buffer.from(v, 'base64').toString('utf8');
      }
    }
    for (const e of c.env ?? []) env[e.name] = await this.#envValue(run, pod, e, env);
    // The pod hook: network, DNS and mount emulation inside the process.
    env.NODE_OPTIONS = `--import=${pathToFileURL(this.#hookFile).href}${env.NODE_OPTIONS ? ` ${env.NODE_OPTIONS}` : ''}`;
    env.RMQ_E2E_POD_IP = run.ip;
    env.RMQ_E2E_POD_NAMESPACE = run.namespace;
    env.RMQ_E2E_CLUSTER_DOMAIN = this.#o.clusterDomain;
    env.RMQ_E2E_HOSTS_FILE = this.hostsFile;
    env.RMQ_E2E_FS_MAP = JSON.stringify(run.pathMap);
    return env;
  }

  async #envValue(run: PodRun, pod: V1Pod, e: V1EnvVar, env: Record<string, string>): Promise<string> {
    if (e.value !== undefined) return rewritePaths(expandVars(e.value, env), run.pathMap);
    const src = e.valueFrom;
    if (!src) return '';
    if (src.fieldRef) return this.#fieldRef(pod, run, src.fieldRef);
    if (src.configMapKeyRef) {
      const r = src.configMapKeyRef;
      try {
        const v = (await this.#core.readNamespacedConfigMap({ name: r.name!, namespace: run.namespace })).data?.[r.key];
        if (v === undefined && !r.optional) throw new Error(`env ${e.name}: configMap ${r.name} has no key ${r.key}`);
        return v ?? '';
      } catch (err) {
        if (r.optional && apiCode(err) === 404) return '';
        throw err;
      }
    }
    if (src.secretKeyRef) {
      const r = src.secretKeyRef;
      try {
        const v = (await this.#core.readNamespacedSecret({ name: r.name!, namespace: run.namespace })).data?.[r.key];
        if (v === undefined && !r.optional) throw new Error(`env ${e.name}: secret ${r.name} has no key ${r.key}`);
        return v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8');
      } catch (err) {
        if (r.optional && apiCode(err) === 404) return '';
        throw err;
      }
    }
    if (src.resourceFieldRef) return '0';
    return '';
  }

  /** argv and working directory of a container, per the Dockerfile and the pod spec, mapped to host paths. */
  #argv(run: PodRun, c: V1Container, env: Record<string, string>): { argv: string[]; cwd: string } {
    const cmd = c.command ?? this.#image.entrypoint;
    const args = c.args ?? (c.command ? [] : this.#image.cmd);
    const argv = [...cmd, ...args].map((a) => rewritePaths(expandVars(a, env), run.pathMap));
    if (argv.length === 0) throw new Error(`container ${c.name}: no command (the image has no ENTRYPOINT/CMD and the pod sets none)`);
    if (argv[0] === 'node' || argv[0]!.endsWith('/node')) argv[0] = process.execPath;
    const cwd = rewritePaths(c.workingDir ?? this.#image.workdir, run.pathMap);
    return { argv, cwd: existsSync(cwd) ? cwd : run.dir };
  }

  async #startContainer(run: PodRun, pod: V1Pod, c: ContainerRun): Promise<void> {
    if (run.terminating) return;
    c.generation++;
    const gen = c.generation;
    let env: Record<string, string>;
    let argv: string[];
    let cwd: string;
    try {
      // Config maps change (e.g. namesrvAddr): every start sees the current content, like a restarted init container.
      for (const v of pod.spec?.volumes ?? []) if (v.configMap || v.secret) await this.#fillVolume(run, pod, v, join(run.dir, 'volumes', v.name));
      env = await this.#env(run, pod, c.spec);
      ({ argv, cwd } = this.#argv(run, c.spec, env));
    } catch (err) {
      c.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: String(err) };
      this.log.warn({ pod: `${run.namespace}/${run.name}`, container: c.spec.name, err: String(err) }, 'cannot start container');
      const now = new Date();
      c.exited = (async () => {
        await sleep(2_000);
        c.state = { kind: 'terminated', exitCode: 128, reason: 'CreateContainerConfigError', startedAt: now, finishedAt: new Date() };
      })();
      if (!c.init) void c.exited.then(() => this.#afterExit(run, pod, c, gen));
      return;
    }
    const logFile = join(run.dir, 'logs', `${c.spec.name}.log`);
    const fd = openSync(logFile, 'a');
    writeSync(fd, `--- e2e-agent: start #${c.restartCount} at ${new Date().toISOString()}: ${argv.join(' ')} (cwd ${cwd}, podIP ${run.ip})\n`);
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const pidFile = child.pid !== undefined ? join(this.workDir, 'pids', String(child.pid)) : undefined;
    if (pidFile) writeFileSync(pidFile, `${run.namespace}/${run.name}/${c.spec.name}\n`);
    const startedAt = new Date();
    c.child = child;
    c.state = { kind: 'running', startedAt };
    c.ready = false;
    c.started = !c.spec.startupProbe;
    this.log.info({ pod: `${run.namespace}/${run.name}`, container: c.spec.name, pid: child.pid, restartCount: c.restartCount }, 'container started');
    c.exited = new Promise<void>((res) => {
      child.once('error', (err) => {
        c.state = { kind: 'terminated', exitCode: 127, reason: 'StartError', startedAt, finishedAt: new Date() };
        this.log.warn({ pod: `${run.namespace}/${run.name}`, container: c.spec.name, err: String(err) }, 'container failed to start');
        res();
      });
      child.once('exit', (code, signal) => {
        if (pidFile) rmSync(pidFile, { force: true });
        const exitCode = code ?? 128 + signalNumber(signal);
        c.state = { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: new Date(), ...(signal ? { signal } : {}) };
        c.ready = false;
        this.log.info({ pod: `${run.namespace}/${run.name}`, container: c.spec.name, exitCode, signal }, 'container exited');
        res();
      });
    });
    if (!c.init) {
      this.#startProbes(run, pod, c, gen);
      void c.exited.then(() => this.#afterExit(run, pod, c, gen));
    }
  }

  async #afterExit(run: PodRun, pod: V1Pod, c: ContainerRun, gen: number): Promise<void> {
    if (gen !== c.generation) return;
    for (const t of c.timers) clearInterval(t);
    c.timers = [];
    if (run.terminating || !this.#running) return;
    const t = c.state;
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const failed = t.kind === 'terminated' && t.exitCode !== 0;
    if (policy === 'Never' || (policy === 'OnFailure' && !failed)) {
      if (run.containers.every((x) => x.state.kind === 'terminated')) run.finished = true;
      return;
    }
    // A run that lasted a while resets the back-off, like the kubelet's 10-minute rule (scaled down).
    if (t.kind === 'terminated' && t.finishedAt.getTime() - t.startedAt.getTime() > 30_000) c.backoffMs = 1_000;
    await this.#backoff(run, c);
    if (gen !== c.generation || run.terminating) return;
    await this.#startContainer(run, pod, c);
  }

  // ---- probes -----------------------------------------------------------------------------------

  #startProbes(run: PodRun, pod: V1Pod, c: ContainerRun, gen: number): void {
    const cap = this.#o.probePeriodCapSeconds;
    const schedule = (probe: V1Probe, kind: 'startup' | 'readiness' | 'liveness', onResult: (ok: boolean, why: string) => void) => {
      const period = kind === 'liveness' ? (probe.periodSeconds ?? 10) : Math.min(probe.periodSeconds ?? 10, cap);
      const delay = kind === 'liveness' ? (probe.initialDelaySeconds ?? 0) : Math.min(probe.initialDelaySeconds ?? 0, cap);
      let busy = false;
      const tick = () => {
        if (busy || gen !== c.generation || c.state.kind !== 'running') return;
        if (kind !== 'startup' && !c.started) return;
        if (kind === 'startup' && c.started) return;
        busy = true;
        void this.#probe(run, pod, c, probe).then(([ok, why]) => {
          busy = false;
          if (gen === c.generation && c.state.kind === 'running') onResult(ok, why);
        });
      };
      const first = setTimeout(() => {
        tick();
        c.timers.push(setInterval(tick, period * 1000));
      }, delay * 1000);
      c.timers.push(first);
    };
    const s = c.spec;
    let fails = 0;
    let okCount = 0;
    if (s.startupProbe) {
      const p = s.startupProbe;
      schedule(p, 'startup', (ok, why) => {
        if (ok) {
          c.started = true;
          fails = 0;
        } else if (++fails >= (p.failureThreshold ?? 3)) {
          fails = 0;
          this.log.warn({ pod: `${run.namespace}/${run.name}`, container: s.name, why }, 'startup probe failed: restarting container');
          void this.#killContainer(c, (p.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
        }
      });
    }
    if (s.readinessProbe) {
      const p = s.readinessProbe;
      let rFails = 0;
      schedule(p, 'readiness', (ok, why) => {
        if (ok) {
          rFails = 0;
          if (++okCount >= (p.successThreshold ?? 1)) c.ready = true;
        } else {
          okCount = 0;
          if (++rFails >= (p.failureThreshold ?? 3) || !c.ready) {
            if (c.ready) this.log.info({ pod: `${run.namespace}/${run.name}`, container: s.name, why }, 'readiness probe failed');
            c.ready = false;
          }
        }
      });
    } else {
      const t = setInterval(() => {
        if (gen === c.generation && c.state.kind === 'running' && c.started) c.ready = true;
      }, 200);
      c.timers.push(t);
    }
    if (s.livenessProbe) {
      const p = s.livenessProbe;
      let lFails = 0;
      schedule(p, 'liveness', (ok, why) => {
        if (ok) lFails = 0;
        else if (++lFails >= (p.failureThreshold ?? 3)) {
          lFails = 0;
          this.log.warn({ pod: `${run.namespace}/${run.name}`, container: s.name, why }, 'liveness probe failed: restarting container');
          void this.#killContainer(c, (p.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
        }
      });
    }
  }

  async #probe(run: PodRun, pod: V1Pod, c: ContainerRun, p: V1Probe): Promise<[boolean, string]> {
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    const port = (v: number | string | undefined): number => {
      if (typeof v === 'number') return v;
      if (v !== undefined && /^\d+$/.test(v)) return Number(v);
      const found = c.spec.ports?.find((x) => x.name === v)?.containerPort;
      if (found === undefined) throw new Error(`probe port "${String(v)}" is not a port of container ${c.spec.name}`);
      return found;
    };
    try {
      if (p.httpGet) {
        const g = p.httpGet;
        const mod = g.scheme === 'HTTPS' ? https : http;
        const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
        return await new Promise<[boolean, string]>((res) => {
          const req = mod.get({ host: g.host ?? run.ip, port: port(g.port), path: g.path ?? '/', headers, timeout: timeoutMs, rejectUnauthorized: false }, (r: http.IncomingMessage) => {
            r.resume();
            const code = r.statusCode ?? 0;
            res([code >= 200 && code < 400, `HTTP ${code} from ${g.path ?? '/'}`]);
          });
          req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
          req.on('error', (err: Error) => res([false, String(err)]));
        });
      }
      if (p.tcpSocket) {
        const target = { host: p.tcpSocket.host ?? run.ip, port: port(p.tcpSocket.port) };
        return await new Promise<[boolean, string]>((res) => {
          const s = createConnection(target);
          s.setTimeout(timeoutMs, () => s.destroy(new Error('timeout')));
          s.once('connect', () => {
            s.destroy();
            res([true, 'connected']);
          });
          s.once('error', (err) => res([false, String(err)]));
        });
      }
      if (p.exec) {
        const env = await this.#env(run, pod, c.spec);
        const argv = (p.exec.command ?? []).map((a) => rewritePaths(a, run.pathMap));
        if (argv[0] === 'node') argv[0] = process.execPath;
        return await new Promise<[boolean, string]>((res) => {
          const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore', timeout: timeoutMs });
          child.once('error', (err) => res([false, String(err)]));
          child.once('exit', (code) => res([code === 0, `exit ${code}`]));
        });
      }
      return [false, 'probe type not emulated (grpc)'];
    } catch (err) {
      return [false, String(err)];
    }
  }

  // ---- stopping -----------------------------------------------------------------------------------

  /** SIGTERM to the container's process group, SIGKILL after `graceMs`; resolves when it exited. */
  async #killContainer(c: ContainerRun, graceMs: number): Promise<void> {
    const child = c.child;
    if (!child || c.state.kind !== 'running' || child.pid === undefined) return;
    const pid = child.pid;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // already gone
      }
    };
    signal(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const killer = setTimeout(() => signal('SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(killer);
  }

  async #killPod(run: PodRun, graceMs: number): Promise<void> {
    run.terminating = true;
    for (const c of [...run.initContainers, ...run.containers]) {
      for (const t of c.timers) clearInterval(t);
      c.timers = [];
    }
    await Promise.all([...run.initContainers, ...run.containers].map((c) => this.#killContainer(c, graceMs)));
  }

  async #terminate(run: PodRun, pod: V1Pod): Promise<void> {
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.log.info({ pod: `${run.namespace}/${run.name}`, graceSeconds: grace }, 'pod deleted: stopping containers');
    await this.#killPod(run, grace * 1000);
    try {
      await this.#core.deleteNamespacedPod({ name: run.name, namespace: run.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: run.uid } } });
      this.log.info({ pod: `${run.namespace}/${run.name}` }, 'pod deletion completed');
    } catch (err) {
      if (apiCode(err) !== 404 && apiCode(err) !== 409) this.log.warn({ pod: `${run.namespace}/${run.name}`, err: String(err) }, 'final delete failed');
    }
    this.#pods.delete(run.uid);
  }

  // ---- status -------------------------------------------------------------------------------------

  #containerStatus(c: ContainerRun): V1ContainerStatus {
    const st = (s: ContainerState) =>
      s.kind === 'waiting'
        ? { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } }
        : s.kind === 'running'
          ? { running: { startedAt: s.startedAt } }
          : { terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt, ...(s.signal ? { signal: signalNumber(s.signal) } : {}) } };
    return {
      name: c.spec.name,
      image: c.spec.image ?? '',
      imageID: '',
      ready: c.ready && c.state.kind === 'running',
      started: c.state.kind === 'running' && c.started,
      restartCount: c.restartCount,
      state: st(c.state),
      ...(c.lastTerminated ? { lastState: st(c.lastTerminated) } : {}),
      ...(c.child?.pid !== undefined ? { containerID: `e2e-agent://${c.child.pid}` } : {}),
    };
  }

  #phase(run: PodRun, pod: V1Pod): string {
    if (!run.initialized) return run.finished ? 'Failed' : 'Pending';
    const states = run.containers.map((c) => c.state);
    if (states.some((s) => s.kind === 'running')) return 'Running';
    if (run.finished) return states.every((s) => s.kind === 'terminated' && s.exitCode === 0) ? 'Succeeded' : 'Failed';
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Always' && run.containers.some((c) => c.restartCount > 0 || c.state.kind === 'waiting')) return run.containers.some((c) => c.restartCount > 0) ? 'Running' : 'Pending';
    return 'Pending';
  }

  async #writeStatus(run: PodRun, pod: V1Pod): Promise<void> {
    const containersReady = run.containers.length > 0 && run.containers.every((c) => c.ready && c.state.kind === 'running');
    const phase = this.#phase(run, pod);
    const cond = (type: string, ok: boolean, reason?: string): V1PodCondition => {
      const status = ok ? 'True' : 'False';
      const prev = run.conditionTimes.get(type);
      const time = prev && prev.status === status ? prev.time : new Date();
      run.conditionTimes.set(type, { status, time });
      return { type, status, lastTransitionTime: time, ...(ok || !reason ? {} : { reason }) };
    };
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled') ?? { type: 'PodScheduled', status: 'True', lastTransitionTime: run.startTime };
    const status: V1PodStatus = {
      ...(pod.status ?? {}),
      phase,
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', run.initialized, 'ContainersNotInitialized'),
        cond('Ready', containersReady, 'ContainersNotReady'),
        cond('ContainersReady', containersReady, 'ContainersNotReady'),
        scheduled,
      ],
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: run.ip,
      podIPs: [{ ip: run.ip }],
      startTime: run.startTime,
      containerStatuses: run.containers.map((c) => this.#containerStatus(c)),
      ...(run.initContainers.length > 0 ? { initContainerStatuses: run.initContainers.map((c) => this.#containerStatus(c)) } : {}),
      ...(run.fatal ? { message: run.fatal.message, reason: run.fatal.reason } : {}),
    };
    const json = JSON.stringify(status);
    if (json === run.lastStatusJson) return;
    try {
      await this.#core.replaceNamespacedPodStatus({ name: run.name, namespace: run.namespace, body: { ...pod, status } });
      run.lastStatusJson = json;
    } catch (err) {
      // 409: the pod changed since it was listed; the next pass writes again.
      if (apiCode(err) !== 409 && apiCode(err) !== 404) this.log.warn({ pod: `${run.namespace}/${run.name}`, err: String(err) }, 'status update failed');
    }
  }

  // ---- names --------------------------------------------------------------------------------------

  #updateHosts(pods: V1Pod[], services: V1Service[]): void {
    const d = this.#o.clusterDomain;
    const table: Record<string, string[]> = {};
    const add = (name: string, ip: string) => {
      const list = (table[name.toLowerCase()] ??= []);
      if (!list.includes(ip)) list.push(ip);
    };
    const ready = (p: V1Pod) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    for (const svc of services) {
      const ns = svc.metadata?.namespace ?? 'default';
      const name = svc.metadata?.name ?? '';
      const selector = svc.spec?.selector;
      table[`${name}.${ns}.svc.${d}`.toLowerCase()] ??= [];
      if (!selector) continue;
      const headless = svc.spec?.clusterIP === 'None';
      for (const p of pods) {
        if (p.metadata?.namespace !== ns || !p.status?.podIP || p.spec?.nodeName !== this.nodeName) continue;
        if (!Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v)) continue;
        const publish = ready(p) || (headless && svc.spec?.publishNotReadyAddresses === true && !p.metadata?.deletionTimestamp);
        if (!publish) continue;
        add(`${name}.${ns}.svc.${d}`, p.status.podIP);
        if (headless && p.spec?.subdomain === name) add(`${p.spec.hostname ?? p.metadata.name}.${name}.${ns}.svc.${d}`, p.status.podIP);
      }
    }
    const text = JSON.stringify(table);
    if (text === JSON.stringify(this.#hosts)) return;
    this.#hosts = table;
    const tmp = `${this.hostsFile}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.hostsFile);
  }
}

// ---- helpers ------------------------------------------------------------------------------------

export function apiCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Kubernetes `$(VAR)` expansion (`$$` escapes). */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : name !== undefined && env[name] !== undefined ? env[name] : m));
}

/**
 * The path-mapping rule: every occurrence of a container path (longest first) that starts a path
 * (preceded by start, whitespace, quote, `=`, `:` or `;`) and ends at a boundary (end, `/`,
 * whitespace, quote, `;`, `,`, `:`) becomes its host path.
 */
export function rewritePaths(text: string, map: ReadonlyArray<readonly [string, string]>): string {
  if (map.length === 0) return text;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const sorted = [...map].sort(([a], [b]) => b.length - a.length);
  const re = new RegExp(`(^|[\\s"'=:;,])(${sorted.map(([p]) => esc(p)).join('|')})(?=$|[/\\s"';,:])`, 'gm');
  const to = new Map(sorted);
  return text.replace(re, (_m, pre: string, path: string) => pre + (to.get(path) ?? path));
}

function signalNumber(signal: string | null | undefined): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return signal ? (table[signal] ?? 0) : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// The e2e tier's cluster: a real control plane (test/e2e/cluster/start.sh) with the node agent
// (test/e2e/agent) on this machine, or — with RMQ_E2E_KUBECONFIG — any cluster that runs the
// project's image (kind, see test/kind/). Scenario code only uses E2ECluster.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { NodeAgent, apiCode } from '../agent/agent.js';

export const ROOT = join(import.meta.dirname, '../../..');
const CLUSTER_SCRIPTS = join(ROOT, 'test/e2e/cluster');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The control-plane binaries' directory (setup.sh's cache), built on first use. */
function binDir(): string {
  const r = spawnSync('bash', ['-c', `. "${CLUSTER_SCRIPTS}/env.sh" && echo "$RMQ_K8S_BIN"`], { encoding: 'utf8' });
  return r.stdout.trim();
}

/**
 * Whether the tier can run here (fast; at collection): an external cluster (RMQ_E2E_KUBECONFIG),
 * or Go + openssl to build and start the local control plane. Returns a reason to skip; under
 * CI=true a missing toolchain is an error, never a skip.
 */
export function prepareE2E(): string | undefined {
  if (process.env.RMQ_E2E_KUBECONFIG) return undefined;
  const missing = ['go', 'npm', 'openssl', 'curl', 'setsid'].filter((c) => !has(c));
  if (missing.length > 0) {
    const reason = `the e2e tier needs ${missing.join(', ')} on PATH (Go builds kube-apiserver/etcd from the Go module proxy; openssl makes the cluster's certificates)`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing toolchain fails the run)`);
    return reason;
  }
  return undefined;
}

/**
 * Builds or fetches the control-plane binaries if the cache lacks them (test/e2e/cluster/setup.sh;
 * the first run compiles kube-apiserver, ~13 min on 2 cores). Called from beforeAll (hookTimeout).
 */
export async function ensureBinaries(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/broker/src/cli/rmq.js'))) throw new Error("dist/ is missing: run npm run build first (the agent runs the image from this checkout's build)");
  const r = await run('bash', [join(CLUSTER_SCRIPTS, 'setup.sh')], { timeoutMs: 3_600_000, stderr: process.stderr });
  if (r.code !== 0) throw new Error(`test/e2e/cluster/setup.sh failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running cluster for one test file; logs of every process under `dir`, kept when a test fails. */
export class E2ECluster {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly objects: KubernetesObjectApi;
  readonly agent: NodeAgent | undefined;
  readonly bin: string;
  #failed = false;
  readonly #local: boolean;

  private constructor(dir: string, kubeconfigPath: string, agent: NodeAgent | undefined, kc: KubeConfig, bin: string) {
    this.dir = dir;
    this.kubeconfigPath = kubeconfigPath;
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.agent = agent;
    this.bin = bin;
    this.#local = agent !== undefined;
  }

  /** Starts etcd + kube-apiserver + kube-controller-manager and the node agent (seconds when the binaries are cached). */
  static async start(name: string): Promise<E2ECluster> {
    const base = join(ROOT, '.tmp/e2e');
    mkdirSync(base, { recursive: true });
    const dir = join(base, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const external = process.env.RMQ_E2E_KUBECONFIG;
    if (external) {
      mkdirSync(dir, { recursive: true });
      const kc = new KubeConfig();
      kc.loadFromFile(external);
      return new E2ECluster(dir, external, undefined, kc, process.env.RMQ_E2E_BIN ?? '');
    }
    await ensureBinaries();
    const r = await run('bash', [join(CLUSTER_SCRIPTS, 'start.sh'), join(dir, 'cp')], { env: { ...process.env, RMQ_E2E_PARENT_PID: String(process.pid) }, timeoutMs: 240_000 });
    if (r.code !== 0) throw new Error(`start.sh failed (exit ${r.code}); logs in ${dir}/cp:\n${r.stderr.slice(-3000)}`);
    const kubeconfigPath = r.stdout.trim();
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const port = Number(/APISERVER_PORT=(\d+)/.exec(readFileSync(join(dir, 'cp/ports.env'), 'utf8'))![1]);
    const agent = new NodeAgent({ kubeConfig: kc, apiServer: { host: '127.0.0.1', port }, caFile: join(dir, 'cp/pki/ca.crt'), workDir: join(dir, 'cp/agent') });
    try {
      await agent.start();
    } catch (err) {
      await agent.stop(1_000).catch(() => undefined);
      await run('bash', [join(CLUSTER_SCRIPTS, 'stop.sh'), join(dir, 'cp')], { timeoutMs: 60_000 });
      throw new Error(`the node agent did not start (logs kept in ${dir}): ${String(err)}`);
    }
    return new E2ECluster(dir, kubeconfigPath, agent, kc, binDir());
  }

  /** Marks the run as failed: logs are kept (call from afterEach when a test failed). */
  markFailed(): void {
    this.#failed = true;
  }

  /** Stops the agent's pods and the control plane; removes the logs unless a test failed. */
  async stop(): Promise<void> {
    if (this.#failed) await this.dump().catch(() => undefined);
    if (this.agent) await this.agent.stop(15_000);
    if (this.#local) await run('bash', [join(CLUSTER_SCRIPTS, 'stop.sh'), join(this.dir, 'cp')], { timeoutMs: 60_000 });
    if (this.#failed || process.env.RMQ_E2E_KEEP === '1') process.stderr.write(`e2e: logs of every process kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /** What the cluster shows, for failure analysis: objects, events, pod logs locations. */
  async dump(): Promise<void> {
    const parts: string[] = [];
    for (const args of [['get', 'all,cm,pvc,lease,nodes,events', '-A', '-o', 'wide'], ['get', 'pods', '-A', '-o', 'yaml']]) {
      const r = await this.kubectl(args, { check: false });
      parts.push(`$ kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    }
    writeFileSync(join(this.dir, 'cluster-dump.txt'), parts.join('\n\n'));
  }

  kubectl(args: string[], opts: { check?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.#tool('kubectl', args, opts);
  }

  helm(args: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.#tool('helm', args, opts);
  }

  async #tool(tool: string, args: string[], opts: { check?: boolean; input?: string; timeoutMs?: number }): Promise<RunResult> {
    const exe = this.bin ? join(this.bin, tool) : tool;
    const r = await run(exe, ['--kubeconfig', this.kubeconfigPath, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, env: { ...process.env, HELM_CACHE_HOME: join(this.dir, 'helm-cache'), HELM_CONFIG_HOME: join(this.dir, 'helm-config'), HELM_DATA_HOME: join(this.dir, 'helm-data') } });
    if (opts.check !== false && r.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
    return r;
  }

  /** Creates (or replaces) objects in order. */
  async apply(objs: KubernetesObject[]): Promise<void> {
    for (const o of objs) {
      try {
        await this.objects.create(o);
      } catch (err) {
        if (apiCode(err) !== 409) throw new Error(`creating ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: ${String(err)}`);
        const cur = await this.objects.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace! } });
        await this.objects.replace({ ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata?.resourceVersion } });
      }
    }
  }

  /** Pods of a namespace matching a label selector, with a one-line summary each. */
  async pods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
  }

  async podSummary(namespace: string): Promise<string> {
    const pods = await this.pods(namespace);
    return pods
      .map((p) => {
        const cs = (p.status?.containerStatuses ?? []).map((c) => `${c.name}:${c.ready ? 'ready' : 'not-ready'}/${Object.keys(c.state ?? {})[0] ?? '?'}${c.state?.waiting?.reason ? `(${c.state.waiting.reason})` : ''}/restarts=${c.restartCount}`);
        return `${p.metadata?.name} ${p.status?.phase ?? '?'} ip=${p.status?.podIP ?? '-'}${p.metadata?.deletionTimestamp ? ' terminating' : ''} [${cs.join(', ')}]`;
      })
      .join('\n  ');
  }

  /**
   * Polls `check` until it returns true; on time-out throws what was expected and what the
   * cluster showed (pods of `namespace` and the last observation `check` reported).
   */
  async waitFor(what: string, namespace: string, timeoutMs: number, check: () => Promise<boolean | string>): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const r = await check();
        if (r === true) return;
        last = typeof r === 'string' ? r : '';
      } catch (err) {
        last = `error: ${String(err)}`;
      }
      if (Date.now() > end) {
        this.markFailed();
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n  last observation: ${last}\n  pods in ${namespace}:\n  ${await this.podSummary(namespace).catch((e: unknown) => String(e))}\n  logs: ${this.dir}`);
      }
      await new Promise((r2) => setTimeout(r2, 500));
    }
  }

  /** Waits until a StatefulSet has `replicas` ready pods at its update revision. */
  async waitStatefulSetReady(namespace: string, name: string, timeoutMs = 180_000): Promise<void> {
    await this.waitFor(`StatefulSet ${namespace}/${name} ready`, namespace, timeoutMs, async () => {
      const s = await this.apps.readNamespacedStatefulSet({ name, namespace });
      const want = s.spec?.replicas ?? 1;
      const st = s.status;
      const ok = (st?.readyReplicas ?? 0) === want && (st?.updatedReplicas ?? 0) === want && (st?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0);
      return ok || `replicas=${want} ready=${st?.readyReplicas ?? 0} updated=${st?.updatedReplicas ?? 0} current=${st?.currentReplicas ?? 0}`;
    });
  }

  /** `<ip>:<port>` of a Service name as pods resolve it (local agent) or of a ready pod (external cluster). */
  async serviceAddress(namespace: string, service: string, port: number): Promise<string> {
    if (this.agent) {
      let ips: string[] = [];
      await this.waitFor(`Service ${namespace}/${service} to have a ready endpoint`, namespace, 60_000, () => {
        ips = this.agent!.resolve(`${service}.${namespace}.svc.cluster.local`);
        return Promise.resolve(ips.length > 0 || 'no ready endpoint');
      });
      return `${ips[0]!}:${port}`;
    }
    // External cluster (kind): test/kind/run.sh routes the pod and service CIDRs through the kind node, so the ClusterIP works from here.
    const svc = await this.core.readNamespacedService({ name: service, namespace });
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') throw new Error(`Service ${namespace}/${service} has no cluster IP (headless?)`);
    return `${ip}:${port}`;
  }
}

/** Runs a command to completion (bounded), collecting its output. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | undefined; timeoutMs: number; stderr?: NodeJS.WritableStream }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.stderr?.write(d);
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // a command that exits without reading its input must not turn into an EPIPE thrown at the test run
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

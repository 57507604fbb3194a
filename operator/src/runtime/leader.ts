// Leader election with a coordination.k8s.io/v1 Lease (client-node has none): only the holder
// reconciles, so two operator replicas never restart the same broker. The decision is a pure
// function of the Lease and the clock; the elector only reads and writes the Lease with its
// resourceVersion as precondition (a lost race is a 409, never two leaders).
import type { Logger } from 'pino';
import { R, isConflict, type KubeApi } from './kube.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export type LeaseDecision =
  | { action: 'create' }
  /** We hold it: renew. */
  | { action: 'renew' }
  /** Free or expired: take it over. */
  | { action: 'takeOver' }
  /** Someone else holds a live lease: wait. */
  | { action: 'wait'; holder: string; expiresInMs: number };

/** What to do with the Lease now. */
export function decideLease(lease: Lease | undefined, identity: string, nowMs: number): LeaseDecision {
  if (!lease) return { action: 'create' };
  const spec = lease.spec ?? {};
  const holder = spec.holderIdentity ?? '';
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'takeOver' };
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
  if (Number.isNaN(renewed)) return { action: 'takeOver' };
  const expiresInMs = renewed + durationMs - nowMs;
  return expiresInMs <= 0 ? { action: 'takeOver' } : { action: 'wait', holder, expiresInMs };
}

/** Micro-second RFC 3339 time, the format of Lease times (MicroTime). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  /** How often the holder renews and others retry. */
  retryPeriodMs?: number;
  /** The holder gives up leadership when it could not renew for this long. */
  renewDeadlineMs?: number;
}

export class LeaderElector {
  readonly #api: KubeApi;
  readonly #opts: Required<LeaderElectorOptions>;
  readonly #log: Logger;
  #leading = false;
  #stopped = false;
  #lastRenewOk = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(api: KubeApi, opts: LeaderElectorOptions, log: Logger) {
    this.#api = api;
    this.#opts = { leaseDurationSeconds: 15, retryPeriodMs: 2_000, renewDeadlineMs: 10_000, ...opts };
    this.#log = log;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /**
   * Resolves once this process holds the lease; afterwards keeps renewing and calls `onLost` once
   * if leadership is lost (the caller stops reconciling and exits, as controller-runtime does).
   */
  async acquire(onLost: () => void): Promise<void> {
    while (!this.#stopped) {
      if (await this.#tryOnce()) break;
      await new Promise((r) => setTimeout(r, this.#opts.retryPeriodMs));
    }
    if (this.#stopped) return;
    this.#log.info({ lease: `${this.#opts.namespace}/${this.#opts.name}`, identity: this.#opts.identity }, 'became leader');
    const renew = async (): Promise<void> => {
      if (this.#stopped) return;
      const ok = await this.#tryOnce();
      if (!ok && Date.now() - this.#lastRenewOk > this.#opts.renewDeadlineMs) {
        this.#leading = false;
        this.#log.error({ identity: this.#opts.identity }, 'lost leadership');
        onLost();
        return;
      }
      this.#timer = setTimeout(() => void renew(), this.#opts.retryPeriodMs);
    };
    this.#timer = setTimeout(() => void renew(), this.#opts.retryPeriodMs);
  }

  /** Stops renewing and releases the lease so another replica takes over at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#api.get<Lease>(R.lease, this.#opts.namespace, this.#opts.name);
      if (lease?.spec?.holderIdentity !== this.#opts.identity) return;
      await this.#api.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(Date.now()) } });
    } catch (err) {
      this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the lease');
    }
  }

  async #tryOnce(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.#opts;
    const now = Date.now();
    try {
      const lease = await this.#api.get<Lease>(R.lease, namespace, name);
      const d = decideLease(lease, identity, now);
      if (d.action === 'wait') return false;
      const t = microTime(now);
      if (d.action === 'create') {
        await this.#api.create<Lease>({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 },
        });
      } else {
        const spec = lease!.spec ?? {};
        const next: LeaseSpec =
          d.action === 'renew'
            ? { ...spec, renewTime: t, leaseDurationSeconds }
            : { holderIdentity: identity, leaseDurationSeconds, acquireTime: t, renewTime: t, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
        await this.#api.replace<Lease>({ ...lease!, spec: next });
      }
      this.#leading = true;
      this.#lastRenewOk = now;
      return true;
    } catch (err) {
      // 409: another replica wrote first (create or update); it leads.
      if (!isConflict(err)) this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease update failed');
      return false;
    }
  }
}

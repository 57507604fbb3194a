// The broker's Prometheus metrics: counters and latency histograms updated on the send/pull hot
// path, gauges read from the BrokerStatus snapshot at scrape time.
import type { BrokerStatus } from './broker-status.js';
import { replicationLagBytes } from './broker-status.js';
import { CappedSeries, CappedSeries2, Histogram, type Exposition, type Sample } from './prometheus.js';

/**
 * Cardinality caps. Topics and topic×group pairs beyond these are summed into the label value
 * "(other)" (auto-created topics or groups must not blow up a scrape).
 */
export const MAX_TOPIC_SERIES = 1000;
export const MAX_TOPIC_GROUP_SERIES = 2000;

interface SendSeries {
  messages: number;
  bytes: number;
}

interface PullSeries {
  pulls: number;
  messages: number;
  bytes: number;
}

export class BrokerMetrics {
  readonly #sent = new CappedSeries<SendSeries>(MAX_TOPIC_SERIES, () => ({ messages: 0, bytes: 0 }));
  readonly #pulled = new CappedSeries2<PullSeries>(MAX_TOPIC_GROUP_SERIES, () => ({ pulls: 0, messages: 0, bytes: 0 }));
  /** Keyed by PutStatus: a handful of values. */
  readonly #putFailures = new Map<string, number>();
  readonly sendDuration = new Histogram();
  readonly pullDuration = new Histogram();

  /** A send the store accepted: `messages` records (a batch counts each), `bytes` of request body. */
  sent(topic: string, messages: number, bytes: number, elapsedMs: number): void {
    const s = this.#sent.get(topic);
    s.messages += messages;
    s.bytes += bytes;
    this.sendDuration.observe(elapsedMs / 1000);
  }

  /** A send the store rejected (status: MESSAGE_ILLEGAL, SERVICE_NOT_AVAILABLE, IO_ERROR…). */
  putFailed(status: string, elapsedMs: number): void {
    this.#putFailures.set(status, (this.#putFailures.get(status) ?? 0) + 1);
    this.sendDuration.observe(elapsedMs / 1000);
  }

  /** An answered pull (found or not); `elapsedMs` excludes time parked by long polling. */
  pulled(topic: string, group: string, messages: number, bytes: number, elapsedMs: number): void {
    const s = this.#pulled.get(topic, group);
    s.pulls++;
    s.messages += messages;
    s.bytes += bytes;
    this.pullDuration.observe(elapsedMs / 1000);
  }

  /** Writes the counter and histogram families. */
  writeCounters(exp: Exposition): void {
    const sent = [...this.#sent.entries()];
    const pulled = [...this.#pulled.entries()];
    exp
      .counter('rocketmq_broker_messages_sent_total', 'Messages stored from producer sends, per topic.', sent.map(([t, s]): Sample => [[['topic', t]], s.messages]))
      .counter('rocketmq_broker_sent_bytes_total', 'Bytes of send request bodies stored, per topic.', sent.map(([t, s]): Sample => [[['topic', t]], s.bytes]))
      .counter('rocketmq_broker_put_failures_total', 'Sends the store rejected, per store status.', [...this.#putFailures].map(([st, n]): Sample => [[['status', st]], n]))
      .histogram('rocketmq_broker_send_duration_seconds', 'Time from send request arrival to the store result, in seconds.', this.sendDuration)
      .counter('rocketmq_broker_pulls_total', 'Pull requests answered, per topic and consumer group.', pulled.map(([t, g, s]): Sample => [[['topic', t], ['group', g]], s.pulls]))
      .counter('rocketmq_broker_messages_pulled_total', 'Messages returned to pulls, per topic and consumer group.', pulled.map(([t, g, s]): Sample => [[['topic', t], ['group', g]], s.messages]))
      .counter('rocketmq_broker_pulled_bytes_total', 'Bytes of messages returned to pulls, per topic and consumer group.', pulled.map(([t, g, s]): Sample => [[['topic', t], ['group', g]], s.bytes]))
      .histogram('rocketmq_broker_pull_duration_seconds', 'Time to answer a pull, excluding time parked by long polling, in seconds.', this.pullDuration);
  }
}

const bool = (b: boolean): number => (b ? 1 : 0);

/** Writes the gauge families that come from a status snapshot. */
export function writeStatusGauges(exp: Exposition, s: BrokerStatus): void {
  const registered = new Set(s.registeredWith);
  exp
    .gauge('rocketmq_broker_info', 'Broker identity; always 1.', [
      [[['cluster', s.clusterName], ['broker_name', s.brokerName], ['broker_id', String(s.brokerId)], ['role', s.role], ['broker_addr', s.brokerAddr], ['version', s.version]], 1],
    ])
    .gauge('rocketmq_broker_ready', '1 when /readyz answers 200.', bool(s.ready))
    .gauge('rocketmq_broker_writable', '1 when the broker permission allows writes.', bool(s.writable))
    .gauge('rocketmq_broker_namesrv_registered', '1 per configured NameServer that accepted the latest registration, else 0.', s.nameServers.map((n): Sample => [[['namesrv', n]], bool(registered.has(n))]))
    .gauge('rocketmq_broker_commitlog_max_offset_bytes', 'Commit-log max (next write) offset.', s.commitLogMaxOffset)
    .gauge('rocketmq_broker_commitlog_min_offset_bytes', 'Commit-log min readable offset.', s.commitLogMinOffset)
    .gauge('rocketmq_broker_commitlog_flushed_offset_bytes', 'Commit-log offset fsynced to disk.', s.flushedOffset)
    .gauge('rocketmq_broker_disk_usage_ratio', 'Used-space ratio (0..1) of the filesystem holding the commit log.', s.diskUsageRatio ?? undefined)
    .gauge('rocketmq_broker_open_connections', 'Open client connections on the remoting ports.', s.openConnections)
    .gauge('rocketmq_broker_held_pull_requests', 'Pull requests parked by long polling.', s.heldPullRequests)
    .gauge('rocketmq_broker_replication_lag_bytes', "Slave: bytes behind its master. Master: the largest lag among its slaves.", replicationLagBytes(s));
  if (s.haConnections) {
    exp
      .gauge('rocketmq_broker_ha_connections', 'Master: connected slaves.', s.haConnections.length)
      .gauge('rocketmq_broker_ha_slave_lag_bytes', 'Master: bytes a slave is behind, per slave.', s.haConnections.map((c): Sample => [[['slave', c.remote]], c.lagBytes]))
      .gauge('rocketmq_broker_ha_slave_acked_offset_bytes', 'Master: commit-log offset a slave acknowledged, per slave.', s.haConnections.map((c): Sample => [[['slave', c.remote]], c.ackedOffset]));
  }
  if (s.replication) {
    exp
      .gauge('rocketmq_broker_master_connected', 'Slave: 1 while connected to its master.', bool(s.replication.connected))
      .gauge('rocketmq_broker_replicated_offset_bytes', 'Slave: commit-log offset replicated from the master.', s.replication.replicatedOffset);
  }
}

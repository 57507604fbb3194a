// An in-memory HATransport for tests: no sockets, deterministic, and able to do what a network does
// to a byte stream on purpose — split deliveries at any point (down to one byte), hold data while
// the reader is paused (so writers see backpressure), and partition a listener (drop its channels
// and refuse connects) until healed.
import { RmqError } from '../common/errors.js';
import { splitAddress, type ChannelHandlers, type HAChannel, type HAListener, type HATransport } from './ha-transport.js';

export interface MemoryTransportOptions {
  /** How each delivery is cut into data events (default: as written). */
  split?: (chunk: Buffer) => Buffer[];
  /** At most this many bytes are delivered per turn of the event loop (default 64 KiB). */
  deliveryBytesPerTurn?: number;
}

interface MemoryListener {
  readonly port: number;
  readonly onChannel: (channel: HAChannel) => void;
  readonly ends: Set<MemoryEnd>;
}

class MemoryEnd implements HAChannel {
  readonly remote: string;
  peer!: MemoryEnd;
  readonly #transport: MemoryHATransport;
  readonly #inbox: Buffer[] = [];
  #inboxBytes = 0;
  #handlers: ChannelHandlers | undefined;
  #paused = false;
  #scheduled = false;
  #closed = false;

  constructor(transport: MemoryHATransport, remote: string) {
    this.#transport = transport;
    this.remote = remote;
  }

  get pendingWriteBytes(): number {
    return this.peer.#inboxBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    if (this.#closed) {
      setImmediate(() => handlers.close());
      return;
    }
    this.#schedule();
  }

  write(chunks: readonly Buffer[]): void {
    if (this.#closed) return;
    const data = Buffer.concat(chunks);
    if (data.length === 0) return;
    this.peer.#inbox.push(data);
    this.peer.#inboxBytes += data.length;
    this.peer.#schedule();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  close(): void {
    this.#shut();
    this.peer.#shut();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
    const h = this.#handlers;
    if (h) setImmediate(() => h.close());
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed || this.#paused || !this.#handlers || this.#inboxBytes === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const h = this.#handlers;
    if (!h || this.#closed) return;
    let budget = this.#transport.deliveryBytesPerTurn;
    while (budget > 0 && this.#inbox.length > 0 && !this.#paused && !this.#closed) {
      let chunk = this.#inbox.shift()!;
      if (chunk.length > budget) {
        this.#inbox.unshift(chunk.subarray(budget));
        chunk = chunk.subarray(0, budget);
      }
      this.#inboxBytes -= chunk.length;
      budget -= chunk.length;
      const pieces = this.#transport.split(chunk);
      for (let i = 0; i < pieces.length; i++) {
        if (this.#paused || this.#closed) {
          // The reader paused mid-delivery: keep the rest, in order, for resume().
          const rest = Buffer.concat(pieces.slice(i));
          if (!this.#closed) {
            this.#inbox.unshift(rest);
            this.#inboxBytes += rest.length;
          }
          break;
        }
        h.data(pieces[i]!);
      }
    }
    if (this.#closed) return;
    if (this.#inboxBytes === 0) this.peer.#handlers?.drain();
    else this.#schedule();
  }
}

export class MemoryHATransport implements HATransport {
  readonly split: (chunk: Buffer) => Buffer[];
  readonly deliveryBytesPerTurn: number;
  readonly #listeners = new Map<number, MemoryListener>();
  readonly #partitioned = new Set<number>();
  #nextPort = 41_000;
  #nextClientPort = 51_000;

  constructor(options: MemoryTransportOptions = {}) {
    this.split = options.split ?? ((c) => [c]);
    this.deliveryBytesPerTurn = options.deliveryBytesPerTurn ?? 64 * 1024;
  }

  listen(port: number, _host: string, onChannel: (channel: HAChannel) => void): Promise<HAListener> {
    const p = port === 0 ? this.#nextPort++ : port;
    if (this.#listeners.has(p)) return Promise.reject(new RmqError('RMQ_CONFIG_INVALID', `memory port ${p} is in use`));
    const listener: MemoryListener = { port: p, onChannel, ends: new Set() };
    this.#listeners.set(p, listener);
    return Promise.resolve({
      port: p,
      close: () => {
        this.#listeners.delete(p);
        for (const end of listener.ends) end.close();
        listener.ends.clear();
        return Promise.resolve();
      },
    });
  }

  connect(address: string, _timeoutMs: number): Promise<HAChannel> {
    const { port } = splitAddress(address);
    const listener = this.#listeners.get(port);
    if (!listener || this.#partitioned.has(port)) {
      return Promise.reject(new RmqError('RMQ_CONNECTION_CLOSED', `connect to HA master ${address} failed: refused`));
    }
    const clientPort = this.#nextClientPort++;
    const client = new MemoryEnd(this, address);
    const server = new MemoryEnd(this, `127.0.0.1:${clientPort}`);
    client.peer = server;
    server.peer = client;
    listener.ends.add(server);
    setImmediate(() => listener.onChannel(server));
    return Promise.resolve(client);
  }

  /** Drops every channel of the listener on `port` and refuses new connections until heal(). */
  partition(port: number): void {
    this.#partitioned.add(port);
    const listener = this.#listeners.get(port);
    if (!listener) return;
    for (const end of listener.ends) end.close();
    listener.ends.clear();
  }

  heal(port: number): void {
    this.#partitioned.delete(port);
  }

  /** Server-side ends of the listener on `port` that are still open. */
  channels(port: number): HAChannel[] {
    return [...(this.#listeners.get(port)?.ends ?? [])].filter((e) => !e.closed);
  }
}

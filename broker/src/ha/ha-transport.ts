// The seam between the HA protocol logic (ha-service.ts, ha-client.ts) and the network. The real
// transport is raw TCP (node:net); tests can swap in the in-memory hub of memory-transport.ts, which
// can split deliveries, partition peers and hold back reads. Only this file touches sockets.
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { RmqError } from '../common/errors.js';

export interface ChannelHandlers {
  data(chunk: Buffer): void;
  /** The peer accepted everything queued so far (pendingWriteBytes dropped to 0). */
  drain(): void;
  /** Called once, when the channel is gone for any reason. */
  close(err?: Error): void;
}

/** One byte stream between a master and a slave. */
export interface HAChannel {
  /** "host:port" of the peer. */
  readonly remote: string;
  /** Bytes queued in user space that the peer has not taken yet. */
  readonly pendingWriteBytes: number;
  readonly closed: boolean;
  /**
   * Starts delivering events. Bytes that arrive before are held (the channel does not read until
   * then), so no data is lost between accept/connect and attach.
   */
  attach(handlers: ChannelHandlers): void;
  /** Queues the buffers as one write (a header and its body leave together). Never throws. */
  write(chunks: readonly Buffer[]): void;
  /** Stop / restart reading from the peer (inbound backpressure). */
  pause(): void;
  resume(): void;
  /** Closes at once; pending writes are dropped. Idempotent. */
  close(): void;
}

export interface HAListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface HATransport {
  listen(port: number, host: string, onChannel: (channel: HAChannel) => void): Promise<HAListener>;
  /** Rejects when the peer cannot be reached within `timeoutMs`. */
  connect(address: string, timeoutMs: number): Promise<HAChannel>;
}

/** Splits "host:port" (IPv6 in brackets or bare, the port after the last colon). */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  let host = address.slice(0, i).trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (i <= 0 || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RmqError('RMQ_CONFIG_INVALID', `HA address "${address}" is not host:port`);
  }
  return { host, port };
}

class TcpChannel implements HAChannel {
  readonly remote: string;
  readonly #socket: Socket;
  #handlers: ChannelHandlers | undefined;
  #closed = false;
  #closeError: Error | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    const host = socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown';
    this.remote = `${host}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    // Reading starts in attach(): no 'data' listener until then, and the socket is paused.
    socket.pause();
    socket.on('error', (err) => {
      this.#closeError ??= err;
    });
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#handlers?.drain());
  }

  get pendingWriteBytes(): number {
    return this.#socket.writableLength;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    if (this.#closed) {
      handlers.close(this.#closeError);
      return;
    }
    this.#socket.on('data', (chunk: Buffer) => handlers.data(chunk));
    this.#socket.resume();
  }

  write(chunks: readonly Buffer[]): void {
    if (this.#closed || this.#socket.destroyed) return;
    if (chunks.length === 1) {
      this.#socket.write(chunks[0]!);
      return;
    }
    // Corked so a 12-byte header and its body go out in one writev, not two segments (no Nagle).
    this.#socket.cork();
    for (const c of chunks) if (c.length > 0) this.#socket.write(c);
    this.#socket.uncork();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (this.#handlers) this.#socket.resume();
  }

  close(): void {
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers?.close(this.#closeError);
  }
}

/** Raw TCP. */
export const tcpTransport: HATransport = {
  listen(port, host, onChannel) {
    const server: Server = createServer({ pauseOnConnect: true }, (socket) => onChannel(new TcpChannel(socket)));
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    return new Promise<HAListener>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => {
        server.off('error', reject);
        const addr = server.address();
        const bound = typeof addr === 'object' && addr ? addr.port : port;
        resolve({
          port: bound,
          close: () =>
            new Promise<void>((res) => {
              for (const s of sockets) s.destroy();
              server.close(() => res());
            }),
        });
      });
    });
  },

  connect(address, timeoutMs) {
    const { host, port } = splitAddress(address);
    return new Promise<HAChannel>((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RmqError('RMQ_TIMEOUT', `connect to HA master ${address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new RmqError('RMQ_CONNECTION_CLOSED', `connect to HA master ${address} failed: ${err.message}`, { cause: err }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TcpChannel(socket));
      });
    });
  },
};

// Outbound remoting connections, one per address, reused and re-dialled on demand.
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { RmqError } from '../common/errors.js';
import { ResponseCode } from '../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingConnection, type ConnectionOptions, type RequestHandler } from './connection.js';

export interface RemotingClientOptions extends ConnectionOptions {
  connectTimeoutMs?: number;
}

export class RemotingClient {
  readonly #log: Logger;
  readonly #options: RemotingClientOptions;
  readonly #connections = new Map<string, Promise<RemotingConnection>>();
  readonly #handlers = new Map<number, RequestHandler>();
  #closed = false;

  constructor(log: Logger, options: RemotingClientOptions = {}) {
    this.#log = log;
    this.#options = options;
  }

  /** Handles requests the peer sends us on our own connections. */
  register(code: number, handler: RequestHandler): void {
    this.#handlers.set(code, handler);
  }

  connection(addr: string): Promise<RemotingConnection> {
    if (this.#closed) return Promise.reject(new RmqError('RMQ_CONNECTION_CLOSED', 'client is closed'));
    const existing = this.#connections.get(addr);
    if (existing) return existing;
    const created = this.#dial(addr);
    this.#connections.set(addr, created);
    created.then(
      (conn) => conn.onClose(() => {
        if (this.#connections.get(addr) === created) this.#connections.delete(addr);
      }),
      () => {
        if (this.#connections.get(addr) === created) this.#connections.delete(addr);
      },
    );
    return created;
  }

  async invoke(addr: string, request: RemotingCommand, timeoutMs = 3000): Promise<RemotingCommand> {
    const conn = await this.connection(addr);
    return conn.invoke(request, timeoutMs);
  }

  async invokeOk(addr: string, request: RemotingCommand, timeoutMs = 3000): Promise<RemotingCommand> {
    const conn = await this.connection(addr);
    return conn.invokeOk(request, timeoutMs);
  }

  async invokeOneway(addr: string, request: RemotingCommand): Promise<void> {
    const conn = await this.connection(addr);
    conn.invokeOneway(request);
  }

  /** Closes the connection to one address (e.g. after the peer misbehaved). */
  async disconnect(addr: string): Promise<void> {
    const c = this.#connections.get(addr);
    this.#connections.delete(addr);
    if (c) (await c.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    for (const c of all) (await c.catch(() => undefined))?.close();
  }

  #dial(addr: string): Promise<RemotingConnection> {
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(addr.slice(i + 1));
    const timeoutMs = this.#options.connectTimeoutMs ?? 3000;
    return new Promise<RemotingConnection>((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RmqError('RMQ_TIMEOUT', `connect to ${addr} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RemotingConnection(socket, (req, conn) => this.#dispatch(req, conn), this.#log, this.#options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RmqError('RMQ_CONNECTION_CLOSED', `connect to ${addr} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  #dispatch(request: RemotingCommand, conn: RemotingConnection): ReturnType<RequestHandler> {
    const handler = this.#handlers.get(request.code);
    if (!handler) return createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
    return handler(request, conn);
  }
}

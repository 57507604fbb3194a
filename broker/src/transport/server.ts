// Accepts remoting connections and routes each request to the processor registered for its
// code; unknown codes get REQUEST_CODE_NOT_SUPPORTED.
import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { ResponseCode } from '../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../protocol/remoting.js';
import { RemotingConnection, type ConnectionOptions, type RequestHandler } from './connection.js';

export class RemotingServer {
  readonly #handlers = new Map<number, RequestHandler>();
  readonly #connections = new Set<RemotingConnection>();
  readonly #connectListeners: Array<(conn: RemotingConnection) => void> = [];
  readonly #log: Logger;
  readonly #options: ConnectionOptions;
  #servers: Server[] = [];

  constructor(log: Logger, options: ConnectionOptions = {}) {
    this.#log = log;
    this.#options = options;
  }

  register(code: number, handler: RequestHandler): void {
    this.#handlers.set(code, handler);
  }

  onConnection(listener: (conn: RemotingConnection) => void): void {
    this.#connectListeners.push(listener);
  }

  get connections(): ReadonlySet<RemotingConnection> {
    return this.#connections;
  }

  /** Requests being processed across all connections. */
  inFlightRequests(): number {
    let n = 0;
    for (const c of this.#connections) n += c.inFlight;
    return n;
  }

  /** Listens on host:port; returns the bound port (useful with port 0). */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer((socket) => {
      const conn = new RemotingConnection(socket, (req, c) => this.#dispatch(req, c), this.#log, this.#options);
      this.#connections.add(conn);
      conn.onClose(() => this.#connections.delete(conn));
      for (const l of this.#connectListeners) l(conn);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#log.error({ err }, 'server socket error'));
    this.#servers.push(server);
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    const servers = this.#servers;
    this.#servers = [];
    // net.Server.close() only calls back once every connection is gone: stop accepting, then
    // drop the connections, then wait.
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const c of this.#connections) c.close();
    await closed;
  }

  #dispatch(request: RemotingCommand, conn: RemotingConnection): ReturnType<RequestHandler> {
    const handler = this.#handlers.get(request.code);
    if (!handler) {
      return createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
    }
    return handler(request, conn);
  }
}

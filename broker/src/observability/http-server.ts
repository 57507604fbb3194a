// A minimal HTTP server for probes and scrapes (node:http, no framework): GET/HEAD on a fixed
// set of paths, each answered by a handler; everything else is 404/405.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

export type RouteHandler = () => HttpReply | Promise<HttpReply>;

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonReply(status: number, value: unknown): HttpReply {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` };
}

export class HealthHttpServer {
  readonly #routes: ReadonlyMap<string, RouteHandler>;
  readonly #log: Logger;
  #server: Server | undefined;
  #port = 0;

  constructor(routes: Record<string, RouteHandler>, log: Logger) {
    this.#routes = new Map(Object.entries(routes));
    this.#log = log;
  }

  /** The bound port (after listen). */
  get port(): number {
    return this.#port;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#log.error({ err }, 'health server socket error'));
    this.#server = server;
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : port;
    return this.#port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Probes and scrapers keep connections alive; drop them so close() completes.
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    let reply: HttpReply;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      reply = { status: 405, contentType: TEXT, body: `method ${req.method ?? ''} not allowed\n` };
    } else {
      const handler = this.#routes.get(path);
      if (!handler) {
        reply = { status: 404, contentType: TEXT, body: `not found; try ${[...this.#routes.keys()].join(' ')}\n` };
      } else {
        try {
          reply = await handler();
        } catch (err) {
          this.#log.warn({ err, path }, 'health endpoint failed');
          reply = { status: 500, contentType: TEXT, body: `internal error: ${err instanceof Error ? err.message : String(err)}\n` };
        }
      }
    }
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(reply.body, 'utf8'));
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }
}

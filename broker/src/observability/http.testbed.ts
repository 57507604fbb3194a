// Test support (not built into dist): plain HTTP requests to a health server on loopback.
import { request, type IncomingHttpHeaders } from 'node:http';

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request (GET unless `method` says otherwise) to 127.0.0.1:`port`, a new connection each time; 5 s timeout. */
export function httpGet(port: number, path: string, method = 'GET'): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

// HttpKubeApi against a local HTTP server that records requests and answers like the API server:
// paths, verbs, content types (server-side apply, JSON patch), the field manager, errors, watch
// streams. (The same client ran against a real kube-apiserver in the operator's smoke run and runs
// in the e2e tier.)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpKubeApi, KubeApiError, R, isConflict, type WatchEvent } from './kube.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: string;
}

describe('HttpKubeApi', () => {
  let server: Server;
  let api: HttpKubeApi;
  const seen: Seen[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], auth: req.headers.authorization, body });
        answer(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'tok' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    api = new HttpKubeApi(kc, { requestTimeoutMs: 2_000 });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const json = (res: ServerResponse, status: number, v: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(v));
  };

  it('server-side apply: PATCH apply-patch+yaml with our field manager and force, bearer token', async () => {
    answer = (_q, res, body) => json(res, 200, { ...(JSON.parse(body) as object), metadata: { name: 'cm', namespace: 'mq', resourceVersion: '5' } });
    const cm: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'mq' }, data: { a: 'b' } };
    const out = await api.apply(cm);
    expect(seen.at(-1)).toEqual({
      method: 'PATCH',
      url: '/api/v1/namespaces/mq/configmaps/cm?fieldManager=rmq-ts-operator&force=true',
      contentType: 'application/apply-patch+yaml',
      auth: 'Bearer tok',
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"mq"},"data":{"a":"b"}}',
    });
    expect(out.metadata?.resourceVersion).toBe('5');
  });

  it('status subresource PUT, JSON patch and delete with a uid precondition go where they should', async () => {
    answer = (_q, res) => json(res, 200, { metadata: { name: 'x' } });
    await api.replaceStatus({ apiVersion: 'rocketmq.rmq-ts.io/v1alpha1', kind: 'Topic', metadata: { name: 't', namespace: 'mq', resourceVersion: '7' } });
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', url: '/apis/rocketmq.rmq-ts.io/v1alpha1/namespaces/mq/topics/t/status?fieldManager=rmq-ts-operator', contentType: 'application/json' });
    await api.jsonPatch(R.topic, 'mq', 't', [{ op: 'remove', path: '/metadata/finalizers/0' }]);
    expect(seen.at(-1)).toMatchObject({ method: 'PATCH', url: '/apis/rocketmq.rmq-ts.io/v1alpha1/namespaces/mq/topics/t?fieldManager=rmq-ts-operator', contentType: 'application/json-patch+json', body: '[{"op":"remove","path":"/metadata/finalizers/0"}]' });
    expect(await api.delete(R.pod, 'mq', 'p-0', { uid: 'u1' })).toBe(true);
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/v1/namespaces/mq/pods/p-0', body: '{"apiVersion":"v1","kind":"DeleteOptions","preconditions":{"uid":"u1"}}' });
  });

  it('404 → undefined / false; 409 → a KubeApiError that isConflict', async () => {
    answer = (_q, res) => json(res, 404, { kind: 'Status', reason: 'NotFound', message: 'pods "p" not found', code: 404 });
    expect(await api.get(R.pod, 'mq', 'p')).toBeUndefined();
    expect(await api.delete(R.pod, 'mq', 'p')).toBe(false);
    answer = (_q, res) => json(res, 409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified', code: 409 });
    const err = await api.replaceStatus({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'mq' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isConflict(err)).toBe(true);
    expect((err as Error).message).toBe('PUT /api/v1/namespaces/mq/pods/p/status?fieldManager=rmq-ts-operator: 409 Conflict: the object has been modified');
  });

  it('lists across namespaces with a label selector and gives items their kind', async () => {
    answer = (_q, res) => json(res, 200, { metadata: { resourceVersion: '42' }, items: [{ metadata: { name: 'a', namespace: 'x' } }] });
    const r = await api.list(R.statefulSet, undefined, { labelSelector: 'app.kubernetes.io/managed-by=rocketmq-ts-operator' });
    expect(seen.at(-1)!.url).toBe('/apis/apps/v1/statefulsets?labelSelector=app.kubernetes.io%2Fmanaged-by%3Drocketmq-ts-operator');
    expect(r).toEqual({ resourceVersion: '42', items: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'a', namespace: 'x' } }] });
  });

  it('watch: one event per line (split anywhere), bookmarks, abort ends it cleanly', async () => {
    answer = (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n{"type":"MOD');
      setTimeout(() => res.write('IFIED","object":{"metadata":{"name":"a","resourceVersion":"3"}}}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}\n'), 20);
    };
    const events: Array<WatchEvent<{ metadata?: { name?: string; resourceVersion?: string } }>> = [];
    const h = api.watch(R.pod, 'mq', { resourceVersion: '1', timeoutSeconds: 60 }, (e) => events.push(e));
    for (let i = 0; i < 100 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.at(-1)!.url).toBe('/api/v1/namespaces/mq/pods?watch=1&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=60');
    expect(events.map((e) => `${e.type} ${e.object.metadata?.resourceVersion ?? ''}`)).toEqual(['ADDED 2', 'MODIFIED 3', 'BOOKMARK 9']);
    h.abort();
    await expect(h.done).resolves.toBeUndefined();
  });

  it('watch: an error answer rejects done with the status (410 Gone → relist)', async () => {
    answer = (_q, res) => json(res, 410, { kind: 'Status', reason: 'Expired', message: 'too old resource version', code: 410 });
    const h = api.watch(R.pod, 'mq', { resourceVersion: '1' }, () => undefined);
    await expect(h.done).rejects.toMatchObject({ status: 410, reason: 'Expired' });
  });
});

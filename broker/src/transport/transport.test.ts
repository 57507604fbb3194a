import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { createRequest, createResponse, encodeCommand, FrameDecoder, SerializeType } from '../protocol/remoting.js';
import { RemotingClient } from './client.js';
import { RemotingServer } from './server.js';

let server: RemotingServer | undefined;
let client: RemotingClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
});

describe('transport', () => {
  it('stops reading from a peer that does not read its responses, and catches up when it does', async () => {
    server = new RemotingServer(silentLogger(), { maxPendingWriteBytes: 1024 * 1024 });
    let handled = 0;
    const big = Buffer.alloc(1024 * 1024, 7);
    server.register(1, (req) => {
      handled++;
      const res = createResponse(req, 0);
      res.body = big;
      return res;
    });
    const port = await server.listen(0, '127.0.0.1');
    const total = 100;
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.pause(); // a slow consumer: reads nothing for now
    for (let i = 0; i < total; i++) socket.write(encodeCommand({ ...createRequest(1), opaque: i + 1 }));
    await new Promise((r) => setTimeout(r, 500));
    const whilePaused = handled;
    expect(whilePaused).toBeLessThan(total / 2); // reading stopped long before 100 MiB piled up
    const decoder = new FrameDecoder({ maxBodyBytes: 2 * 1024 * 1024 });
    let responses = 0;
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, () => responses++));
    socket.resume();
    const end = Date.now() + 20_000;
    while (responses < total && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    expect(responses).toBe(total);
    expect(handled).toBe(total);
  });

  it('matches responses by opaque even when they come back out of order', async () => {
    server = new RemotingServer(silentLogger());
    server.register(2, async (req) => {
      await new Promise((r) => setTimeout(r, Number(req.extFields.delay)));
      return createResponse(req, 0, undefined, { echo: req.extFields.delay! });
    });
    const port = await server.listen(0, '127.0.0.1');
    client = new RemotingClient(silentLogger());
    const addr = `127.0.0.1:${port}`;
    const results = await Promise.all([300, 10, 150].map((d) => client!.invokeOk(addr, createRequest(2, { delay: String(d) }, undefined, SerializeType.ROCKETMQ))));
    expect(results.map((r) => r.extFields.echo)).toEqual(['300', '10', '150']);
  });

  it('lets the server send requests to a client over the client connection', async () => {
    server = new RemotingServer(silentLogger());
    const answers: string[] = [];
    server.register(3, async (req, conn) => {
      const back = await conn.invoke(createRequest(40, { ask: 'x' }), 2000);
      answers.push(back.extFields.answer!);
      return createResponse(req, 0);
    });
    const port = await server.listen(0, '127.0.0.1');
    client = new RemotingClient(silentLogger());
    client.register(40, (req) => createResponse(req, 0, undefined, { answer: `got ${req.extFields.ask}` }));
    await client.invokeOk(`127.0.0.1:${port}`, createRequest(3));
    expect(answers).toEqual(['got x']);
  });

  it('times out requests that get no answer and fails them when the connection drops', async () => {
    server = new RemotingServer(silentLogger());
    server.register(4, () => new Promise(() => undefined));
    const port = await server.listen(0, '127.0.0.1');
    client = new RemotingClient(silentLogger());
    const addr = `127.0.0.1:${port}`;
    await expect(client.invoke(addr, createRequest(4), 100)).rejects.toThrow(/timed out after 100 ms/);
    const pending = client.invoke(addr, createRequest(4), 10_000);
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    server = undefined;
    await expect(pending).rejects.toThrow(/closed/);
  });
});

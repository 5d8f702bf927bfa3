import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DRAINING_HEADER, HttpDrain } from '../../../src/lifecycle/http-drain.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

function request(port: number, path: string, agent: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket }),
      );
    });
    req.on('error', reject);
  });
}

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections();
});

async function start(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('HttpDrain', () => {
  it('lets a request in flight finish, with Connection: close, then drains', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let began!: () => void;
    const handlerStarted = new Promise<void>((r) => {
      began = r;
    });
    const { server, port } = await start(async (_req, res) => {
      began();
      await gate;
      res.end('slow done');
    });
    const drain = new HttpDrain(server, () => false);
    const agent = new http.Agent({ keepAlive: true });
    const pending = request(port, '/slow', agent);
    // Wait for the handler itself, not a fixed time: a loaded machine can take longer than 50 ms.
    await handlerStarted;
    expect(drain.inFlight).toBe(1);
    drain.draining();
    drain.stopAccepting();
    let drained = false;
    const done = drain.drained().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(false);
    release();
    const reply = await pending;
    expect(reply.body).toBe('slow done');
    expect(reply.headers.connection).toBe('close');
    await done;
    expect(drain.inFlight).toBe(0);
    agent.destroy();
  });

  it('ends idle keep-alive sockets at once when it stops accepting', async () => {
    const { server, port } = await start((_req, res) => res.end('ok'));
    const drain = new HttpDrain(server, () => false);
    const agent = new http.Agent({ keepAlive: true });
    const first = await request(port, '/', agent);
    expect(first.headers.connection).toBe('keep-alive');
    const started = Date.now();
    drain.stopAccepting();
    await drain.drained();
    // node's keepAliveTimeout is 5 s: the socket was closed by the drain, not by the timeout.
    expect(Date.now() - started).toBeLessThan(4_000);
    agent.destroy();
  });

  it('refuses a request that arrives once it stopped accepting with a marked 503, without running the app', async () => {
    let ran = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { server } = await start(async (_req, res) => {
      ran++;
      await gate;
      res.end('x');
    });
    const drain = new HttpDrain(server, () => false);
    drain.stopAccepting();
    // A request reaching the server after the listener closed (on a socket being closed).
    const req = new http.IncomingMessage(new (await import('node:net')).Socket());
    req.method = 'POST';
    req.url = '/orders';
    const res = new http.ServerResponse(req);
    const chunks: string[] = [];
    res.write = ((c: string) => {
      chunks.push(String(c));
      return true;
    }) as typeof res.write;
    server.emit('request', req, res);
    expect(ran).toBe(0);
    expect(res.statusCode).toBe(503);
    expect(res.getHeader(DRAINING_HEADER)).toBe('1');
    expect(res.getHeader('connection')).toBe('close');
    expect(drain.refused).toBe(1);
    release();
  });

  it('force() destroys busy sockets and resolves the drain', async () => {
    const { server, port } = await start(() => {
      /* never answers */
    });
    const drain = new HttpDrain(server, () => false);
    const agent = new http.Agent({ keepAlive: true });
    const pending = request(port, '/hang', agent).then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    await new Promise((r) => setTimeout(r, 50));
    drain.stopAccepting();
    const drained = drain.drained();
    drain.force();
    await drained;
    expect(await pending).toBe('ECONNRESET');
    agent.destroy();
  });

  it('detach() gives the server its own emit back', async () => {
    const { server } = await start((_req, res) => res.end('ok'));
    const own = server.emit;
    const drain = new HttpDrain(server, () => false);
    expect(server.emit).not.toBe(own);
    drain.detach();
    expect(server.emit).toBe(own);
  });

  it('never runs a request read from a socket it ended (no effect without an answer)', async () => {
    let ran = 0;
    let last: import('node:net').Socket | undefined;
    const { server, port } = await start((req, res) => {
      ran++;
      last = req.socket;
      res.end('ok');
    });
    const drain = new HttpDrain(server, () => false);
    const agent = new http.Agent({ keepAlive: true });
    await request(port, '/', agent);
    drain.draining();
    const second = await request(port, '/', agent);
    expect(second.headers.connection).toBe('close');
    expect(ran).toBe(2);
    // A request the client wrote on that socket as the drain closed it.
    const req = new http.IncomingMessage(last!);
    req.method = 'POST';
    req.url = '/orders';
    const res = new http.ServerResponse(req);
    res.write = (() => true) as typeof res.write;
    server.emit('request', req, res);
    expect(ran).toBe(2);
    expect(res.statusCode).toBe(503);
    expect(res.getHeader(DRAINING_HEADER)).toBe('1');
    agent.destroy();
  });
});

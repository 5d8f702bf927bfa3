/**
 * The idempotency bench's server, in a process of its own as a service is
 * in production: `node --import tsx bench/idempotency-server.ts <redis-url>`;
 * prints its URL on stdout and exits when stdin closes. Routes:
 * POST /plain (no middleware), POST /redis (idempotencyNode over a Redis
 * store), POST /memory (idempotencyNode over the memory store). Each reads
 * the JSON body and answers 201 with a small JSON body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
// The built package, as users run it (`npm run bench` builds first).
import { Idempotency, idempotencyNode } from '../dist/index.js';
import { redisIdempotencyStore } from '../dist/redis.js';

const redisUrl = process.argv[2]!;
const store = redisIdempotencyStore({ connection: redisUrl, prefix: `bench:idem:${process.pid}:` });
const onRedis = idempotencyNode(new Idempotency({ adapter: store }));
const inMemory = idempotencyNode(new Idempotency());
const answer = JSON.stringify({ paymentId: 'pay-42', status: 'captured' });

const server = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
  const guard = req.url === '/redis' ? onRedis : req.url === '/memory' ? inMemory : undefined;
  if (guard !== undefined && !(await guard(req, res, { body }))) return;
  res.writeHead(201, { 'content-type': 'application/json' }).end(answer);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close(() => void store.close().then(() => process.exit(0)));
});

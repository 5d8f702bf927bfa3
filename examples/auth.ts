/**
 * Sessions + JWT + authorize on a plain node:http server: login, an
 * authorized call, a 403, and logout everywhere. Memory adapters by
 * default; REDIS_URL switches sessions and the token denylist to Redis.
 * Run: npm run example:auth
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JwtDenylistAdapter, SessionAdapter } from 'scaleout';
import { authorizeNode, createAuthorizer, createJwt, memoryJwtDenylist, SessionStore } from 'scaleout';

let adapter: SessionAdapter | undefined;
let denylist: JwtDenylistAdapter = memoryJwtDenylist();
if (process.env.REDIS_URL) {
  const { redisSessionAdapter, redisJwtDenylist } = await import('scaleout/redis');
  adapter = redisSessionAdapter({ connection: process.env.REDIS_URL, prefix: 'example:sess:' });
  denylist = redisJwtDenylist({ connection: process.env.REDIS_URL, prefix: 'example:deny:' });
}
const sessions = new SessionStore<{ role: string }>({ adapter, ttlMs: 30 * 60_000 });
const jwt = createJwt({
  secret: 'example-secret-of-at-least-32-bytes!',
  issuer: 'example',
  audience: 'api',
  denylist,
});
const auth = createAuthorizer({ jwt, sessions, bindTokensToSessions: true });
const guard = authorizeNode(auth);
const adminGuard = authorizeNode(auth.require({ role: 'admin' }));

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const send = (body: unknown) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (url.pathname === '/login') {
    const user = url.searchParams.get('user') ?? 'anonymous';
    const session = await sessions.create({ role: user === 'root' ? 'admin' : 'user' }, { userId: user });
    return send({ token: await jwt.sign({ sub: user, role: session.data.role, sid: session.id }) });
  }
  if (url.pathname === '/admin') {
    if (await adminGuard(req, res)) send({ admin: true });
    return;
  }
  const who = await guard(req, res);
  if (!who) return;
  if (url.pathname === '/logout-everywhere') {
    const ended = await sessions.destroyAllForUser(String(who.claims.sub));
    if (who.token) await jwt.revoke(who.token);
    return send({ ended });
  }
  send({ hello: who.claims.sub, via: who.source });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const call = async (path: string, token?: string) => {
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const challenge = res.headers.get('www-authenticate');
  const text = await res.text();
  const shown = text.replace(/"token":"[^"]+"/, '"token":"<jwt>"');
  console.log(`${res.status} ${path.padEnd(20)} ${shown}${challenge ? `  [${challenge}]` : ''}`);
  return JSON.parse(text) as Record<string, string>;
};

const { token } = (await call('/login?user=ada')) as { token: string };
const { token: laptop } = (await (await fetch(`${base}/login?user=ada`)).json()) as { token: string };
await call('/me', token);
await call('/me');
await call('/admin', token);
await call('/logout-everywhere', token);
await call('/me', laptop);

server.close();
await jwt.close();
await sessions.close();
// The store closes only what it created: an adapter passed in is closed by its owner.
await adapter?.close();
await denylist.close();

/**
 * Property tests: hostile input to every public entry of the JWT helpers
 * and authorize (createJwt, sign/signSync, verify/verifySync, revoke,
 * revokeJti, createAuthorizer/require/decide, the Express, Fastify, Koa and
 * node:http middlewares, the memory and Redis denylists) gets a value or a
 * typed ScaleoutError with a code: never a raw TypeError, a crash, a hang
 * or an unhandled rejection. Unknown option keys are always refused. Real
 * Express, Fastify, Koa and node:http servers on loopback take raw hostile
 * requests (huge, repeated, non-Bearer, junk, control characters) and keep
 * serving.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryJwtDenylist } from '../../src/adapters/memory/memory-jwt-denylist.js';
import { RedisJwtDenylist } from '../../src/adapters/redis/jwt-denylist.js';
import { authorize as expressAuthorize } from '../../src/auth/authorize-express.js';
import { authorize as fastifyAuthorize } from '../../src/auth/authorize-fastify.js';
import { authorize as koaAuthorize } from '../../src/auth/authorize-koa.js';
import { authorizeNode } from '../../src/auth/authorize-node.js';
import { type Authorizer, createAuthorizer } from '../../src/auth/authorizer.js';
import { createJwt, type Jwt } from '../../src/auth/jwt.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  hostileHeader,
  hostileKey,
  hostileOptions,
  hostileValue,
  loneSurrogateString,
  outcomeOf,
  Tally,
  unknownKeys,
} from './arbitraries.js';

const JWT_KEYS = [
  'secret',
  'privateKey',
  'publicKey',
  'jwksUrl',
  'kid',
  'verificationKeys',
  'algorithms',
  'issuer',
  'audience',
  'expiresInMs',
  'clockToleranceMs',
  'maxTokenBytes',
  'cacheMaxEntries',
  'cacheMaxBytes',
  'denylist',
  'jwksCooldownMs',
  'jwksMaxAgeMs',
  'jwksTimeoutMs',
  'now',
];
const AUTHORIZE_KEYS = [
  'jwt',
  'sessions',
  'sessionCookie',
  'bindTokensToSessions',
  'touchSession',
  'sessionClaims',
  'role',
  'getRoles',
  'check',
  'realm',
];
const RUNS = Number(process.env.HOSTILE_RUNS ?? 300);
const tally = new Tally();
const secret = randomBytes(32);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let jwt: Jwt;
let sessions: SessionStore<{ role: string }>;
let auth: Authorizer;
let adminToken: string;
let sid: string;

beforeAll(async () => {
  jwt = createJwt({ secret, issuer: 'iss', audience: 'aud', denylist: new MemoryJwtDenylist() });
  sessions = new SessionStore<{ role: string }>();
  const s = await sessions.create({ role: 'admin' }, { userId: 'u1' });
  sid = s.id;
  adminToken = await jwt.sign({ sub: 'u1', role: 'admin', sid });
  auth = createAuthorizer({ jwt, sessions, role: ['admin', 'reader'] });
});

afterAll(() => {
  // The closing note of the hostile suite: inputs tried per primitive.
  console.log(`[hostile auth-input] ${tally.total()} inputs: ${JSON.stringify(tally)}`);
});

function run<T extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<T>, numRuns = RUNS) {
  return fc.assert(property, { numRuns });
}

describe('createJwt', () => {
  it('hostile options: a Jwt or a typed error; unknown keys always refused', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(JWT_KEYS, { secret }, ['expiresIn', 'algorithm', 'keyid', 'issure']),
        async (options) => {
          tally.count('createJwt');
          const outcome = await outcomeOf(() => createJwt(options as never));
          if (unknownKeys(options, JWT_KEYS).length > 0) expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome === 'ok') {
            const made = createJwt(options as never);
            // Whatever it was built with, it answers typed.
            await outcomeOf(() => made.verify('a.b.c'));
            await outcomeOf(() => made.sign({ sub: 'x' }));
          }
        },
      ),
    );
  });

  it('hostile key material: secrets, private and public keys, verification keys', async () => {
    const pem = String(ec.publicKey.export({ type: 'spki', format: 'pem' }));
    const material = fc.oneof(
      hostileValue,
      fc.uint8Array({ maxLength: 80 }),
      fc.string({ minLength: 32, maxLength: 80 }),
      fc.constantFrom(
        pem,
        `junk${pem}`,
        pem.replace('PUBLIC', 'PRIVATE'),
        JSON.stringify(ec.publicKey.export({ format: 'jwk' })),
      ),
    );
    await run(
      fc.asyncProperty(
        material,
        fc.constantFrom('secret', 'privateKey', 'publicKey', 'verificationKeys'),
        async (key, where) => {
          tally.count('createJwt (keys)');
          const options =
            where === 'verificationKeys'
              ? { secret, kid: 'k', verificationKeys: [{ kid: 'old', secret: key }] }
              : { [where]: key };
          const outcome = await outcomeOf(() => createJwt(options as never));
          if (where === 'secret' && typeof key === 'string' && key.includes('-----BEGIN')) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          }
        },
      ),
    );
  });
});

describe('sign', () => {
  it('hostile claims and options: a token that verifies, or a typed error', async () => {
    await run(
      fc.asyncProperty(
        fc.oneof(hostileValue, fc.dictionary(hostileKey, hostileValue, { maxKeys: 5 })),
        hostileOptions(['expiresInMs', 'notBeforeMs'], {}, ['expiresIn', 'notBefore']),
        fc.boolean(),
        async (claims, options, sync) => {
          tally.count(sync ? 'signSync' : 'sign');
          let token: unknown;
          const outcome = await outcomeOf(async () => {
            token = sync
              ? jwt.signSync(claims as never, options as never)
              : await jwt.sign(claims as never, options as never);
          });
          if (unknownKeys(options, ['expiresInMs', 'notBeforeMs']).length > 0) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          }
          if (outcome === 'ok') {
            expect(typeof token).toBe('string');
            // What was signed verifies (or is not valid yet, with notBeforeMs).
            expect(['ok', 'ERR_JWT_NOT_YET_VALID']).toContain(
              await outcomeOf(() => jwt.verify(token as string)),
            );
          }
        },
      ),
    );
  });

  it('the design’s jwt.sign(payload, secret, options) shape is always refused', async () => {
    await run(
      fc.asyncProperty(hostileValue, hostileValue, async (second, third) => {
        tally.count('sign (3 arguments)');
        const sign = jwt.sign as unknown as (...args: unknown[]) => Promise<string>;
        expect(await outcomeOf(() => sign.call(jwt, { sub: 'u' }, second, third))).not.toBe('ok');
      }),
      100,
    );
  });
});

describe('verify', () => {
  it('hostile tokens: only the genuine token verifies; everything else is a typed JwtError', async () => {
    const good = await jwt.sign({ sub: 'g' });
    const token = fc.oneof(
      hostileValue,
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .tuple(fc.nat(good.length), fc.string({ unit: 'binary', maxLength: 5 }))
        .map(([at, s]) => good.slice(0, at) + s + good.slice(at)),
      fc.nat(good.length - 1).map((at) => good.slice(0, at) + good.slice(at + 1)),
      fc.constantFrom(`${good}.`, `${good}=`, ` ${good}`, good.replaceAll('.', '..'), 'x'.repeat(2_000_000)),
    );
    await run(
      fc.asyncProperty(token, fc.boolean(), async (t, sync) => {
        tally.count(sync ? 'verifySync' : 'verify');
        const outcome = await outcomeOf(() =>
          sync
            ? createJwt({ secret, issuer: 'iss', audience: 'aud' }).verifySync(t as never)
            : jwt.verify(t as never),
        );
        if (t !== good) expect(outcome).toMatch(/^ERR_JWT|^ERR_JWKS|^ERR_INVALID/);
      }),
      500,
    );
  });

  it('revoke and revokeJti with hostile input', async () => {
    await run(
      fc.asyncProperty(hostileValue, hostileValue, async (a, b) => {
        tally.count('revoke/revokeJti');
        await outcomeOf(() => jwt.revoke(a as never));
        await outcomeOf(() => jwt.revokeJti(a as never, b as never));
      }),
    );
  });
});

describe('denylist adapters', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('factories refuse unknown keys; add/has take hostile input with typed errors', async () => {
    const memory = new MemoryJwtDenylist();
    const remote = new RedisJwtDenylist({ connection: redis.client(), prefix: 't:deny:' });
    await run(
      fc.asyncProperty(
        hostileOptions(['maxEntries', 'clock'], {}, ['max', 'size']),
        hostileOptions(['connection', 'prefix', 'clock'], { connection: redis.url }, ['client', 'keyPrefix']),
        hostileValue,
        hostileValue,
        async (memoryOptions, redisOptions, jti, at) => {
          tally.count('jwt denylists');
          const m = await outcomeOf(() => new MemoryJwtDenylist(memoryOptions as never));
          if (unknownKeys(memoryOptions, ['maxEntries', 'clock']).length > 0)
            expect(m).toBe('ERR_INVALID_OPTIONS');
          const unknownRedis = unknownKeys(redisOptions, ['connection', 'prefix', 'clock']).length > 0;
          if (unknownRedis) {
            expect(await outcomeOf(() => new RedisJwtDenylist(redisOptions as never))).toBe(
              'ERR_INVALID_OPTIONS',
            );
          }
          for (const denylist of [memory, remote]) {
            await outcomeOf(() => denylist.add(jti as never, at as never));
            await outcomeOf(() => denylist.has(jti as never));
          }
        },
      ),
      150,
    );
    await remote.close();
  });

  it('a jti with a lone surrogate is refused by sign, verify, revokeJti and both adapters (on Redis two would share one key)', async () => {
    const remote = new RedisJwtDenylist({ connection: redis.client(), prefix: 't:deny-s:' });
    const withRedis = createJwt({ secret, denylist: remote });
    const expiresAtMs = Date.now() + 60_000;
    /** An HS256 token with these claims, signed here: `sign` itself refuses such a jti. */
    const forge = (claims: Record<string, unknown>): string => {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
      return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    };
    await run(
      fc.asyncProperty(loneSurrogateString, async (jti) => {
        tally.count('jwt lone surrogate jti');
        expect(await outcomeOf(() => withRedis.sign({ sub: 'u1', jti }))).toBe('ERR_INVALID_ARGUMENT');
        expect(await outcomeOf(() => withRedis.revokeJti(jti, expiresAtMs))).toBe('ERR_INVALID_ARGUMENT');
        const token = forge({ sub: 'u1', jti, exp: Math.floor(expiresAtMs / 1000) });
        expect(await outcomeOf(() => withRedis.verify(token))).toBe('ERR_JWT_CLAIM_MISSING');
        for (const denylist of [new MemoryJwtDenylist(), remote]) {
          expect(await outcomeOf(() => denylist.add(jti, expiresAtMs))).toBe('ERR_INVALID_ARGUMENT');
          expect(await outcomeOf(() => denylist.has(jti))).toBe('ERR_INVALID_ARGUMENT');
        }
      }),
      100,
    );
    // The forged token is refused for its jti alone: the same token with a well-formed jti verifies.
    const exp = Math.floor(expiresAtMs / 1000);
    expect((await withRedis.verify(forge({ sub: 'u1', jti: 'x\ufffd', exp }))).jti).toBe('x\ufffd');
    // Revoking 'x\ufffd' revokes that id alone; the ids that shared its Redis key are refused, not revoked.
    await withRedis.revokeJti('x\ufffd', expiresAtMs);
    expect(await remote.has('x\ufffd')).toBe(true);
    await expect(remote.has('x\ud800')).rejects.toMatchObject({ argument: 'jti' });
    await withRedis.close();
    await remote.close();
  });
});

describe('authorize', () => {
  it('hostile options: an authorizer or ERR_INVALID_OPTIONS; unknown keys always refused', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(AUTHORIZE_KEYS, { jwt }, ['requiredRole', 'roles', 'cookie', 'store']),
        async (options) => {
          tally.count('createAuthorizer');
          const outcome = await outcomeOf(() => createAuthorizer(options as never));
          if (unknownKeys(options, AUTHORIZE_KEYS).length > 0) expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome !== 'ok') expect(outcome).toBe('ERR_INVALID_OPTIONS');
          const required = await outcomeOf(() => auth.require(options as never));
          if (required !== 'ok') expect(required).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
  });

  it('decide: hostile headers get a decision, never an exception', async () => {
    await run(
      fc.asyncProperty(
        hostileHeader(adminToken),
        hostileHeader(`sid=${sid}`),
        fc.dictionary(hostileKey, hostileValue, { maxKeys: 3 }),
        async (authorization, cookie, other) => {
          tally.count('decide');
          const headers = { ...other, authorization, cookie } as unknown as Record<string, never>;
          const decision = await auth.decide({ headers });
          if (!decision.ok) {
            expect([401, 403]).toContain(decision.status);
            expect(decision.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
            expect(decision.headers['www-authenticate']).not.toMatch(/[^\x20-\x7e]/);
          }
          // Only the genuine credentials authorize.
          if (decision.ok) {
            expect(
              authorization === `Bearer ${adminToken}` ||
                authorization === `bearer ${adminToken}` ||
                authorization === `Bearer  ${adminToken} ` ||
                (Array.isArray(authorization) && authorization.length === 1) ||
                authorization === undefined,
            ).toBe(true);
          }
        },
      ),
      500,
    );
  });

  const frameworks = {
    express: async (headers: Record<string, unknown>) => {
      const mw = expressAuthorize(auth);
      const res = { code: 0, status: (c: number) => (res.code = c), set: () => {}, json: () => {} };
      let passed: unknown = 'no';
      await mw({ headers } as never, res as never, (err) => {
        passed = err ?? 'next';
      });
      return passed === 'next' ? 200 : passed === 'no' ? res.code : passed;
    },
    fastify: async (headers: Record<string, unknown>) => {
      const mw = fastifyAuthorize(auth);
      const reply = {
        status: 200,
        code: (c: number) => {
          reply.status = c;
          return reply;
        },
        headers: () => reply,
        send: () => reply,
      };
      await mw({ headers } as never, reply as never);
      return reply.status;
    },
    koa: async (headers: Record<string, unknown>) => {
      const mw = koaAuthorize(auth);
      const ctx = { headers, status: 404, body: undefined, set: () => {}, state: {} };
      await mw(ctx as never, async () => {
        ctx.status = 200;
      });
      return ctx.status;
    },
    node: async (headers: Record<string, unknown>) => {
      const guard = authorizeNode(auth);
      let status = 200;
      const res = { writeHead: (c: number) => (status = c), end: () => {} };
      await guard({ headers } as never, res as never);
      return status;
    },
  };

  for (const [name, call] of Object.entries(frameworks)) {
    it(`${name} middleware: hostile headers answer 200/401/403, never throw`, async () => {
      await run(
        fc.asyncProperty(
          hostileHeader(adminToken),
          hostileHeader(`sid=${sid}`),
          async (authorization, cookie) => {
            tally.count(`authorize (${name})`);
            const status = await call({ authorization, cookie });
            expect([200, 401, 403]).toContain(status);
          },
        ),
      );
    });
  }
});

describe('real servers take raw hostile requests and keep serving', () => {
  const servers: Array<{ name: string; url: string; close: () => Promise<void> }> = [];

  beforeAll(async () => {
    const listen = async (name: string, server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      servers.push({
        name,
        url: `127.0.0.1:${port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      });
    };
    const e = express();
    e.get('/me', expressAuthorize(auth), (_req, res) => {
      res.json({ ok: true });
    });
    await listen('express', createServer(e));
    const f = Fastify();
    f.get('/me', { preHandler: fastifyAuthorize(auth) }, async () => ({ ok: true }));
    await f.ready();
    await listen('fastify', f.server);
    const k = new Koa();
    k.use(koaAuthorize(auth));
    k.use((ctx) => {
      ctx.body = { ok: true };
    });
    await listen('koa', createServer(k.callback()));
    const guard = authorizeNode(auth);
    await listen(
      'node',
      createServer(async (req, res) => {
        if (await guard(req, res)) res.end('{"ok":true}');
      }),
    );
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  /** Sends raw bytes, answers the status code (0 when the server just closed the connection). */
  function raw(url: string, head: string): Promise<number> {
    const [host, port] = url.split(':') as [string, string];
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host);
      let data = '';
      socket.setTimeout(5000, () => reject(new Error('hang')));
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
      });
      socket.on('error', () => resolve(0));
      socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
      socket.end(`${head}\r\n`);
    });
  }

  it('huge, repeated, non-Bearer, junk and control-character Authorization headers', async () => {
    const cases: Array<[string, string, number[]]> = [
      ['the genuine token', `Authorization: Bearer ${adminToken}\r\n`, [200]],
      ['no credentials', '', [401]],
      ['Basic', 'Authorization: Basic YTpi\r\n', [401]],
      ['Bearer junk', 'Authorization: Bearer !!!\r\n', [401]],
      ['Bearer, three dots', 'Authorization: Bearer a.b.c\r\n', [401]],
      ['a 100 KB header', `Authorization: Bearer ${'A'.repeat(100_000)}\r\n`, [431, 400, 0]],
      ['50 Authorization headers', `Authorization: Bearer ${adminToken}\r\n`.repeat(50), [200, 401, 400]],
      [
        'two different tokens',
        `Authorization: Bearer ${adminToken}\r\nAuthorization: Bearer x.y.z\r\n`,
        [200, 401, 400],
      ],
      ['a control character', `Authorization: Bearer ${adminToken}\u0001\r\n`, [400, 0]],
      ['a NUL', 'Authorization: Bearer a\u0000b\r\n', [400, 0]],
      ['a junk cookie', `Cookie: sid=${'%'.repeat(10_000)}\r\n`, [401]],
      ['a session cookie', `Cookie: sid=${sid}\r\n`, [200]],
    ];
    for (const server of servers) {
      for (const [name, headers, expected] of cases) {
        tally.count(`authorize (real ${server.name})`);
        const status = await raw(
          server.url,
          `GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}`,
        );
        expect(expected, `${server.name}: ${name} answered ${status}`).toContain(status);
      }
      // Still serving.
      expect(
        await raw(
          server.url,
          `GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${adminToken}\r\n`,
        ),
      ).toBe(200);
    }
  });
});

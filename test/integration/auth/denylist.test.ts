import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisJwtDenylist } from '../../../src/adapters/redis/jwt-denylist.js';
import { createJwt } from '../../../src/auth/jwt.js';
import { isScaleoutError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

describe('jti denylist on a real redis-server', () => {
  let server: RedisServer;
  const prefix = uniquePrefix('jwt-deny');
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    const admin = server.client();
    await deleteKeysWithPrefix(admin, prefix);
    await server.stop();
  });

  it('a token revoked on one instance is refused by another, cached or not, until it expires', async () => {
    const secret = 'k'.repeat(32);
    const a = createJwt({ secret, denylist: new RedisJwtDenylist({ connection: server.client(), prefix }) });
    const owned = new RedisJwtDenylist({ connection: server.url, prefix });
    const b = createJwt({ secret, denylist: owned });
    const token = await a.sign({ sub: 'u1' }, { expiresInMs: 60_000 });
    const keep = await a.sign({ sub: 'u1' }, { expiresInMs: 60_000 });
    expect((await b.verify(token)).sub).toBe('u1'); // b has it cached now
    await a.revoke(token);
    await expect(b.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWT_REVOKED'));
    await expect(a.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWT_REVOKED'));
    expect((await b.verify(keep)).sub).toBe('u1');
    const admin = server.client();
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const pttl = await admin.pttl(keys[0]!);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(66_000);
    await b.close();
    await owned.close();
  });

  it('does not write an id whose expiry has passed on the clock it was given', async () => {
    const clock = fakeClock(Date.now() + 3_600_000); // an hour ahead of the server
    const client = server.client();
    const denylist = new RedisJwtDenylist({ connection: client, prefix: `${prefix}clock:`, clock });
    await denylist.add('expired-by-clock', clock.now() - 1); // Redis would keep it an hour
    expect(await denylist.has('expired-by-clock')).toBe(false);
    await denylist.add('live', clock.now() + 60_000);
    expect(await denylist.has('live')).toBe(true);
    expect(() => new RedisJwtDenylist({ connection: client, now: () => 0 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now', suggestion: 'clock' }),
    );
    await denylist.close();
  });
});

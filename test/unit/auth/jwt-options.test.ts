/** createJwt options: unknown keys refused, the design’s jsonwebtoken calls fail loudly, wrong kinds refused. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';
import { isScaleoutError } from '../../../src/errors.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('options: unknown keys are refused, the design’s jsonwebtoken calls fail loudly', () => {
  const secret = randomBytes(32);

  it('createJwt({ secret, expiresIn: "24h" }) is refused, suggesting expiresInMs', () => {
    const err = caught(() => createJwt({ secret, expiresIn: '24h' } as never));
    expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect(err).toMatchObject({ option: 'expiresIn', suggestion: 'expiresInMs' });
    expect(String((err as Error).message)).toContain('expiresInMs');
    expect(caught(() => createJwt({ secret, algorithm: 'HS256' } as never))).toMatchObject({
      suggestion: 'algorithms',
    });
    expect(caught(() => createJwt({ secret, issure: 'x' } as never))).toMatchObject({ suggestion: 'issuer' });
    expect(caught(() => createJwt(secret as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(caught(() => createJwt('secret' as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(
      caught(() =>
        createJwt({
          secret,
          kid: 'a',
          verificationKeys: [{ kid: 'b', secret: randomBytes(32), alg: 'x' }],
        } as never),
      ),
    ).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'alg' });
    expect(caught(() => createJwt({ secret, verificationKeys: {} } as never))).toMatchObject({
      option: 'verificationKeys',
    });
  });

  it('sign options refuse unknown keys and bare numbers; sign(payload, secret, { expiresIn }) is refused', async () => {
    const jwt = createJwt({ secret });
    await expect(jwt.sign({}, { expiresIn: '24h' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'expiresInMs',
    });
    await expect(jwt.sign({}, 3600 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'expiresInMs',
    });
    // The design's call: jwt.sign(payload, process.env.JWT_SECRET, { expiresIn: '24h' }).
    // It throws at once: code written for jsonwebtoken's synchronous sign
    // would otherwise hand a pending promise on as the token.
    const design = jwt.sign as unknown as (...args: unknown[]) => Promise<string>;
    expect(caught(() => design.call(jwt, { sub: 1 }, 'the-secret', { expiresIn: '24h' }))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'expiresInMs',
    });
    expect(caught(() => design.call(jwt, { sub: 1 }, 'the-secret'))).toMatchObject({ option: 'secret' });
    const designSync = jwt.signSync as unknown as (...args: unknown[]) => string;
    expect(caught(() => designSync.call(jwt, { sub: 1 }, secret, { expiresIn: '24h' }))).toMatchObject({
      suggestion: 'expiresInMs',
    });
    // ... and jwt.verify(token, process.env.JWT_SECRET).
    const token = await jwt.sign({ sub: 1 }, { expiresInMs: 86_400_000 });
    // It throws at once too: the design's middleware calls verify in a
    // try/catch without awaiting it; a promise there would be taken for claims.
    const verify = jwt.verify as unknown as (...args: unknown[]) => Promise<unknown>;
    expect(caught(() => verify.call(jwt, token, 'the-secret'))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    expect(caught(() => verify.call(jwt, token, undefined))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    const verifySync = jwt.verifySync as unknown as (...args: unknown[]) => unknown;
    expect(caught(() => verifySync.call(jwt, token, 'the-secret'))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    const claims = await jwt.verify(token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400);
  });
});

describe('options of the wrong kind are refused at construction (found by the hostile suite)', () => {
  it('algorithms, jwksUrl, denylist, now, cacheMaxBytes', () => {
    const secret = randomBytes(32);
    for (const options of [
      { secret, algorithms: { a: 1 } },
      { secret, algorithms: 'HS256' },
      { secret, algorithms: [] },
      { secret, algorithms: [1] },
      { jwksUrl: Symbol('u') },
      { jwksUrl: 42 },
      { secret, denylist: {} },
      { secret, denylist: new Map() },
      // close() is part of every contract.
      { secret, denylist: { add: async () => {}, has: async () => false } },
      { secret, now: 5 },
      { secret, cacheMaxBytes: 5n },
      { secret, cacheMaxBytes: Number.NaN },
    ]) {
      const err = caught(() => createJwt(options as never));
      expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS'), JSON.stringify(Object.keys(options))).toBe(true);
    }
  });
});

/** The compact serialization: a signature has one base64url spelling. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';

describe('signatures have one spelling', () => {
  it('a signature whose unused trailing bits are set is refused, not verified as a second token', async () => {
    const jwt = createJwt({ secret: randomBytes(32) });
    const token = await jwt.sign({ sub: 'u' });
    const last = token.at(-1)!;
    // 32 signature bytes are 43 characters: the last one carries 4 bits and 2 unused ones.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
    expect(twin).not.toBe(token);
    expect(Buffer.from(twin.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(token.split('.')[2]!, 'base64url'),
    );
    await expect(jwt.verify(token)).resolves.toMatchObject({ sub: 'u' });
    await expect(jwt.verify(twin)).rejects.toMatchObject({ code: 'ERR_JWT_MALFORMED' });
  });
});

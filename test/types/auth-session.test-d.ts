import session from 'express-session';
import { describe, expectTypeOf, it } from 'vitest';
import { expressSessionStore } from '../../src/express.js';
import {
  type AuthDecision,
  createAuthorizer,
  createJwt,
  type JwtClaims,
  type Session,
  SessionStore,
} from '../../src/index.js';

describe('session and auth types', () => {
  it('gives express-session a Store it accepts, without a cast', () => {
    const store = expressSessionStore(session, { sessions: new SessionStore() });
    expectTypeOf(store).toMatchTypeOf<session.Store>();
    session({ store, genid: store.genid, secret: 's', resave: false, saveUninitialized: false });
  });

  it('carries the data type through SessionStore', async () => {
    const store = new SessionStore<{ cart: string[] }>();
    const s = await store.create({ cart: [] });
    expectTypeOf(s).toEqualTypeOf<Session<{ cart: string[] }>>();
    expectTypeOf(s.data.cart).toEqualTypeOf<string[]>();
    await store.update(s.id, (data) => ({ cart: [...data.cart, 'x'] }));
    // @ts-expect-error the merge result must be the session's data type
    await store.update(s.id, () => ({ cart: 1 }));
    // @ts-expect-error a value update needs { expectedVersion }
    await store.update(s.id, { cart: [] });
    expectTypeOf(await store.get(s.id)).toEqualTypeOf<Session<{ cart: string[] }> | undefined>();
  });

  it('types JWT options and claims', async () => {
    const jwt = createJwt({ secret: 'x'.repeat(32), algorithms: ['HS256'] });
    // @ts-expect-error 'none' is not an algorithm
    createJwt({ secret: 'x'.repeat(32), algorithms: ['none'] });
    const claims = await jwt.verify('t');
    expectTypeOf(claims).toEqualTypeOf<Readonly<JwtClaims>>();
    expectTypeOf(claims.exp).toEqualTypeOf<number | undefined>();
    const decision = await createAuthorizer({ jwt }).decide({ headers: {} });
    expectTypeOf(decision).toEqualTypeOf<AuthDecision>();
    if (!decision.ok) expectTypeOf(decision.status).toEqualTypeOf<401 | 403>();
  });

  it('takes the design’s numeric ids and refuses its option names', async () => {
    const jwt = createJwt({ secret: 'x'.repeat(32), expiresInMs: 86_400_000 });
    // The design's sub: user.id, where ids are numbers.
    await jwt.sign({ sub: 42, role: 'admin' });
    expectTypeOf<JwtClaims['sub']>().toEqualTypeOf<string | number | undefined>();
    // @ts-expect-error the lifetime is expiresInMs (the runtime refuses expiresIn too)
    createJwt({ secret: 'x'.repeat(32), expiresIn: '24h' });
    const store = new SessionStore();
    const s = await store.create({}, { userId: 42 });
    expectTypeOf(s.userId).toEqualTypeOf<string | undefined>();
    await store.destroyAllForUser(42);
    // @ts-expect-error the lifetime is ttlMs
    new SessionStore({ ttl: 3600 });
  });
});

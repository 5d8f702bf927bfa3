/**
 * One scenario of the idempotency middleware, run against each framework's
 * server (see frameworks.test.ts): replays, problems, 5xx not kept,
 * concurrent duplicates, scoping by subject.
 */
import { expect } from 'vitest';
import { createJwt, type Jwt } from '../../../src/index.js';

/** What every framework's test server shares: its effects, counted per op. */
export interface ScenarioApp {
  readonly effects: Map<string, number>;
  readonly jwt: Jwt;
  /** Calls of /flaky so far. */
  flakyCalls: number;
}

export function scenarioApp(): ScenarioApp {
  return { effects: new Map(), jwt: createJwt({ secret: 'x'.repeat(32), issuer: 'test' }), flakyCalls: 0 };
}

/** The effect of a request: counts `op`; the answer a route gives. */
export async function effect(
  app: ScenarioApp,
  body: unknown,
  delayMs = 0,
): Promise<{ op: string; n: number }> {
  const op = String((body as { op?: unknown } | undefined)?.op ?? 'none');
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  const n = (app.effects.get(op) ?? 0) + 1;
  app.effects.set(op, n);
  return { op, n };
}

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export async function runIdempotencyScenario(base: string, app: ScenarioApp): Promise<void> {
  // The first request runs; a repeat gets the kept answer, marked.
  const first = await post(base, '/pay', { op: 'a', cents: 100 }, { 'idempotency-key': 'k-a' });
  expect(first.status).toBe(201);
  expect(first.headers.get('idempotency-replayed')).toBeNull();
  const firstBody = await first.text();
  const again = await post(base, '/pay', { cents: 100, op: 'a' }, { 'idempotency-key': '"k-a"' });
  expect(again.status).toBe(201);
  expect(again.headers.get('idempotency-replayed')).toBe('true');
  expect(await again.text()).toBe(firstBody);
  expect(again.headers.get('location')).toBe('/payments/a');
  expect(again.headers.get('content-type')).toMatch(/^application\/json/);
  expect(again.headers.get('set-cookie')).toBeNull();
  expect(again.headers.get('x-trace')).toBeNull();
  expect(app.effects.get('a')).toBe(1);

  // The same key with another body: 422, the draft's problem.
  const reused = await post(base, '/pay', { op: 'a', cents: 999 }, { 'idempotency-key': 'k-a' });
  expect(reused.status).toBe(422);
  expect(reused.headers.get('content-type')).toBe('application/problem+json');
  expect(reused.headers.get('link')).toMatch(/rel="describedby"/);
  expect(await reused.json()).toMatchObject({ status: 422, title: 'Idempotency-Key is already used' });
  expect(app.effects.get('a')).toBe(1);

  // No key: runs every time; a route that requires one answers 400.
  await post(base, '/pay', { op: 'b' });
  await post(base, '/pay', { op: 'b' });
  expect(app.effects.get('b')).toBe(2);
  const missing = await post(base, '/required', { op: 'c' });
  expect(missing.status).toBe(400);
  expect(await missing.json()).toMatchObject({ title: 'Idempotency-Key is missing' });
  expect(app.effects.get('c')).toBeUndefined();
  const invalid = await post(base, '/pay', { op: 'd' }, { 'idempotency-key': 'x'.repeat(300) });
  expect(invalid.status).toBe(400);
  const invalidText = await invalid.text();
  expect(invalidText).toContain('Idempotency-Key is invalid');
  expect(invalidText).not.toContain('xxxxxxxxxx');
  expect(app.effects.get('d')).toBeUndefined();

  // A 5xx is not kept: the retry runs, and is then kept.
  const flaky1 = await post(base, '/flaky', { op: 'f' }, { 'idempotency-key': 'k-f' });
  expect(flaky1.status).toBe(503);
  const flaky2 = await post(base, '/flaky', { op: 'f' }, { 'idempotency-key': 'k-f' });
  expect(flaky2.status).toBe(201);
  const flaky3 = await post(base, '/flaky', { op: 'f' }, { 'idempotency-key': 'k-f' });
  expect(flaky3.headers.get('idempotency-replayed')).toBe('true');
  expect(app.flakyCalls).toBe(2);

  // Ten concurrent duplicates of a slow request: one runs, the rest wait for its answer.
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      post(base, '/pay', { op: 'g' }, { 'idempotency-key': 'k-g', 'x-delay-ms': '150' }),
    ),
  );
  expect(answers.map((r) => r.status)).toEqual(Array(10).fill(201));
  expect(answers.filter((r) => r.headers.get('idempotency-replayed') === 'true')).toHaveLength(9);
  expect(app.effects.get('g')).toBe(1);

  // Keys are scoped by the authenticated subject: two users, one key, two effects.
  const alice = await app.jwt.sign({ sub: 'alice' });
  const bob = await app.jwt.sign({ sub: 'bob' });
  for (const token of [alice, alice, bob]) {
    const r = await post(
      base,
      '/me/pay',
      { op: 'h' },
      { authorization: `Bearer ${token}`, 'idempotency-key': 'same' },
    );
    expect(r.status).toBe(201);
  }
  expect(app.effects.get('h')).toBe(2);

  // Other methods pass through untouched.
  const get = await fetch(`${base}/pay`, { headers: { 'idempotency-key': 'k-a' } });
  expect(get.headers.get('idempotency-replayed')).toBeNull();
}

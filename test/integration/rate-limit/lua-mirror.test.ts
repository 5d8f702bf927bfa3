import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimitAdapter } from '../../../src/adapters/memory/memory-rate-limit-adapter.js';
import { taggedKey } from '../../../src/adapters/redis/keys.js';
import { RATE_LIMIT_LUA_BODY } from '../../../src/adapters/redis/rate-limit-script.js';
import { defineRedisScript } from '../../../src/adapters/redis/scripts.js';
import type { RateLimitAlgorithm, RateLimitRule } from '../../../src/contracts/rate-limit.js';
import { ALGORITHM_CODES, ruleSuffix } from '../../../src/rate-limit/algorithm.js';
import { RATE_LIMIT_ALGORITHMS } from '../../../src/rate-limit/algorithms.js';
import type { Clock } from '../../../src/types.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

// The production script takes `now` from Redis TIME; this twin takes it from
// its last argument, so both sides can be run at the same chosen instants.
// Keys are kept 10^8 ms longer than asked (the chosen instants are not the
// server's), and the extra is subtracted when TTLs are compared.
const EXTRA_TTL = 100_000_000;
const mirror = defineRedisScript({
  name: 'rate-limit-mirror',
  keys: 'variadic',
  lua: `local now = tonumber(ARGV[#ARGV])\n${RATE_LIMIT_LUA_BODY.replace("'PX', plan[4 * i - 2]", `'PX', plan[4 * i - 2] + ${EXTRA_TTL}`).replace("'PX', ttl)", `'PX', ttl + ${EXTRA_TTL})`)}`,
});

/**
 * The first instant: mostly on today's 13-digit clock, where the script
 * writes with '%d'; also at 14 and 15 digits, where it falls back to '%.0f'.
 */
const startArb = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(1_700_000_000_000) },
      fc.constant(10 ** 13 - 2 ** 31),
      fc.constant(10 ** 14 + 12_345),
    ),
    fc.integer({ min: 0, max: 2 ** 31 }),
  )
  .map(([epoch, offset]) => epoch + offset);

/** A gap in ms, or one relative to the last answer's retry/reset time (the boundaries where off-by-ones hide). */
type Gap = number | { after: 'retry' | 'reset'; delta: number };
type Op = { kind: 'c' | 'p' | 'r'; cost: number; gap: Gap };

const ruleArb = fc.record({
  algorithm: fc.constantFrom<RateLimitAlgorithm>('gcra', 'sliding-window', 'fixed-window'),
  limit: fc.integer({ min: 1, max: 60 }),
  windowMs: fc.oneof(
    fc.integer({ min: 1, max: 50 }),
    fc.integer({ min: 51, max: 5_000 }),
    fc.constant(10_000),
  ),
});
const rulesArb = fc
  .uniqueArray(ruleArb, { minLength: 1, maxLength: 3, selector: (r) => `${r.algorithm}:${r.windowMs}` })
  .map((rules) => Object.freeze(rules.map((r) => Object.freeze(r))) as readonly RateLimitRule[]);
const opsArb = fc.array(
  fc.record({
    kind: fc.constantFrom<'c' | 'p' | 'r'>('c', 'c', 'c', 'p', 'r'),
    cost: fc.integer({ min: 1, max: 60 }),
    gap: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 12_000 }),
      fc.record({
        after: fc.constantFrom<'retry' | 'reset'>('retry', 'reset'),
        delta: fc.integer({ min: -1, max: 1 }),
      }),
    ),
  }),
  { minLength: 1, maxLength: 40 },
);

describe('the Lua script mirrors the algorithm functions (real redis-server)', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the twin pads the TTL of every write (the production script but for `now`)', () => {
    expect(mirror.lua.match(new RegExp(`'PX', [^\\n]*\\+ ${EXTRA_TTL}`, 'g'))).toHaveLength(1);
    expect(mirror.lua.match(/'PX'/g)).toHaveLength(1);
  });

  it('same answers, same stored text, same TTLs, for random limits, operations and instants', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(rulesArb, opsArb, startArb, async (rules, ops, start) => {
        runs++;
        const prefix = uniquePrefix('mirror');
        const key = 'k';
        const keys = rules.map((r) => taggedKey(prefix, key, ruleSuffix(r.algorithm, r.windowMs)));
        let now = start;
        const clock: Clock = { now: () => now, monotonic: () => now };
        const memory = new MemoryRateLimitAdapter({ clock });
        // The states the pure functions hold, to compare with what Redis stores.
        const states: unknown[] = rules.map(() => undefined);
        const expiry: number[] = rules.map(() => 0);
        const ttls: number[] = rules.map(() => 0);
        const smallest = Math.min(...rules.map((r) => r.limit));
        let last: number[] = [];
        for (const op of ops as Op[]) {
          if (typeof op.gap === 'number') now += op.gap;
          else {
            const at = op.gap.after === 'retry' ? 3 : 2;
            const wait = Math.max(0, ...last.filter((_, i) => i > 0 && i % 3 === at % 3));
            now += Math.max(0, wait + op.gap.delta);
          }
          const cost = op.kind === 'p' ? 1 : 1 + ((op.cost - 1) % smallest);
          const args = [
            op.kind,
            String(cost),
            ...rules.flatMap((r) => [ALGORITHM_CODES[r.algorithm], r.limit, r.windowMs]),
            now,
          ];
          const reply = (await mirror.run(redis, keys, args)) as number[];
          const request = { key, rules, cost };
          if (op.kind === 'r') {
            await memory.refund(request);
            rules.forEach((r, i) => {
              const step = RATE_LIMIT_ALGORITHMS[r.algorithm].refund(
                expiry[i]! > now ? states[i] : undefined,
                now,
                r.limit,
                r.windowMs,
                cost,
              );
              states[i] = step.next;
              expiry[i] = now + step.ttlMs;
              ttls[i] = step.ttlMs;
            });
          } else {
            const result = op.kind === 'c' ? await memory.consume(request) : await memory.peek(request);
            const flat = [
              result.allowed ? 1 : 0,
              ...result.rules.flatMap((s) => [s.remaining, s.resetMs, s.retryAfterMs]),
            ];
            expect(reply).toEqual(flat);
            last = reply;
            if (op.kind === 'c' && result.allowed) {
              rules.forEach((r, i) => {
                const step = RATE_LIMIT_ALGORITHMS[r.algorithm].consume(
                  expiry[i]! > now ? states[i] : undefined,
                  now,
                  r.limit,
                  r.windowMs,
                  cost,
                );
                states[i] = step.next;
                expiry[i] = now + step.ttlMs;
                ttls[i] = step.ttlMs;
              });
            }
          }
          for (let i = 0; i < rules.length; i++) {
            const stored = await redis.get(keys[i]!);
            if (states[i] === undefined) {
              expect(stored).toBeNull();
              continue;
            }
            expect(stored).toBe(RATE_LIMIT_ALGORITHMS[rules[i]!.algorithm].encode(states[i]));
            // The TTL set at the last write, less the real time since (a few ms).
            const left = (await redis.pttl(keys[i]!)) - EXTRA_TTL;
            expect(left).toBeLessThanOrEqual(ttls[i]!);
            expect(left).toBeGreaterThan(ttls[i]! - 5_000);
          }
        }
        await redis.del(...keys);
        await memory.close();
      }),
      { numRuns: 300 },
    );
    expect(runs).toBeGreaterThanOrEqual(300);
  }, 120_000);

  it('refuses exactly the stored text the functions cannot decode (scaleout:data), and reads the rest alike', async () => {
    const digits = fc.oneof(
      fc.integer({ min: 0, max: 2_000_000_000_000 }).map(String),
      fc.stringMatching(/^[0-9]{1,20}$/),
      fc.constantFrom('', '-1', '1.5', '1e3', ' 1', '0x10'),
    );
    const text = fc.oneof(
      fc.tuple(digits, digits).map(([a, b]) => `${a}:${b}`),
      fc.tuple(digits, digits, digits).map(([a, b, c]) => `${a}:${b}:${c}`),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.constantFrom<RateLimitAlgorithm>('gcra', 'sliding-window', 'fixed-window'),
        fc.oneof(fc.constant(1_000), fc.integer({ min: 1, max: 100_000 })),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (stored, algorithm, windowMs, offset) => {
          const now = 1_700_000_000_000 + offset;
          const key = taggedKey(uniquePrefix('junk'), 'k', ruleSuffix(algorithm, windowMs));
          await redis.set(key, stored);
          const args = ['p', '1', ALGORITHM_CODES[algorithm], 5, windowMs, now];
          const reply = await mirror.run(redis, [key], args).then(
            (r) => r as number[],
            (err: Error) => err,
          );
          await redis.del(key);
          const fns = RATE_LIMIT_ALGORITHMS[algorithm];
          const decoded = fns.decode(stored, windowMs, now);
          if (decoded === undefined) {
            expect(reply).toBeInstanceOf(Error);
            expect((reply as Error).message).toContain('scaleout:data 1');
          } else {
            const p = fns.peek(decoded, now, 5, windowMs);
            expect(reply).toEqual([p.allowed ? 1 : 0, p.remaining, p.resetMs, p.retryAfterMs]);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';
import { redactUrl } from '../../../src/internal/redact.js';
import {
  durationArgument,
  durationOption,
  keyArgument,
  MAX_DURATION_MS,
} from '../../../src/internal/validate.js';

describe('redactUrl', () => {
  it('hides user, password and secret-looking query parameters', () => {
    const out = redactUrl('redis://admin:s3cret@10.0.0.1:6379/2?password=p4ss&db=1');
    expect(out).not.toContain('s3cret');
    expect(out).not.toContain('p4ss');
    expect(out).not.toContain('admin');
    expect(out).toContain('10.0.0.1:6379');
    expect(out).toContain('db=1');
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://***@127.0.0.1:5672');
  });

  it('never echoes text that is not a URL', () => {
    expect(redactUrl('not a url with hunter2')).toBe('<unparseable url>');
  });
});

describe('validators', () => {
  it('durationOption accepts integers in range and names the option otherwise', () => {
    expect(durationOption('ttlMs', 1000)).toBe(1000);
    expect(durationOption('graceMs', 0, 0)).toBe(0);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, MAX_DURATION_MS + 1, '10' as unknown as number]) {
      try {
        durationOption('ttlMs', bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).option).toBe('ttlMs');
      }
    }
    expect(() => durationArgument('ttlMs', -5)).toThrow(InvalidArgumentError);
  });

  it('keyArgument refuses non-strings, empty, oversized and control characters without echoing', () => {
    expect(keyArgument('key', 'user:1')).toBe('user:1');
    const cases: unknown[] = [undefined, null, 42, {}, '', 'x'.repeat(1025), 'a\nb', 'a\u0000b', 'tab\there'];
    for (const bad of cases) {
      try {
        keyArgument('key', bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).argument).toBe('key');
      }
    }
  });
});

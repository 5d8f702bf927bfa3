import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractContext, headerGetter } from '../../../src/telemetry/carrier.js';
import { otelApi } from '../../../src/telemetry/otel-api.js';
import { spanUrl } from '../../../src/telemetry/span-url.js';

describe('spanUrl', () => {
  it('redacts credentials and secret query values, drops the fragment', () => {
    expect(spanUrl('http://alice:hunter2@127.0.0.1:4001', '/a?x=1&token=t0k&Signature=s&sig=s2#frag')).toBe(
      'http://REDACTED:REDACTED@127.0.0.1:4001/a?x=1&token=REDACTED&Signature=REDACTED&sig=REDACTED',
    );
    expect(spanUrl(undefined, 'https://u@h.test/p?AWSAccessKeyId=A&X-Goog-Signature=g&api%5Fkey=k')).toBe(
      'https://REDACTED:REDACTED@h.test/p?AWSAccessKeyId=REDACTED&X-Goog-Signature=REDACTED&api%5Fkey=REDACTED',
    );
    expect(spanUrl(undefined, 'not a url')).toBeUndefined();
    // One-time codes, PINs, tickets, nonces, refresh and bearer values; ';' separates too.
    expect(
      spanUrl(
        undefined,
        'http://h.test/p?pwd=a&bearer=b&otp=c&user_pin=d&ticket=e&hmac=f&nonce=g&refresh=h&x=1;token=i&shipping=fast&spin=1',
      ),
    ).toBe(
      'http://h.test/p?pwd=REDACTED&bearer=REDACTED&otp=REDACTED&user_pin=REDACTED&ticket=REDACTED&hmac=REDACTED&nonce=REDACTED&refresh=REDACTED&x=1;token=REDACTED&shipping=fast&spin=1',
    );
  });

  it('never lets a secret query value or password through (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/).map((s) => `S3CR${s}`);
    const name = fc.constantFrom(
      'token',
      'access_token',
      'apiKey',
      'password',
      'client_secret',
      'sig',
      'session',
      'pwd',
      'otp',
      'pin',
      'ticket',
      'refresh_token',
    );
    fc.assert(
      fc.property(secret, name, fc.string(), fc.constantFrom('&', ';'), (value, key, path, sep) => {
        const url = spanUrl(
          `http://user:${value}@127.0.0.1:1`,
          `/${encodeURIComponent(path)}?a=1${sep}${key}=${value}`,
        );
        expect(url ?? '').not.toContain(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('trace context from foreign headers', () => {
  const api = otelApi()!;
  it('reads own string values only', () => {
    const carrier = Object.create({ traceparent: 'inherited' }) as Record<string, unknown>;
    carrier.tracestate = ['a=1', 'b=2'];
    carrier.baggage = 42;
    expect(headerGetter.get(carrier, 'traceparent')).toBeUndefined();
    expect(headerGetter.get(carrier, 'tracestate')).toEqual(['a=1', 'b=2']);
    expect(headerGetter.get(carrier, 'baggage')).toBeUndefined();
    expect(headerGetter.get({ traceparent: 'x'.repeat(9000) }, 'traceparent')).toBeUndefined();
  });

  it('never throws, whatever the headers hold (property)', () => {
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    try {
      fc.assert(
        fc.property(
          fc.anything({ withNullPrototype: true, withMap: true, withSet: true, withBigInt: true }),
          (headers) => {
            const ctx = extractContext(api, ROOT_CONTEXT, headers);
            // Whatever came in, a valid parent or nothing.
            const parent = trace.getSpanContext(ctx);
            if (parent !== undefined) expect(api.isSpanContextValid(parent)).toBe(true);
          },
        ),
        { numRuns: 500 },
      );
      fc.assert(
        fc.property(
          fc.dictionary(
            fc.constantFrom('traceparent', 'tracestate', 'baggage'),
            fc.string({ maxLength: 200 }),
          ),
          (headers) => {
            extractContext(api, ROOT_CONTEXT, headers);
          },
        ),
        { numRuns: 500 },
      );
    } finally {
      api.propagation.disable();
    }
  });
});

import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RATE_LIMIT_IPV6_SUBNET, rateLimitIpKey } from '../../../src/rate-limit/rate-limit-ip-key.js';

/** The 8 groups of an IPv6 address in hex groups (no dotted tail), by a parser independent of the module's. */
function referenceGroups(text: string): number[] {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head === '' ? [] : head!.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
}

describe('rateLimitIpKey', () => {
  it('counts an IPv6 address under its /56 by default, in canonical text', () => {
    expect(RATE_LIMIT_IPV6_SUBNET).toBe(56);
    for (const [address, key] of [
      ['2001:db8::7', '2001:db8::/56'],
      ['2001:db8:0:12ab::1', '2001:db8:0:1200::/56'],
      ['2001:DB8:0000:12FF:ffff:ffff:ffff:ffff', '2001:db8:0:1200::/56'],
      ['2001:0db8:00:1234:5678:9abc:def0:1234', '2001:db8:0:1200::/56'],
      ['::1', '::/56'],
      ['fe80::1%eth0', 'fe80::/56'],
      ['2001:db8:aaaa:bbcc:1::', '2001:db8:aaaa:bb00::/56'],
    ] as const) {
      expect(rateLimitIpKey(address), address).toBe(key);
    }
  });

  it('masks at any prefix length, inside a group too', () => {
    const address = '2001:db8:abcd:ef12:3456:789a:bcde:f012';
    expect(rateLimitIpKey(address, { ipv6Subnet: 1 })).toBe('::/1');
    expect(rateLimitIpKey('8000::1', { ipv6Subnet: 1 })).toBe('8000::/1');
    expect(rateLimitIpKey(address, { ipv6Subnet: 16 })).toBe('2001::/16');
    expect(rateLimitIpKey(address, { ipv6Subnet: 36 })).toBe('2001:db8:a000::/36');
    expect(rateLimitIpKey(address, { ipv6Subnet: 48 })).toBe('2001:db8:abcd::/48');
    expect(rateLimitIpKey(address, { ipv6Subnet: 64 })).toBe('2001:db8:abcd:ef12::/64');
    expect(rateLimitIpKey(address, { ipv6Subnet: 127 })).toBe('2001:db8:abcd:ef12:3456:789a:bcde:f012/127');
    expect(rateLimitIpKey('2001:db8::3', { ipv6Subnet: 127 })).toBe('2001:db8::2/127');
    // 128: each address alone, every spelling of it one key.
    expect(rateLimitIpKey(address, { ipv6Subnet: 128 })).toBe(address);
    expect(rateLimitIpKey('2001:DB8:0:0:0:0:0:1', { ipv6Subnet: 128 })).toBe('2001:db8::1');
    expect(rateLimitIpKey('2001:db8:0:0:1:0:0:1', { ipv6Subnet: 128 })).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(rateLimitIpKey('2001:0:0:1:0:0:0:1', { ipv6Subnet: 128 })).toBe('2001:0:0:1::1'); // the longest run
    expect(rateLimitIpKey('2001:db8:1:1:1:1:0:1', { ipv6Subnet: 128 })).toBe('2001:db8:1:1:1:1:0:1'); // one zero group stays
  });

  it('reads IPv4, IPv4-mapped and embedded-IPv4 forms', () => {
    expect(rateLimitIpKey('10.0.0.7')).toBe('10.0.0.7');
    expect(rateLimitIpKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(rateLimitIpKey('::FFFF:a00:7')).toBe('10.0.0.7');
    expect(rateLimitIpKey('0:0:0:0:0:ffff:10.0.0.7')).toBe('10.0.0.7');
    // A translator puts every IPv4 client behind these: each counts as its IPv4 address.
    expect(rateLimitIpKey('::ffff:0:10.0.0.7')).toBe('10.0.0.7'); // translated (SIIT)
    expect(rateLimitIpKey('::ffff:0:a00:8')).toBe('10.0.0.8');
    expect(rateLimitIpKey('64:ff9b::10.0.0.7')).toBe('10.0.0.7'); // NAT64, well-known prefix
    expect(rateLimitIpKey('64:FF9B::a00:9')).toBe('10.0.0.9');
    expect(rateLimitIpKey('::10.0.0.7')).toBe('10.0.0.7'); // the deprecated compatible form
    // ...but not the loopback and unspecified addresses, nor an address merely near those prefixes.
    expect(rateLimitIpKey('::1')).toBe('::/56');
    expect(rateLimitIpKey('::', { ipv6Subnet: 128 })).toBe('::');
    expect(rateLimitIpKey('::0.0.255.255', { ipv6Subnet: 128 })).toBe('::ffff');
    expect(rateLimitIpKey('64:ff9b:1::10.0.0.7', { ipv6Subnet: 128 })).toBe('64:ff9b:1::a00:7');
    expect(rateLimitIpKey('::1:ffff:10.0.0.7', { ipv6Subnet: 128 })).toBe('::1:ffff:a00:7');
    expect(rateLimitIpKey('1:2:3:4:5:6:10.0.0.7', { ipv6Subnet: 128 })).toBe('1:2:3:4:5:6:a00:7');
  });

  it('drops a port a proxy appended, so that each connection is not a client of its own', () => {
    expect(rateLimitIpKey('10.0.0.7:51234')).toBe('10.0.0.7');
    expect(rateLimitIpKey('10.0.0.7:0')).toBe('10.0.0.7');
    expect(rateLimitIpKey('[2001:db8:0:12ab::1]:443')).toBe('2001:db8:0:1200::/56');
    expect(rateLimitIpKey('[2001:db8:0:12ab::1]')).toBe('2001:db8:0:1200::/56');
    expect(rateLimitIpKey('[::ffff:10.0.0.7]:8080')).toBe('10.0.0.7');
    expect(rateLimitIpKey('[fe80::1%eth0]:22', { ipv6Subnet: 128 })).toBe('fe80::1');
  });

  it('gives back what is not an IP address unchanged', () => {
    for (const text of [
      'unknown',
      '',
      'example.org',
      '2001:db8::g',
      '1:2:3:4:5:6:7:8:9',
      'a:b',
      ':::',
      '10.0.0.7:',
      '10.0.0.7:port',
      '10.0.0.7:123456',
      'example.org:80',
      '[2001:db8::1',
      '[2001:db8::1]:',
      '[2001:db8::1]x',
      '[2001:db8::1]:80:80',
      '[example.org]:80',
      '2001:db8::1:80x',
    ])
      expect(rateLimitIpKey(text), text).toBe(text);
  });

  it('refuses bad arguments and options with typed errors', () => {
    for (const subnet of [0, 129, 56.5, -1, Number.NaN, '56', null, false, true, {}]) {
      expect(() => rateLimitIpKey('::1', { ipv6Subnet: subnet as never }), String(subnet)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'ipv6Subnet' }),
      );
    }
    expect(() => rateLimitIpKey('::1', { subnet: 64 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', suggestion: 'ipv6Subnet' }),
    );
    expect(() => rateLimitIpKey('::1', 64 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    for (const address of [undefined, null, 5, {}, Symbol('a')]) {
      expect(() => rateLimitIpKey(address as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'address' }),
      );
    }
  });

  it('agrees with a bit-by-bit mask on any address, spelling and prefix (property)', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 1, max: 127 }),
        fc.boolean(),
        (groups, subnet, upper) => {
          // Written out long (leading zeros, either case): one spelling among many.
          let text = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
          if (upper) text = text.toUpperCase();
          expect(isIPv6(text)).toBe(true);
          const key = rateLimitIpKey(text, { ipv6Subnet: subnet });
          const [g0, g1, g2, g3, g4, g5, g6] = groups as [
            number,
            number,
            number,
            number,
            number,
            number,
            number,
          ];
          const low96 = (a: number, b: number, c: number, d: number, e: number, f: number) =>
            g0 === a && g1 === b && g2 === c && g3 === d && g4 === e && g5 === f;
          const carriesIpv4 =
            low96(0, 0, 0, 0, 0, 0xffff) ||
            low96(0, 0, 0, 0, 0xffff, 0) ||
            low96(0x64, 0xff9b, 0, 0, 0, 0) ||
            (low96(0, 0, 0, 0, 0, 0) && g6 !== 0);
          if (carriesIpv4) {
            expect(key).toBe(`${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`);
            return;
          }
          expect(key.endsWith(`/${subnet}`)).toBe(true);
          const network = key.slice(0, key.lastIndexOf('/'));
          expect(isIPv6(network)).toBe(true);
          const masked = groups.map((g, i) => {
            let kept = 0;
            for (let bit = 0; bit < 16; bit++) if (16 * i + bit < subnet) kept |= 0x8000 >> bit;
            return g & kept;
          });
          expect(referenceGroups(network)).toEqual(masked);
          // The canonical text is what the compressed spelling of the same address gives.
          expect(rateLimitIpKey(network, { ipv6Subnet: subnet })).toBe(key);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

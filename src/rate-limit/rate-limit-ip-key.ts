import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

/**
 * The IPv6 prefix a client is counted under by default: 56 bits, the
 * block an ISP commonly gives one customer (a home or small office gets a
 * /56 or a /48, each of its networks a /64). One IPv6 client can take any
 * address of its /64 on every request, so counting by address would let
 * it past any limit.
 *
 * @example
 * ```ts
 * rateLimit({ limiter, ipv6Subnet: RATE_LIMIT_IPV6_SUBNET }); // the default, spelled out
 * ```
 */
export const RATE_LIMIT_IPV6_SUBNET = 56;

/**
 * Options of {@link rateLimitIpKey}.
 *
 * @example
 * ```ts
 * const options: RateLimitIpKeyOptions = { ipv6Subnet: 64 };
 * ```
 */
export interface RateLimitIpKeyOptions {
  /**
   * Prefix length (1 to 128) an IPv6 address is counted under: every
   * address of one such block is one client; 128 counts each address
   * alone. IPv4 addresses are counted alone.
   * @default 56
   */
  ipv6Subnet?: number;
}

const checkKeyOptions = optionsChecker({
  where: 'rateLimitIpKey options',
  keys: ['ipv6Subnet'],
  hints: { subnet: 'ipv6Subnet', prefix: 'ipv6Subnet', ipv6SubnetBits: 'ipv6Subnet' },
});

/**
 * @internal The checked `ipv6Subnet` of a middleware or of
 * {@link rateLimitIpKey}: an integer from 1 to 128 (`false` and `0`,
 * which some libraries take for "per address", are refused with the
 * value that means it here: 128).
 */
export function checkIpv6Subnet(value: unknown): number {
  if (value === undefined) return RATE_LIMIT_IPV6_SUBNET;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 128) {
    throw new InvalidOptionsError(
      'ipv6Subnet must be an integer from 1 to 128 (the IPv6 prefix length one client is counted under; 128 counts each address alone)',
      { option: 'ipv6Subnet' },
    );
  }
  return value;
}

/**
 * The 8 16-bit groups of an IPv6 address that `isIPv6` accepted (zone
 * already removed), a dotted IPv4 tail included.
 */
function groupsOf(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    const [a, b, c, d] = text
      .slice(at + 1)
      .split('.')
      .map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, at + 1);
    // `::1.2.3.4` leaves `::`; `64:ff9b::1.2.3.4` leaves `64:ff9b::`; `1:2:3:4:5:6:1.2.3.4` leaves `1:2:3:4:5:6:`.
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap === -1) groups = [...parse(text), ...tail];
  else {
    const head = parse(text.slice(0, gap));
    const rest = [...parse(text.slice(gap + 2)), ...tail];
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  return groups;
}

/** RFC 5952 text of 8 groups: lower-case hex, no leading zeros, the longest run of 2+ zero groups (the first of equals) as `::`. */
function formatGroups(groups: readonly number[]): string {
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt === -1) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`;
}

/**
 * The client part of an address as the rate-limit middlewares count it:
 * an IPv4 address as it is; an IPv6 address that carries an IPv4 one
 * (mapped `::ffff:10.0.0.7` or `::ffff:a00:7`, translated
 * `::ffff:0:10.0.0.7`, NAT64 `64:ff9b::10.0.0.7`, the old compatible
 * `::10.0.0.7`) as that IPv4 address, since a translator puts every IPv4
 * client behind such addresses; any other IPv6 address as its
 * `ipv6Subnet` block in canonical text, `2001:db8:0:1200::/56`, so that
 * the addresses of one block and every spelling of one address count as
 * one client. A port some proxies append (`10.0.0.7:51234`,
 * `[2001:db8::7]:443`, and `[2001:db8::7]`) is dropped: each connection
 * would otherwise be a client of its own. Anything else (not an IP
 * address) comes back unchanged.
 *
 * For a key function of your own that reads the address (say from a
 * header you trust): key by this, not by the raw address.
 *
 * @throws InvalidOptionsError for an `ipv6Subnet` outside 1..128 or an unknown option
 * @throws InvalidArgumentError when `address` is not a string
 *
 * @example
 * ```ts
 * rateLimitIpKey('2001:db8::7'); // '2001:db8::/56'
 * rateLimitIpKey('2001:DB8:0:12ab::1', { ipv6Subnet: 64 }); // '2001:db8:0:12ab::/64'
 * rateLimitIpKey('::ffff:10.0.0.7'); // '10.0.0.7'
 * rateLimitIpKey('10.0.0.7:51234'); // '10.0.0.7'
 * const key = (req: IncomingMessage) => `cdn:${rateLimitIpKey(String(req.headers['cf-connecting-ip'] ?? 'unknown'))}`;
 * ```
 */
export function rateLimitIpKey(address: string, options?: RateLimitIpKeyOptions): string {
  if (typeof address !== 'string') {
    throw new InvalidArgumentError('address must be a string', { argument: 'address' });
  }
  if (options !== undefined) checkKeyOptions(options);
  return ipKeyOf(address, checkIpv6Subnet(options?.ipv6Subnet));
}

/** A port as proxies write it after an address: 1 to 5 digits. */
const PORT = /^\d{1,5}$/;

/** @internal {@link rateLimitIpKey} with a checked subnet (the middlewares' path). */
export function ipKeyOf(address: string, subnet: number): string {
  const colon = address.indexOf(':');
  if (colon === -1) return address; // IPv4, or not an address
  if (colon === address.lastIndexOf(':')) {
    // One colon: an IPv4 address and a port, or not an address (IPv6 has two or more).
    const host = address.slice(0, colon);
    return isIPv4(host) && PORT.test(address.slice(colon + 1)) ? host : address;
  }
  let v6 = address;
  if (address.charCodeAt(0) === 91 /* '[' */) {
    // `[2001:db8::7]` or `[2001:db8::7]:443`.
    const close = address.indexOf(']');
    if (close === -1) return address;
    const after = address.slice(close + 1);
    if (after !== '' && !(after.charCodeAt(0) === 58 && PORT.test(after.slice(1)))) return address;
    v6 = address.slice(1, close);
  }
  const zone = v6.indexOf('%');
  const bare = zone === -1 ? v6 : v6.slice(0, zone);
  if (!isIPv6(bare)) return address;
  const groups = groupsOf(bare);
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== undefined) return ipv4;
  for (let i = 0; i < 8; i++) {
    const kept = Math.min(16, Math.max(0, subnet - 16 * i));
    groups[i] = kept === 16 ? groups[i]! : groups[i]! & (0xffff << (16 - kept)) & 0xffff;
  }
  return subnet === 128 ? formatGroups(groups) : `${formatGroups(groups)}/${subnet}`;
}

/**
 * The IPv4 address an IPv6 one carries in its last 32 bits, dotted, or
 * `undefined`: mapped `::ffff:0:0/96`, translated `::ffff:0:0:0/96`
 * (RFC 2765), NAT64's well-known `64:ff9b::/96` (RFC 6052) and the
 * deprecated compatible `::/96` (not `::` or `::1`, whose IPv4 part would
 * be 0.0.0.0/16, never a client).
 */
function embeddedIpv4(g: readonly number[]): string | undefined {
  const zero4 = g[2] === 0 && g[3] === 0;
  const carries =
    (g[0] === 0 && g[1] === 0 && zero4 && g[4] === 0 && (g[5] === 0xffff || (g[5] === 0 && g[6] !== 0))) ||
    (g[0] === 0 && g[1] === 0 && zero4 && g[4] === 0xffff && g[5] === 0) ||
    (g[0] === 0x64 && g[1] === 0xff9b && zero4 && g[4] === 0 && g[5] === 0);
  if (!carries) return undefined;
  const hi = g[6]!;
  const lo = g[7]!;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

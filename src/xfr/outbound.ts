/**
 * Where tenants may aim the platform: the addresses a tenant names in a secondary zone's
 * `masters`, in `ALSO-NOTIFY` or as a NOTIFY target are checked here before anything is sent
 * (issue 9, "multi-tenant safety"). By default every special-purpose range is refused —
 * loopback, unspecified, link-local (where cloud metadata services answer), private and
 * carrier-grade NAT space, multicast and broadcast, documentation and benchmarking ranges —
 * so a tenant cannot make the platform talk to the operator's own network; the operator opens
 * a prefix with `switchboard start --outbound-allow PREFIX` (repeatable; tests use
 * `--outbound-allow 127.0.0.0/8`). An IPv4-mapped or IPv4-compatible IPv6 address is judged
 * by its IPv4 address, and NAT64's well-known prefix by the IPv4 address it embeds.
 * @module
 */
import { isIP } from 'node:net';
import { addressOctets, PrefixSet, parsePrefix } from '../shield/prefix-set.js';

/** The ranges refused unless an `--outbound-allow` prefix covers the address. */
export const REFUSED_RANGES: readonly { prefix: string; why: string }[] = [
  { prefix: '0.0.0.0/8', why: 'this network (unspecified)' },
  { prefix: '10.0.0.0/8', why: 'private (RFC 1918)' },
  { prefix: '100.64.0.0/10', why: 'carrier-grade NAT (RFC 6598)' },
  { prefix: '127.0.0.0/8', why: 'loopback' },
  { prefix: '169.254.0.0/16', why: 'link-local (cloud metadata services)' },
  { prefix: '172.16.0.0/12', why: 'private (RFC 1918)' },
  { prefix: '192.0.0.0/24', why: 'IETF protocol assignments' },
  { prefix: '192.0.2.0/24', why: 'documentation' },
  { prefix: '192.168.0.0/16', why: 'private (RFC 1918)' },
  { prefix: '198.18.0.0/15', why: 'benchmarking' },
  { prefix: '198.51.100.0/24', why: 'documentation' },
  { prefix: '203.0.113.0/24', why: 'documentation' },
  { prefix: '224.0.0.0/4', why: 'multicast' },
  { prefix: '240.0.0.0/4', why: 'reserved and broadcast' },
  { prefix: '::/128', why: 'unspecified' },
  { prefix: '::1/128', why: 'loopback' },
  { prefix: '100::/64', why: 'discard-only' },
  { prefix: '2001:db8::/32', why: 'documentation' },
  { prefix: 'fc00::/7', why: 'unique local (private)' },
  { prefix: 'fe80::/10', why: 'link-local' },
  { prefix: 'fec0::/10', why: 'site-local (deprecated)' },
  { prefix: 'ff00::/8', why: 'multicast' },
];

/** A target as tenants write it: `ADDR`, `ADDR:PORT` or `[V6]:PORT` (PowerDNS's forms). */
export interface OutboundTarget {
  address: string;
  port: number;
}

/**
 * Parses `ADDR`, `ADDR:PORT` or `[V6]:PORT` (a bare IPv6 address has no port; `[V6]` alone is
 * taken too). @throws RangeError saying what is wrong
 */
export function parseOutboundTarget(text: string, defaultPort = 53): OutboundTarget {
  const t = text.trim();
  let address: string;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
  if (bracket) {
    address = bracket[1];
    port = bracket[2];
    if (isIP(address) !== 6) throw new RangeError(`'${text}': '${address}' is not an IPv6 address`);
  } else if (isIP(t) === 6) {
    address = t;
  } else {
    const colon = t.lastIndexOf(':');
    address = colon >= 0 ? t.slice(0, colon) : t;
    port = colon >= 0 ? t.slice(colon + 1) : undefined;
    if (isIP(address) !== 4)
      throw new RangeError(`'${text}' is not an address (ADDR, ADDR:PORT or [IPv6]:PORT)`);
  }
  if (port === undefined) return { address, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new RangeError(`'${text}': port must be 1..65535`);
  return { address, port: Number(port) };
}

/** The text of a target, in the form `parseOutboundTarget` reads (`[V6]:PORT` for IPv6). */
export function formatOutboundTarget(t: OutboundTarget): string {
  return isIP(t.address) === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

/** The IPv4 octets an IPv6 address stands for (mapped, compatible, NAT64), if any. */
function embeddedV4(o: Uint8Array): Uint8Array | undefined {
  if (o.length !== 16) return undefined;
  const zeros = (from: number, to: number): boolean => {
    for (let i = from; i < to; i++) if (o[i] !== 0) return false;
    return true;
  };
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated; not :: or ::1).
  if (zeros(0, 10) && o[10] === 0xff && o[11] === 0xff) return o.slice(12);
  if (zeros(0, 12) && !(o[12] === 0 && o[13] === 0 && o[14] === 0 && o[15] <= 1)) return o.slice(12);
  // 64:ff9b::/96, NAT64's well-known prefix (RFC 6052).
  if (o[0] === 0 && o[1] === 0x64 && o[2] === 0xff && o[3] === 0x9b && zeros(4, 12)) return o.slice(12);
  return undefined;
}

export class OutboundPolicy {
  readonly #allow: PrefixSet;
  readonly #allowText: readonly string[];
  readonly #refused: { set: PrefixSet; why: string }[];

  /** `allow`: the `--outbound-allow` prefixes. @throws RangeError naming a bad prefix */
  constructor(allow: readonly string[] = []) {
    for (const p of allow) parsePrefix(p);
    this.#allow = new PrefixSet(allow);
    this.#allowText = [...allow];
    this.#refused = REFUSED_RANGES.map((r) => ({ set: new PrefixSet([r.prefix]), why: r.why }));
  }

  /** The `--outbound-allow` prefixes as given. */
  get allowed(): readonly string[] {
    return this.#allowText;
  }

  /**
   * Why the platform may not send to `address` (undefined: it may). An allowed prefix wins over
   * the refused ranges; an embedded IPv4 address is judged as that address.
   */
  refusal(address: string): string | undefined {
    let octets: Uint8Array;
    try {
      octets = addressOctets(address);
    } catch {
      return `'${address}' is not an IP address`;
    }
    const v4 = embeddedV4(octets);
    if (this.#allow.has(octets) || (v4 !== undefined && this.#allow.has(v4))) return undefined;
    for (const o of v4 === undefined ? [octets] : [octets, v4])
      for (const r of this.#refused)
        if (r.set.has(o))
          return `${address} is in a range the platform does not send to (${r.why}); the operator can open it with --outbound-allow`;
    return undefined;
  }

  /**
   * Parses a tenant's target and checks it. @throws RangeError with the reason (bad form or a
   * refused address), for a 4xx naming the field
   */
  check(text: string, defaultPort = 53): OutboundTarget {
    const target = parseOutboundTarget(text, defaultPort);
    const why = this.refusal(target.address);
    if (why !== undefined) throw new RangeError(why);
    return target;
  }
}

/**
 * What the drill may aim at and how long it may run: loopback only (127.0.0.0/8 and ::1), and
 * hard stops that are always set and bounded.
 * @module
 */
import { isIP } from 'node:net';

/** Refused target, limit or option: the message names the field. */
export class DrillConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrillConfigError';
  }
}

/** The longest run allowed, seconds. */
export const MAX_SECONDS_CEILING = 3600;
/** The most datagrams one run may send (legitimate and attack together). */
export const MAX_PACKETS_CEILING = 2_000_000_000;

/** A validated target. */
export interface DrillTarget {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** True for an IPv4 address in 127.0.0.0/8 or the IPv6 loopback (any spelling of ::1). */
export function isLoopbackAddress(host: string): boolean {
  const kind = isIP(host);
  if (kind === 4) return host.split('.')[0] === '127';
  if (kind === 6) return expandV6(host) === '0000:0000:0000:0000:0000:0000:0000:0001';
  return false;
}

/** The eight groups of an IPv6 address, four hex digits each (no embedded IPv4 handled: not loopback). */
function expandV6(host: string): string {
  if (host.includes('.')) return '';
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0').toLowerCase()).join(':');
}

/**
 * Parses `ADDR:PORT` or `[IPv6]:PORT` and refuses anything that is not loopback.
 * Host names are refused too: the drill never resolves names.
 */
export function parseTarget(text: string): DrillTarget {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw new DrillConfigError(`--target: expected ADDR:PORT or [IPv6]:PORT, got '${text}'`);
  const host = m[1];
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new DrillConfigError(`--target: port must be 1-65535, got '${m[2]}'`);
  const kind = isIP(host);
  if (kind === 0)
    throw new DrillConfigError(`--target: '${host}' is not an IP address (names are not resolved)`);
  if (!isLoopbackAddress(host))
    throw new DrillConfigError(
      `--target: ${host} is not loopback; the drill only sends to 127.0.0.0/8 or ::1`,
    );
  return { host, port, family: kind === 6 ? 6 : 4 };
}

/** The run's hard stops. */
export interface HardStops {
  readonly maxSeconds: number;
  readonly maxPackets: number;
}

/** Checks the hard stops: both given, positive, and under their ceilings. */
export function checkHardStops(maxSeconds: unknown, maxPackets: unknown): HardStops {
  const s = Number(maxSeconds);
  const p = Number(maxPackets);
  if (maxSeconds === undefined || !Number.isFinite(s) || s <= 0 || s > MAX_SECONDS_CEILING)
    throw new DrillConfigError(`--max-seconds: required, more than 0 and at most ${MAX_SECONDS_CEILING}`);
  if (maxPackets === undefined || !Number.isInteger(p) || p <= 0 || p > MAX_PACKETS_CEILING)
    throw new DrillConfigError(`--max-packets: required, a whole number from 1 to ${MAX_PACKETS_CEILING}`);
  return { maxSeconds: s, maxPackets: p };
}

/** IPv4 dotted quad → 32-bit number (host order). */
export function ipv4ToNumber(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** 32-bit number (host order) → dotted quad. */
export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

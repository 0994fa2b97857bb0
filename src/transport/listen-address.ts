/**
 * Parsing of listen addresses as given on the command line: `127.0.0.1:5300`, `127.0.0.1`,
 * `[::1]:5300`, `[::1]` and a bare IPv6 address such as `::1` (which then takes the default
 * port, because its colons cannot be told apart from a port separator).
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TransportError } from './errors.js';

/** The port served when a listen address has none. */
export const DEFAULT_DNS_PORT = 5300;

/** One address to serve UDP and TCP on. */
export interface ListenAddress {
  /** An IP literal, without brackets. */
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Parses one listen address. Host names are refused on purpose: a server binds addresses,
 * and resolving a name at start-up would make the bound set depend on the resolver.
 * @throws TransportError TRANSPORT_ERR_LISTEN_ADDRESS
 */
export function parseListenAddress(text: string, defaultPort = DEFAULT_DNS_PORT): ListenAddress {
  const s = text.trim();
  const fail = (why: string): never => {
    throw new TransportError(
      'TRANSPORT_ERR_LISTEN_ADDRESS',
      `invalid listen address '${text}': ${why} (use ADDR, ADDR:PORT or [IPv6]:PORT)`,
    );
  };
  if (s.length === 0) fail('empty');
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail("missing ']'");
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':')) fail("expected ':PORT' after ']'");
      portText = rest.slice(1);
    }
    if (!isIPv6(host)) fail(`'${host}' is not an IPv6 address`);
  } else {
    const first = s.indexOf(':');
    if (first >= 0 && s.indexOf(':', first + 1) >= 0) {
      // Two or more colons without brackets: the whole string is an IPv6 address.
      host = s;
      if (!isIPv6(host)) fail(`'${host}' is not an IPv6 address (put brackets around it to add a port)`);
    } else if (first >= 0) {
      host = s.slice(0, first);
      portText = s.slice(first + 1);
    } else {
      host = s;
    }
    if (!isIPv4(host) && !isIPv6(host)) fail(`'${host}' is not an IP address`);
  }
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) fail(`'${portText}' is not a port number`);
    port = Number(portText);
    if (port > 65535) fail(`port ${port} is out of range`);
  }
  return { host, port, family: isIPv6(host) ? 6 : 4 };
}

/** Formats a listen address as it is parsed: `127.0.0.1:53` or `[::1]:53`. */
export function formatListenAddress(a: ListenAddress): string {
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses several listen addresses, dropping exact duplicates (same host text and port). */
export function parseListenAddresses(
  texts: readonly string[],
  defaultPort = DEFAULT_DNS_PORT,
): ListenAddress[] {
  const out: ListenAddress[] = [];
  const seen = new Set<string>();
  for (const t of texts) {
    const a = parseListenAddress(t, defaultPort);
    const key = formatListenAddress(a);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(a);
  }
  return out;
}

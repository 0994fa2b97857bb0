/**
 * `serve --metrics ADDR:PORT` parsed (no prom-client here: the config is checked before
 * anything heavy is loaded).
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Where the metrics listener binds. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * Parses `--metrics ADDR:PORT` (`127.0.0.1:9153`, `[::1]:9153`, `0.0.0.0:9153`): an IP literal
 * and a port are both required (no default port: the operator says where).
 * @throws Error naming the flag and what is wrong
 */
export function parseMetricsAddress(text: string, flag = '--metrics'): MetricsAddress {
  const fail = (why: string): never => {
    throw new Error(`${flag}: '${text}': ${why} (use ADDR:PORT or [IPv6]:PORT)`);
  };
  const s = text.trim();
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail("missing ']'");
    host = s.slice(1, close);
    if (!isIPv6(host)) fail(`'${host}' is not an IPv6 address`);
    if (!s.slice(close + 1).startsWith(':')) fail('a port is required');
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) fail('a port is required');
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (isIPv6(host)) fail('put brackets around an IPv6 address');
    if (!isIPv4(host)) fail(`'${host}' is not an IP address`);
  }
  if (!/^[0-9]{1,5}$/.test(portText)) fail(`'${portText}' is not a port number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) fail(`port ${port} is out of range (1..65535)`);
  return { host, port };
}

/** `127.0.0.1:9153` or `[::1]:9153`. */
export function formatMetricsAddress(a: MetricsAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

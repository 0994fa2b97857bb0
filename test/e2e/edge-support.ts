/**
 * Helpers of the edge tests (docs/EDGE.md): start `switchboard edge` processes (one, or N on
 * 127.0.0.x for the fleet test), a hand-written fleet catalog for a `serve` primary, and a
 * NOTIFY sent as the primary would.
 * @module
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../../src/wire/decode.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery } from '../../src/xfr/secondary/client.js';
import { parseTsigKeySpec } from '../../src/xfr/tsig.js';
import { atCleanup } from '../helpers/cleanup.js';
import { assertLoopback, buildQuery as buildClientQuery, queryUdp } from '../helpers/dns-client.js';
import { callApi } from '../helpers/platform.js';
import { freePort, type ServeProcess, startSwitchboard } from './support.js';

export const EDGE_START_LINE = /^switchboard edge: .*$/m;

export interface EdgeOptions {
  primary: string;
  /** NAME:ALG:SECRET. */
  key: string;
  /** Default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** Default a new temporary folder. */
  state?: string;
  pop?: string;
  maxStale?: string;
  /** Default 1. */
  workers?: number;
  extra?: string[];
  /** SWITCHBOARD_EDGE_MIN_TIMERS (default `1,1`: the tests' zones set short SOA timers). */
  minTimers?: string;
}

export interface EdgeProcess extends ServeProcess {
  host: string;
  port: number;
  state: string;
}

/** Starts one edge and waits for its start line (its stored zones served). */
export async function startEdge(o: EdgeOptions): Promise<EdgeProcess> {
  const host = o.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = o.port ?? (await freePort(host));
  const state = o.state ?? mkdtempSync(join(tmpdir(), 'sb-edge-state-'));
  // A folder made here goes when this process ends, however it ends (the caller may remove it sooner).
  if (o.state === undefined) atCleanup(() => rmSync(state, { recursive: true, force: true }));
  const args = [
    '--primary',
    o.primary,
    '--key',
    o.key,
    '--listen',
    `${host}:${port}`,
    '--state',
    state,
    '--workers',
    String(o.workers ?? 1),
    ...(o.pop ? ['--pop', o.pop] : []),
    ...(o.maxStale ? ['--max-stale', o.maxStale] : []),
    ...(o.extra ?? []),
  ];
  const p = await startSwitchboard('edge', args, EDGE_START_LINE, 60_000, {
    SWITCHBOARD_EDGE_MIN_TIMERS: o.minTimers ?? '1,1',
  });
  return Object.assign(p, { host, port, state });
}

/**
 * N edges on 127.0.0.(first+i), one worker each, each with its own key (`keys[i]`, or the one
 * key) and POP `edge{i}` (the fleet test).
 */
export async function startEdges(
  n: number,
  o: Omit<EdgeOptions, 'host' | 'key' | 'pop'> & { keys: string[]; first?: number },
): Promise<EdgeProcess[]> {
  const out: EdgeProcess[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await startEdge({
        ...o,
        host: `127.0.0.${(o.first ?? 2) + i}`,
        key: o.keys[i] ?? o.keys[0],
        pop: `edge${i}`,
      }),
    );
  return out;
}

/** A fleet catalog (RFC 9432 v2) for a `serve` primary: `members` as [id, zone]. */
export function catalogZone(
  members: [string, string][],
  serial: number,
  origin = 'catalog.switchboard.invalid.',
): string {
  return [
    `$ORIGIN ${origin}`,
    `@ 0 IN SOA invalid. invalid. ${serial} 2 1 3600 0`,
    '@ 0 IN NS invalid.',
    'version 0 IN TXT "2"',
    ...members.map(([id, zone]) => `${id}.zones 0 IN PTR ${zone}`),
    '',
  ].join('\n');
}

/** A small member zone with short SOA timers (refresh 2 s, retry 1 s). */
export function memberZone(origin: string, serial: number, www: string): string {
  return [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    `@ IN SOA ns1 hostmaster ${serial} 2 1 3600 300`,
    '@ NS ns1',
    'ns1 A 192.0.2.1',
    `www A ${www}`,
    '',
  ].join('\n');
}

/**
 * A NOTIFY for `zone` to the edge at `host:port`, from `from` (the primary's address), signed
 * with `key` when given; resolves with the answer's RCODE (or -1 when none came).
 */
export function sendNotify(
  zone: string,
  host: string,
  port: number,
  from: string,
  key?: string,
): Promise<number> {
  assertLoopback(host);
  assertLoopback(from);
  const q = buildQuery(Name.parse(zone), 6, key ? parseTsigKeySpec(key) : undefined, 4);
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let done = false;
    const finish = (rcode: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(rcode);
    };
    const timer = setTimeout(() => finish(-1), 2000);
    s.on('message', (m) => finish(m.length >= 4 ? m[3] & 15 : -1));
    s.bind(0, from, () => s.send(q, port, host));
  });
}

/** Polls `fn` until it returns true or `ms` pass; resolves with the time taken (ms) or rejects. */
export async function eventually(what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `RCODE rdata|rdata` of `name`'s records of `type` (A by default) at the edge, over UDP ("error …" when none came). */
export async function askEdge(edge: { host: string; port: number }, name: string, type = 1): Promise<string> {
  try {
    const r = decodeMessage(
      await queryUdp(buildClientQuery({ name, type, edns: { udpSize: 1232 } }), {
        host: edge.host,
        port: edge.port,
        timeoutMs: 1000,
        retries: 1,
      }),
    );
    return `${r.flags & 15} ${r.answers
      .filter((a) => a.type === type)
      .map((a) => rdataToText(a.type, a.rdata))
      .sort()
      .join('|')}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

/**
 * On a `start` at `api`: zone `zone` (long SOA timers, so changes travel by NOTIFY; `www` and
 * any `extra` lines) and a hand-written catalog `cat.test.` listing it under member id `id`
 * (the edge tests' `--catalog cat.test.`).
 */
export async function createZoneAndCatalog(
  api: string,
  admin: string,
  zone: string,
  www: string,
  id: string,
  extra: string[] = [],
): Promise<void> {
  const made = await callApi(api, admin, 'POST', '/api/v1/zones', {
    name: zone,
    zonefile: [
      `$ORIGIN ${zone}`,
      '@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300',
      '@ 300 IN NS ns1',
      'ns1 300 IN A 192.0.2.1',
      `www 300 IN A ${www}`,
      ...extra,
      '',
    ].join('\n'),
  });
  if (made.status !== 201) throw new Error(`zone ${zone}: ${made.status} ${JSON.stringify(made.body)}`);
  const cat = await callApi(api, admin, 'POST', '/api/v1/zones', {
    name: 'cat.test.',
    zonefile: `$ORIGIN cat.test.\n@ 0 IN SOA invalid. invalid. 1 3600 600 86400 0\n@ 0 IN NS invalid.\nversion 0 IN TXT "2"\n${id}.zones 0 IN PTR ${zone}\n`,
  });
  if (cat.status !== 201) throw new Error(`catalog: ${cat.status} ${JSON.stringify(cat.body)}`);
}

/**
 * `switchboard start` (the platform: control plane + DNS workers) as a dnsperf contender: started
 * on free loopback ports with a throw-away SQLite store, the benchmark zone created through the
 * API from its zone file, ready once a DNS worker answers the zone's SOA with AA.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildQuery, queryUdp, readHeader } from '../test/helpers/dns-client.js';
import type { Peer } from '../test/helpers/peers.js';
import { callApi, NO_LIMIT_ARGS, removeDataDir, startPlatform } from '../test/helpers/platform.js';

/** Options of {@link startPlatformPeer}. */
export interface PlatformPeerOptions {
  cpu?: number;
  workers?: number;
  /** Extra `start` arguments (e.g. `--io native`). */
  args?: string[];
  readyTimeoutMs?: number;
}

/** Starts `switchboard start`, creates zone `origin` from `zoneFile` and resolves once it answers. */
export async function startPlatformPeer(
  origin: string,
  zoneFile: string,
  opts: PlatformPeerOptions = {},
): Promise<Peer> {
  const apiKey = `sb_bench_${randomBytes(24).toString('base64url')}`;
  const p = await startPlatform({
    apiKey,
    workers: opts.workers ?? 1,
    cpus: opts.cpu === undefined ? undefined : String(opts.cpu),
    extraArgs: [...NO_LIMIT_ARGS, ...(opts.args ?? [])],
  });
  const stop = async (): Promise<void> => {
    await p.stop();
    removeDataDir(p.dataDir);
  };
  try {
    const expect = async (method: string, path: string, body: unknown): Promise<{ id?: string }> => {
      const r = await callApi(p.api, apiKey, method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { id?: string };
    };
    const account = await expect('POST', '/api/v1/accounts', {
      name: 'bench',
      maxZones: 10,
      maxRecords: 1_000_000,
    });
    await expect('POST', '/api/v1/zones', {
      name: origin,
      accountId: account.id,
      zonefile: readFileSync(zoneFile, 'utf8'),
    });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      try {
        const h = readHeader(
          await queryUdp(buildQuery({ name: origin, type: 6 }), {
            host: '127.0.0.1',
            port: p.dnsPort,
            timeoutMs: 300,
            retries: 0,
          }),
        );
        if (h.qr && h.rcode === 0 && h.aa) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`${origin} not answered by the platform within the timeout`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw new Error(
      `switchboard start did not serve ${origin}: ${(e as Error).message}\n${p.stderr().slice(-2000)}`,
    );
  }
  return {
    name: 'switchboard',
    host: '127.0.0.1',
    port: p.dnsPort,
    pid: p.pid,
    dir: p.dataDir,
    output: () => `${p.stdout()}${p.stderr()}`,
    stop,
  };
}

/**
 * The zone the IXFR tests of `switchboard start` transfer (test/e2e/ixfr-restart.test.ts,
 * test/e2e/xfr-ixfr-notify.test.ts): made through the PowerDNS-compatible API by a tenant — a
 * TSIG key `transfer` and a Native zone whose transfers it signs (`ns1` with an address, `www`
 * A, `old` TXT) — and the calls those tests make on it.
 * @module
 */
import assert from 'node:assert/strict';
import type { Json } from './platform.js';

/** The PowerDNS-compatible API's server path. */
export const PDNS = '/api/v1/servers/localhost';

/** An API call as the tenant (`callApi` with the platform and key bound). */
export type TenantCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Json }>;

/** A zone made by `createTransferZone`. */
export interface TransferZone {
  /** The TSIG key as the API made it (`key.key`: its secret, base64). */
  readonly key: Json;
  /** kdig's arguments to sign with that key. */
  tsig(): string[];
  /** The zone's SOA serial, through the API. */
  serial(): Promise<number>;
  /** A PowerDNS PATCH of `rrsets` to the zone (asserted 204). */
  patch(rrsets: unknown[]): Promise<void>;
}

/** Makes the TSIG key `transfer` and `zone` signed with it, as the tenant `call` speaks for. */
export async function createTransferZone(call: TenantCall, zone: string): Promise<TransferZone> {
  const key = (await call('POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' })).body;
  const z = await call('POST', `${PDNS}/zones`, {
    name: zone,
    kind: 'Native',
    nameservers: [`ns1.${zone}`],
    master_tsig_key_ids: ['transfer.'],
    rrsets: [
      { name: `ns1.${zone}`, type: 'A', ttl: 300, records: [{ content: '127.0.0.1', disabled: false }] },
      { name: `www.${zone}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.1', disabled: false }] },
      { name: `old.${zone}`, type: 'TXT', ttl: 300, records: [{ content: '"old"', disabled: false }] },
    ],
  });
  assert.equal(z.status, 201, JSON.stringify(z.body));
  return {
    key,
    tsig: () => ['-y', `hmac-sha256:transfer:${key.key}`],
    serial: async () => (await call('GET', `${PDNS}/zones/${zone}?rrsets=false`)).body.serial as number,
    patch: async (rrsets) => {
      const r = await call('PATCH', `${PDNS}/zones/${zone}`, { rrsets });
      assert.equal(r.status, 204, JSON.stringify(r.body));
    },
  };
}

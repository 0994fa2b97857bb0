/**
 * Who may change a zone with DNS UPDATE (RFC 2136), in the native API:
 * `/api/v1/zones/{zone}/dns-update` — the same control plane calls as the PowerDNS metadata
 * `TSIG-ALLOW-DNSUPDATE` and `ALLOW-DNSUPDATE-FROM` (docs/TRANSFERS.md "Dynamic update").
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ZoneUpdatePolicy } from '../../control/dns-updates.js';
import type { ControlPlane } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { absoluteName } from '../names.js';
import { errorResponses, zoneParams } from '../schemas.js';

const policySchema = {
  type: 'object',
  properties: {
    tsigAllowDnsupdate: {
      type: 'array',
      items: { type: 'string' },
      description:
        "Names of keys of the zone's account an update must be signed with (TSIG-ALLOW-DNSUPDATE).",
    },
    allowDnsupdateFrom: {
      type: 'array',
      items: { type: 'string' },
      description:
        'Addresses and prefixes an update must come from (ALLOW-DNSUPDATE-FROM). Neither set: updates refused.',
    },
  },
  additionalProperties: false,
} as const;

export function registerDnsUpdateRoutes(app: FastifyInstance, control: ControlPlane): void {
  const tags = ['transfers'];
  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/dns-update',
    {
      schema: {
        tags,
        summary: 'Who may change the zone with DNS UPDATE (RFC 2136)',
        params: zoneParams,
        response: { 200: policySchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => control.getZoneUpdatePolicy(principalOf(request), absoluteName(request.params.zone)),
  );
  app.put<{ Params: { zone: string }; Body: Partial<ZoneUpdatePolicy> }>(
    '/api/v1/zones/:zone/dns-update',
    {
      schema: {
        tags,
        summary: 'Set who may change the zone with DNS UPDATE (members given replace theirs)',
        params: zoneParams,
        body: policySchema,
        response: { 200: policySchema, ...errorResponses(400, 401, 403, 404, 422) },
      },
    },
    async (request) =>
      control.setZoneUpdatePolicy(
        principalOf(request),
        absoluteName(request.params.zone),
        request.body ?? {},
      ),
  );
}

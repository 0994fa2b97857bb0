/**
 * A secondary zone's settings and refresh state in the native API (docs/TRANSFERS.md
 * "Secondary role", docs/API.md): `GET/PUT /api/v1/zones/{zone}/secondary` (masters, the
 * transfer key; last check, last success, master used, last error) and
 * `POST /api/v1/zones/{zone}/secondary/retrieve` (PowerDNS's axfr-retrieve).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { absoluteName } from '../names.js';
import { errorResponses, zoneParams } from '../schemas.js';

const secondarySchema = {
  type: 'object',
  properties: {
    masters: {
      type: 'array',
      items: { type: 'string' },
      description: 'ADDR:PORT / [V6]:PORT, tried in order.',
    },
    slaveTsigKeyIds: {
      type: 'array',
      items: { type: 'string' },
      description: "The transfer key: a key of the zone's account (at most one).",
    },
    lastCheck: { type: ['string', 'null'], description: 'Time of the last SOA check or transfer attempt.' },
    lastSuccess: { type: ['string', 'null'], description: 'Time of the last successful refresh.' },
    notifiedSerial: { type: ['integer', 'null'], description: 'Serial the last NOTIFY announced.' },
    masterUsed: { type: ['string', 'null'], description: 'The master of the last successful refresh.' },
    lastError: {
      type: ['string', 'null'],
      description: 'Why the last refresh failed (null after a success).',
    },
    consumer: {
      type: 'object',
      description:
        'A Consumer zone: its last sync of the member zones with the catalog (docs/TRANSFERS.md "Catalog zones (consumer)").',
      properties: {
        at: { type: 'string', description: 'When.' },
        serial: { type: 'integer', description: "The catalog's serial read." },
        members: { type: 'integer', description: 'Member zones served under the catalog.' },
        added: { type: 'integer' },
        removed: { type: 'integer' },
        reset: { type: 'integer', description: 'Re-created: their unique id changed.' },
        moved: { type: 'integer', description: 'Taken from another Consumer zone by its coo property.' },
        refused: {
          type: 'array',
          description: 'Members not served (the first 100), with why.',
          items: {
            type: 'object',
            properties: { zone: { type: 'string' }, reason: { type: 'string' } },
          },
        },
        refusedTotal: { type: 'integer' },
        ignored: {
          type: 'array',
          items: { type: 'string' },
          description: 'What the parser ignored (the first 100).',
        },
        error: {
          type: 'string',
          description: 'The catalog could not be used (its members were left as they were).',
        },
      },
    },
  },
} as const;

const secondaryBody = {
  type: 'object',
  properties: {
    masters: {
      type: 'array',
      items: { type: 'string' },
      description: 'Non-empty: the zone becomes (or stays) Slave; []: Native again (its records stay).',
    },
    slaveTsigKeyIds: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: false,
} as const;

function notSecondary(zone: string): ApiError {
  return new ApiError(404, 'API_ERR_NOT_FOUND', `zone ${zone} is not a secondary zone`);
}

export function registerSecondaryRoutes(app: FastifyInstance, control: ControlPlane): void {
  const tags = ['transfers'];
  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/secondary',
    {
      schema: {
        tags,
        summary: "A secondary zone's masters, key and refresh state",
        params: zoneParams,
        response: { 200: secondarySchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const zone = absoluteName(request.params.zone);
      const info = await control.getZoneSecondary(principalOf(request), zone);
      if (info === null) throw notSecondary(zone);
      return info;
    },
  );
  app.put<{ Params: { zone: string }; Body: { masters?: string[]; slaveTsigKeyIds?: string[] } }>(
    '/api/v1/zones/:zone/secondary',
    {
      schema: {
        tags,
        summary: 'Make the zone a secondary zone of masters (or Native again with masters [])',
        params: zoneParams,
        body: secondaryBody,
        response: { 200: secondarySchema, 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const info = await control.setZoneSecondary(
        principalOf(request),
        absoluteName(request.params.zone),
        request.body ?? {},
      );
      if (info === null) return reply.code(204).send();
      return info;
    },
  );
  app.post<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/secondary/retrieve',
    {
      schema: {
        tags,
        summary: 'Transfer the secondary zone from its masters now (whatever the serials say)',
        params: zoneParams,
        response: {
          202: { type: 'object', properties: { result: { type: 'string' } } },
          ...errorResponses(401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const zone = absoluteName(request.params.zone);
      await control.requestSecondaryRefresh(principalOf(request), zone);
      return reply.code(202).send({ result: `transfer of ${zone} requested` });
    },
  );
}

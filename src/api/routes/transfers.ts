/**
 * TSIG keys (`/api/v1/tsigkeys`) and who may transfer a zone (`/api/v1/zones/{zone}/transfer`)
 * in the native API (docs/TRANSFERS.md, docs/API.md): the same control plane calls as the
 * PowerDNS `tsigkeys` routes and `master_tsig_key_ids`/`ALLOW-AXFR-FROM`, in the native shapes.
 * Keys belong to the token's account; the list has no secrets.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { absoluteName } from '../names.js';
import { errorResponses, zoneParams } from '../schemas.js';

const keySchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Absolute key name (`transfer.example.`).' },
    algorithm: {
      type: 'string',
      description: 'hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5',
    },
    key: { type: 'string', description: 'The secret, base64 (only when one key is read, made or changed).' },
  },
  required: ['name', 'algorithm'],
} as const;

const keyBody = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    algorithm: { type: 'string', minLength: 1 },
    key: { type: 'string', description: 'base64; absent on creation: generated' },
  },
  additionalProperties: false,
} as const;

const transferSchema = {
  type: 'object',
  properties: {
    masterTsigKeyIds: {
      type: 'array',
      items: { type: 'string' },
      description: "Names of keys of the zone's account that may transfer the zone.",
    },
    allowAxfrFrom: {
      type: 'array',
      items: { type: 'string' },
      description: 'Addresses, prefixes and `AUTO-NS` that may transfer the zone unsigned.',
    },
    alsoNotify: {
      type: 'array',
      items: { type: 'string' },
      description:
        "NOTIFY targets beside the secondaries (`ADDR`, `ADDR:PORT`, `[V6]:PORT`), allowed by the operator's outbound policy.",
    },
  },
  additionalProperties: false,
} as const;

const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1 } },
  required: ['name'],
} as const;

function keyName(request: FastifyRequest<{ Params: { name: string } }>): string {
  return absoluteName(request.params.name, 'name');
}

export function registerTransferRoutes(app: FastifyInstance, control: ControlPlane): void {
  const tags = ['transfers'];
  app.get(
    '/api/v1/tsigkeys',
    {
      schema: {
        tags,
        summary: "The account's TSIG keys (no secrets)",
        response: { 200: { type: 'array', items: keySchema }, ...errorResponses(401, 422) },
      },
    },
    async (request) => control.listTsigKeys(principalOf(request)),
  );
  app.post<{ Body: { name?: string; algorithm?: string; key?: string } }>(
    '/api/v1/tsigkeys',
    {
      schema: {
        tags,
        summary: 'Create a TSIG key (without `key`: one is generated)',
        body: { ...keyBody, required: ['name', 'algorithm'] },
        response: { 201: keySchema, ...errorResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const k = await control.createTsigKey(principalOf(request), request.body);
      reply.code(201);
      return k;
    },
  );
  app.get<{ Params: { name: string } }>(
    '/api/v1/tsigkeys/:name',
    {
      schema: {
        tags,
        summary: 'One TSIG key, with its secret',
        params: nameParams,
        response: { 200: keySchema, ...errorResponses(401, 404, 422) },
      },
    },
    async (request) => control.getTsigKey(principalOf(request), keyName(request)),
  );
  app.put<{ Params: { name: string }; Body: { name?: string; algorithm?: string; key?: string } }>(
    '/api/v1/tsigkeys/:name',
    {
      schema: {
        tags,
        summary: "Change a TSIG key's name, algorithm or secret",
        params: nameParams,
        body: keyBody,
        response: { 200: keySchema, ...errorResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => control.updateTsigKey(principalOf(request), keyName(request), request.body),
  );
  app.delete<{ Params: { name: string } }>(
    '/api/v1/tsigkeys/:name',
    {
      schema: {
        tags,
        summary: 'Delete a TSIG key',
        params: nameParams,
        response: { 204: { description: 'Deleted', type: 'null' }, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      await control.deleteTsigKey(principalOf(request), keyName(request));
      return reply.code(204).send();
    },
  );
  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/transfer',
    {
      schema: {
        tags,
        summary: 'Who may transfer (AXFR) the zone',
        params: zoneParams,
        response: { 200: transferSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => control.getZoneTransfer(principalOf(request), absoluteName(request.params.zone)),
  );
  app.put<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/notify',
    {
      schema: {
        tags,
        summary: "Send NOTIFY to the zone's ALSO-NOTIFY targets now",
        params: zoneParams,
        response: {
          200: {
            type: 'object',
            properties: { zone: { type: 'string' }, serial: { type: 'integer' } },
            additionalProperties: false,
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => control.notifyZone(principalOf(request), absoluteName(request.params.zone)),
  );
  app.put<{
    Params: { zone: string };
    Body: { masterTsigKeyIds?: string[]; allowAxfrFrom?: string[]; alsoNotify?: string[] };
  }>(
    '/api/v1/zones/:zone/transfer',
    {
      schema: {
        tags,
        summary: 'Set who may transfer the zone (members given replace theirs)',
        params: zoneParams,
        body: transferSchema,
        response: { 200: transferSchema, ...errorResponses(400, 401, 403, 404, 422) },
      },
    },
    async (request) =>
      control.setZoneTransfer(principalOf(request), absoluteName(request.params.zone), request.body ?? {}),
  );
}

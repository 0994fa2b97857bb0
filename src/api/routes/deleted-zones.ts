/**
 * Deleted zones under `/api/v1/deleted-zones`: list them, read their versions, restore one.
 * A deleted zone is kept with its history for the retention time (docs/CONTROL-PLANE.md,
 * "Deleted zones"); `:id` is its id or its name (the most recently deleted of that name).
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane, PageRequest } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { setZoneEtag } from '../etag.js';
import { errorResponses, pageOf, pageQuery, ref } from '../schemas.js';
import { locationOfZone } from './zones.js';

const idParams = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, description: 'The deleted zone id, or its name.' },
  },
  required: ['id'],
  additionalProperties: false,
} as const;

function idOf(request: FastifyRequest<{ Params: { id: string } }>): string {
  return request.params.id;
}

/** Registers the deleted-zone routes. */
export function registerDeletedZoneRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get<{ Querystring: { accountId?: string; name?: string } & PageRequest }>(
    '/api/v1/deleted-zones',
    {
      schema: {
        tags: ['zones'],
        summary: 'List deleted zones still restorable (newest first)',
        querystring: pageQuery({
          accountId: { type: 'string', minLength: 1, description: 'Administrators: one account.' },
          name: { type: 'string', minLength: 1, description: 'Only those of this name.' },
        }),
        response: {
          200: pageOf('DeletedZone', 'A page of deleted zones.'),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => control.listDeletedZones(principalOf(request), request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/deleted-zones/:id',
    {
      schema: {
        tags: ['zones'],
        summary: 'One deleted zone',
        params: idParams,
        response: {
          200: { description: 'The deleted zone', ...ref('DeletedZone') },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => control.getDeletedZone(principalOf(request), idOf(request)),
  );

  app.get<{ Params: { id: string }; Querystring: PageRequest }>(
    '/api/v1/deleted-zones/:id/versions',
    {
      schema: {
        tags: ['versions'],
        summary: "List a deleted zone's versions",
        params: idParams,
        querystring: pageQuery(),
        response: { 200: pageOf('ZoneVersion', 'A page of versions.'), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => control.listDeletedVersions(principalOf(request), idOf(request), request.query),
  );

  app.get<{ Params: { id: string; version: number } }>(
    '/api/v1/deleted-zones/:id/versions/:version',
    {
      schema: {
        tags: ['versions'],
        summary: 'What one version of a deleted zone changed',
        params: {
          type: 'object',
          properties: { id: idParams.properties.id, version: { type: 'integer', minimum: 1 } },
          required: ['id', 'version'],
          additionalProperties: false,
        },
        response: {
          200: { description: 'The diff', ...ref('VersionDiff') },
          ...errorResponses(400, 401, 404, 410),
        },
      },
    },
    async (request) => control.getDeletedVersion(principalOf(request), idOf(request), request.params.version),
  );

  app.post<{ Params: { id: string }; Body: { comment?: string } | undefined }>(
    '/api/v1/deleted-zones/:id/restore',
    {
      schema: {
        tags: ['zones'],
        summary: 'Restore a deleted zone with its history (a new version with the next serial)',
        params: idParams,
        body: {
          type: 'object',
          properties: { comment: { type: 'string', maxLength: 1000, description: 'Kept with the version.' } },
          additionalProperties: false,
        },
        response: {
          201: { description: 'The zone, served again', ...ref('ZoneInfo') },
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const comment = request.body?.comment;
      const info = await control.restoreZone(principalOf(request), idOf(request), {
        ...(comment !== undefined ? { comment } : {}),
      });
      setZoneEtag(reply, info.version);
      reply.code(201).header('location', locationOfZone(info.name));
      return info;
    },
  );
}

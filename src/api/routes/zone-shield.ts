/**
 * A zone's own shield settings under `/api/v1/zones/{zone}/shield` (docs/SHIELD.md "Per-zone
 * settings", docs/API.md): read, replace, remove. The API form of `--shield-zone`; not zone
 * content (no version, no ETag change). Pushed to the running DNS workers on commit.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { absoluteName } from '../names.js';
import { errorResponses, zoneParams } from '../schemas.js';

const rate = (what: string) => ({
  type: 'number',
  minimum: 0,
  maximum: 1e7,
  description: `${what} a second per client block (0: no limit for this kind).`,
});

/** The settings object (`ZoneShieldSettings`): closed, each member optional. */
export const zoneShieldSettingsSchema = {
  type: 'object',
  description:
    "A zone's own shield settings; members not given keep the server's (and a `--shield-zone` flag of the " +
    'process wins, member by member).',
  properties: {
    minNxPerSecond: {
      type: 'number',
      minimum: 1,
      maximum: 1e7,
      description:
        'The detector floor: missing names a second below which the zone is never called attacked (min-nx).',
    },
    budgetFloor: {
      type: 'number',
      minimum: 0,
      maximum: 1e7,
      description: 'Missing-name answers a second the zone still gets while attacked, at least (budget).',
    },
    rrl: {
      type: 'object',
      description: "The zone's own RRL rates; a kind not given takes `responses`, else the server's.",
      properties: {
        responses: rate('Identical positive answers'),
        nxdomains: rate('NXDOMAIN answers'),
        nodata: rate('NODATA answers'),
        referrals: rate('Referrals'),
        errors: rate('Errors'),
      },
      additionalProperties: false,
    },
    metrics: {
      type: 'boolean',
      description: "The zone's query and missing-name rates exported whatever its rank (at most 100 zones).",
    },
  },
  additionalProperties: false,
} as const;

const infoSchema = {
  type: 'object',
  properties: {
    zone: { type: 'string' },
    settings: zoneShieldSettingsSchema,
    setBy: { type: 'string', enum: ['operator', 'tenant'], description: 'Who wrote them last.' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['zone', 'settings'],
};

const commentQuery = {
  type: 'object',
  properties: { comment: { type: 'string', maxLength: 1000, description: 'Kept in the audit row.' } },
  additionalProperties: false,
} as const;

function zoneOf(request: FastifyRequest<{ Params: { zone: string } }>): string {
  return absoluteName(request.params.zone);
}

function optsOf(comment: string | undefined): { comment?: string } {
  return comment === undefined ? {} : { comment };
}

/** Registers the shield settings routes. */
export function registerZoneShieldRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/shield',
    {
      schema: {
        tags: ['shield'],
        summary: "A zone's own shield settings",
        params: zoneParams,
        response: {
          200: { ...infoSchema, description: 'The settings ({} when none)' },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => control.getZoneShield(principalOf(request), zoneOf(request)),
  );

  app.put<{ Params: { zone: string }; Querystring: { comment?: string }; Body: unknown }>(
    '/api/v1/zones/:zone/shield',
    {
      schema: {
        tags: ['shield'],
        summary: "Replace a zone's own shield settings",
        description:
          'The body replaces every setting of the zone (`{}` removes them). Checked with the rules of ' +
          '`--shield-zone`; at most 1,024 zones platform-wide (100 in the metrics), less those the process flags set. ' +
          "Administrators set any value; tenants only what `start --shield-tenant` opens, up to the operator's " +
          'ceilings, and never over settings an administrator wrote. Taken by the running DNS workers without restart.',
        params: zoneParams,
        querystring: commentQuery,
        body: zoneShieldSettingsSchema,
        response: {
          200: { ...infoSchema, description: 'The settings now' },
          ...errorResponses(400, 401, 403, 404, 422),
        },
      },
    },
    async (request) =>
      control.setZoneShield(
        principalOf(request),
        zoneOf(request),
        request.body,
        optsOf(request.query.comment),
      ),
  );

  app.delete<{ Params: { zone: string }; Querystring: { comment?: string } }>(
    '/api/v1/zones/:zone/shield',
    {
      schema: {
        tags: ['shield'],
        summary: "Remove a zone's own shield settings (the server's apply again)",
        params: zoneParams,
        querystring: commentQuery,
        response: {
          200: { ...infoSchema, description: 'The settings now ({})' },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) =>
      control.deleteZoneShield(principalOf(request), zoneOf(request), optsOf(request.query.comment)),
  );
}

/**
 * The audit log: `GET /api/v1/audit` (who, what, when, from which address; issue 3 §2).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { AuditQuery, ControlPlane, PageRequest } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

/** Registers the audit route. */
export function registerAuditRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get<{ Querystring: AuditQuery & PageRequest }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'List audit log entries',
        description: 'Newest first. The filters combine (all must match).',
        querystring: pageQuery({
          accountId: { type: 'string', minLength: 1, description: 'Administrators: one account.' },
          zone: {
            type: 'string',
            minLength: 1,
            maxLength: 255,
            description: 'Only entries about this zone.',
          },
          action: {
            type: 'string',
            minLength: 1,
            maxLength: 64,
            description:
              "Only this action (`zone.change`), or every action starting with a prefix ending in '.' (`zone.`).",
          },
          since: {
            type: 'string',
            minLength: 10,
            maxLength: 40,
            description: 'Only entries at or after this ISO 8601 time (`2026-12-01T10:00:00Z`).',
          },
        }),
        response: { 200: pageOf('AuditEntry', 'A page of audit entries.'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => control.listAudit(principalOf(request), request.query),
  );
}

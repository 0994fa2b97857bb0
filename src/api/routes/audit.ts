/**
 * The audit log: `GET /api/v1/audit` (who, what, when, from which address; issue 3 §2).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ControlPlane, PageRequest } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { errorResponses, pageOf, pageQuery } from '../schemas.js';

/** Registers the audit route. */
export function registerAuditRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get<{ Querystring: { accountId?: string } & PageRequest }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'List audit log entries',
        querystring: pageQuery({
          accountId: { type: 'string', minLength: 1, description: 'Administrators: one account.' },
        }),
        response: { 200: pageOf('AuditEntry', 'A page of audit entries.'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => control.listAudit(principalOf(request), request.query),
  );
}

/**
 * API tokens: `/api/v1/tokens`. A new token's secret is in the 201 response only; lists show
 * its prefix. `DELETE /api/v1/tokens/{id}` revokes.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ControlPlane, PageRequest, TokenScope } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { errorResponses, pageOf, pageQuery, ref } from '../schemas.js';

interface TokenBody {
  name: string;
  accountId?: string | null;
  userId?: string;
  scope?: TokenScope;
}

/** A token made without a scope may only read: wider rights are asked for explicitly. */
const defaultScope: TokenScope = { admin: false, access: 'read' };

/** Registers the token routes. */
export function registerTokenRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.post<{ Body: TokenBody }>(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (the secret is shown once)',
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            accountId: {
              type: ['string', 'null'],
              description:
                "Administrators: the token's account (null = an administrator token). Default: yours.",
            },
            userId: { type: 'string', minLength: 1, description: 'The user the token is issued to.' },
            scope: { ...ref('TokenScope'), description: 'Default `{"access": "read"}`.' },
          },
          required: ['name'],
          additionalProperties: false,
        },
        response: {
          201: { description: 'Created', ...ref('NewToken') },
          ...errorResponses(400, 401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { name, accountId, userId, scope } = request.body;
      const token = await control.createToken(principalOf(request), {
        name,
        ...(accountId !== undefined ? { accountId } : {}),
        ...(userId !== undefined ? { userId } : {}),
        scope: scope ?? defaultScope,
      });
      reply.code(201);
      return token;
    },
  );

  app.get<{ Querystring: { accountId?: string } & PageRequest }>(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'List tokens',
        querystring: pageQuery({
          accountId: { type: 'string', minLength: 1, description: 'Administrators: one account.' },
        }),
        response: { 200: pageOf('TokenInfo', 'A page of tokens.'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => control.listTokens(principalOf(request), request.query),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token',
        params: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1 } },
          required: ['id'],
          additionalProperties: false,
        },
        response: { 204: { description: 'Revoked', type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await control.revokeToken(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}

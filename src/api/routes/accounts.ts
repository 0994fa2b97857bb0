/**
 * Accounts (tenants) and their users: `/api/v1/accounts`, `/api/v1/users`. Administrators
 * create and list accounts; the control plane decides who may see which.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ControlPlane, PageRequest } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { errorResponses, pageOf, pageQuery, ref } from '../schemas.js';

interface AccountBody {
  name: string;
  maxZones?: number;
  maxRecords?: number;
}

/** Registers the account and user routes. */
export function registerAccountRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.post<{ Body: AccountBody }>(
    '/api/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (administrators)',
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            maxZones: {
              type: 'integer',
              minimum: 0,
              description: 'Zone quota (default: the server default).',
            },
            maxRecords: { type: 'integer', minimum: 0, description: 'Record quota over all zones.' },
          },
          required: ['name'],
          additionalProperties: false,
        },
        response: {
          201: { description: 'Created', ...ref('Account') },
          ...errorResponses(400, 401, 403, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const account = await control.createAccount(principalOf(request), request.body);
      reply.code(201).header('location', `/api/v1/accounts/${encodeURIComponent(account.id)}`);
      return account;
    },
  );

  app.get<{ Querystring: { name?: string } & PageRequest }>(
    '/api/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'List accounts',
        description: 'Administrators see every account, others their own. `name` finds an account by name.',
        querystring: pageQuery({
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 255,
            description: 'Only the account of this name.',
          },
        }),
        response: { 200: pageOf('Account', 'A page of accounts.'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => control.listAccounts(principalOf(request), request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/accounts/:id',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Get an account',
        params: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1 } },
          required: ['id'],
          additionalProperties: false,
        },
        response: {
          200: { description: 'The account', ...ref('Account') },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => control.getAccount(principalOf(request), request.params.id),
  );

  app.post<{ Body: { accountId: string; name: string } }>(
    '/api/v1/users',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create a user of an account',
        body: {
          type: 'object',
          properties: {
            accountId: { type: 'string', minLength: 1 },
            name: { type: 'string', minLength: 1, maxLength: 255 },
          },
          required: ['accountId', 'name'],
          additionalProperties: false,
        },
        response: {
          201: { description: 'Created', ...ref('User') },
          ...errorResponses(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const user = await control.createUser(principalOf(request), request.body);
      reply.code(201);
      return user;
    },
  );
}

/**
 * `/api/v1/servers/localhost/tsigkeys` as PowerDNS 4.7 answers it: the keys of the caller's
 * account (docs/TRANSFERS.md). Ids are the key's name with its final dot, other characters than
 * `[A-Za-z0-9._-]` written `=XX` (as zone ids); the list leaves every secret out (`key: ""`).
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TsigKeyInfo } from '../../control/tsig-keys.js';
import type { ControlPlane } from '../../control/types.js';
import { principalOf } from '../auth.js';
import { zoneIdOfName, zoneNameOfId } from '../names.js';
import { PDNS_SERVER_URL } from './mapping.js';
import { config, tags } from './schemas.js';

/** A key as PowerDNS shows it (keys sorted, as it sends them). */
function pdnsKey(k: TsigKeyInfo): Record<string, string> {
  return {
    algorithm: k.algorithm,
    id: zoneIdOfName(k.name),
    key: k.key ?? '',
    name: k.name.endsWith('.') ? k.name.slice(0, -1) : k.name,
    type: 'TSIGKey',
  };
}

const keyBody = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    algorithm: { type: 'string', minLength: 1 },
    key: { type: 'string' },
  },
} as const;

const idParams = {
  type: 'object',
  properties: { tsigkey_id: { type: 'string', minLength: 1 } },
  required: ['tsigkey_id'],
} as const;

export function registerTsigKeyRoutes(
  app: FastifyInstance,
  control: ControlPlane,
  preValidation: (request: FastifyRequest) => Promise<void>,
): void {
  const url = `${PDNS_SERVER_URL}/tsigkeys`;
  const nameOf = (request: FastifyRequest<{ Params: { tsigkey_id: string } }>): string =>
    zoneNameOfId(request.params.tsigkey_id);

  app.get(
    url,
    { config, schema: { tags, summary: "The account's TSIG keys, without secrets (PowerDNS)" } },
    async (request) =>
      (await control.listTsigKeys(principalOf(request))).map((k) => pdnsKey({ ...k, key: '' })),
  );

  app.post<{ Body: { name?: string; algorithm?: string; key?: string } }>(
    url,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary: 'Create a TSIG key (PowerDNS); without `key` one is generated',
        body: { ...keyBody, required: ['name', 'algorithm'] },
      },
    },
    async (request, reply) => {
      const k = await control.createTsigKey(principalOf(request), request.body);
      reply.code(201);
      return pdnsKey(k);
    },
  );

  app.get<{ Params: { tsigkey_id: string } }>(
    `${url}/:tsigkey_id`,
    { config, schema: { tags, summary: 'One TSIG key with its secret (PowerDNS)', params: idParams } },
    async (request) => pdnsKey(await control.getTsigKey(principalOf(request), nameOf(request))),
  );

  app.put<{ Params: { tsigkey_id: string }; Body: { name?: string; algorithm?: string; key?: string } }>(
    `${url}/:tsigkey_id`,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary: "Change a TSIG key's name, algorithm or secret (PowerDNS)",
        params: idParams,
        body: keyBody,
      },
    },
    async (request) =>
      pdnsKey(await control.updateTsigKey(principalOf(request), nameOf(request), request.body ?? {})),
  );

  app.delete<{ Params: { tsigkey_id: string } }>(
    `${url}/:tsigkey_id`,
    { config, schema: { tags, summary: 'Delete a TSIG key (PowerDNS)', params: idParams } },
    async (request, reply) => {
      await control.deleteTsigKey(principalOf(request), nameOf(request));
      return reply.code(204).send();
    },
  );
}

/**
 * Test harness (not shipped): builds the API over a control plane, with an administrator key,
 * and helpers to make tenants and send requests through `app.inject` (no sockets).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type ApiOptions, buildApi } from '../../src/api/index.js';
import { openControlPlane } from '../../src/control/index.js';
import type { ControlPlane } from '../../src/control/types.js';
import { postgresSkipReason, startPostgres } from './postgres.js';

/** A response as the tests look at it. */
export interface Res {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  json: any;
}

/** Options of one request. */
export interface ReqOptions {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  /** The client address the request comes from (default 127.0.0.1). */
  remoteAddress?: string;
}

/** A tenant made through the API. */
export interface Tenant {
  accountId: string;
  /** A read-write token of the account. */
  key: string;
  /** A read-only token of the account. */
  readKey: string;
}

/** The API under test. */
export interface TestApi {
  app: FastifyInstance;
  control: ControlPlane;
  /** The administrator's key. */
  admin: string;
  req(method: string, url: string, opts?: ReqOptions): Promise<Res>;
  tenant(name: string): Promise<Tenant>;
  close(): Promise<void>;
}

/** A control plane to test on. */
export type Backend = 'sqlite' | 'postgres';

/** The backends every API test runs on, with a skip reason when one is unavailable here. */
export const backends: { name: Backend; skip: string | false }[] = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: postgresSkipReason() },
];

async function openControl(
  backend: Backend,
): Promise<{ control: ControlPlane; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-api-test-'));
  const db = backend === 'postgres' ? await startPostgres() : undefined;
  const control = await openControlPlane({ dataDir, ...(db ? { database: db.url } : {}) });
  return {
    control,
    cleanup: async () => {
      await db?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every request limit off (docs/API.md, "Limits"): functional tests send many requests at
 * once with one token; the limits have their own tests (src/api/limits.test.ts).
 */
export const NO_LIMITS = {
  accountRate: 0,
  tokenRate: 0,
  heavyConcurrency: 0,
  zonesPerHour: 0,
  failedKeysPerMinute: 0,
} as const;

/** Opens the API over a fresh control plane (request limits off unless `apiOptions.limits`). */
export async function openTestApi(
  backend: Backend = 'sqlite',
  apiOptions: ApiOptions = {},
): Promise<TestApi> {
  const { control, cleanup } = await openControl(backend);
  const admin = 'sb_test_admin_key_0123456789abcdef';
  await control.bootstrapAdmin(admin);
  const app = await buildApi(control, { version: '0.1.0-test', limits: NO_LIMITS, ...apiOptions });
  await app.ready();

  const req = async (method: string, url: string, opts: ReqOptions = {}): Promise<Res> => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? admin : opts.key;
    if (key !== null) headers['x-api-key'] = key;
    let payload: string | undefined;
    if (typeof opts.body === 'string') payload = opts.body;
    else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const r = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload } : {}),
      ...(opts.remoteAddress !== undefined ? { remoteAddress: opts.remoteAddress } : {}),
    });
    let json: unknown;
    try {
      json = r.body === '' ? undefined : JSON.parse(r.body);
    } catch {
      json = undefined;
    }
    return { status: r.statusCode, headers: r.headers, text: r.body, json };
  };

  const tenant = async (name: string): Promise<Tenant> => {
    const a = await req('POST', '/api/v1/accounts', { body: { name } });
    if (a.status !== 201) throw new Error(`account: ${a.status} ${a.text}`);
    const w = await req('POST', '/api/v1/tokens', {
      body: { name: `${name}-rw`, accountId: a.json.id, scope: { access: 'write' } },
    });
    const r = await req('POST', '/api/v1/tokens', {
      body: { name: `${name}-ro`, accountId: a.json.id, scope: { access: 'read' } },
    });
    if (w.status !== 201 || r.status !== 201) throw new Error(`token: ${w.text} ${r.text}`);
    return { accountId: a.json.id, key: w.json.secret, readKey: r.json.secret };
  };

  return {
    app,
    control,
    admin,
    req,
    tenant,
    close: async () => {
      await app.close();
      await control.close();
      await cleanup();
    },
  };
}

/**
 * Shared plumbing of the client commands (`zone`, `record`, `token`): the connection flags,
 * resolving the server and key, running an action with the API's errors turned into one
 * clear line and exit code 1 (usage and configuration problems: exit 2).
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiClient, ApiRequestError } from './api-client.js';
import {
  ClientConfigError,
  type ClientFlags,
  KEY_ENV,
  resolveClientConfig,
  URL_ENV,
} from './client-config.js';

/** Exit status of a failed request. */
export const EXIT_FAILURE = 1;
/** Exit status of a usage or configuration error. */
export const EXIT_USAGE = 2;

/** Options every client command takes. */
export interface CommonOptions extends ClientFlags {
  json?: boolean;
}

/** What an action gets. */
export interface ClientContext {
  api: ApiClient;
  json: boolean;
  /** Writes to stdout. */
  out(text: string): void;
}

/** A usage error found by an action (exit 2). */
export class UsageError extends Error {
  readonly code = 'CLI_ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Adds the connection and output flags to a client command. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', `API base URL (env ${URL_ENV}; default http://127.0.0.1:8080)`)
    .option('--api-key <key>', `API key (env ${KEY_ENV})`)
    .option(
      '--config <file>',
      'JSON config file {"server", "apiKey"} (default ~/.config/switchboard/config.json)',
    )
    .option('--json', 'print JSON for scripts instead of tables');
}

function writeErr(line: string): void {
  process.stderr.write(`switchboard: error: ${line}\n`);
}

/** The one-line description of a failed request. */
export function describeRequestError(err: ApiRequestError): string {
  const field = err.field ? ` (field: ${err.field})` : '';
  const status = err.status > 0 ? ` [HTTP ${err.status} ${err.code}]` : '';
  return `${err.message}${field}${status}`;
}

/**
 * Runs a client action and sets the exit code: 0 on success, 1 when the API refused or
 * could not be reached, 2 for usage and configuration errors.
 */
export async function runClientAction(
  opts: CommonOptions,
  action: (ctx: ClientContext) => Promise<void>,
  needKey = true,
): Promise<void> {
  try {
    const config = resolveClientConfig(opts);
    if (needKey && config.apiKey === undefined)
      throw new ClientConfigError(
        `no API key: pass --api-key, set ${KEY_ENV}, or put "apiKey" in a config file (--config)`,
      );
    const api = new ApiClient(config.server, config.apiKey);
    await action({ api, json: opts.json === true, out: (t) => process.stdout.write(t) });
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof ApiRequestError) {
      writeErr(describeRequestError(err));
      process.exitCode = EXIT_FAILURE;
    } else if (err instanceof ClientConfigError || err instanceof UsageError) {
      writeErr(err.message);
      process.exitCode = EXIT_USAGE;
    } else throw err;
  }
}

/** Reads a file, or stdin for `-`. */
export function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path === '-' ? 'stdin' : path}: ${(err as Error).message}`);
  }
}

/** The absolute form of a zone name (adds the final dot). */
export function absoluteZone(zone: string): string {
  const z = zone.trim();
  if (z === '') throw new UsageError('the zone name is empty');
  return z.endsWith('.') ? z : `${z}.`;
}

/** A whole number option. */
export function parseWholeNumber(flag: string, value: string, max = 2147483647): number {
  if (!/^[0-9]+$/.test(value.trim())) throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  const n = Number(value.trim());
  if (n > max) throw new UsageError(`${flag} must be at most ${max}, got ${n}`);
  return n;
}

/** The If-Match header of an `--if-match VERSION` option. */
export function ifMatchHeader(version: string | undefined): Record<string, string> {
  if (version === undefined) return {};
  return { 'if-match': `"${parseWholeNumber('--if-match', version)}"` };
}

/** The URL path segment of a zone. */
export function zonePath(zone: string): string {
  return `/api/v1/zones/${encodeURIComponent(absoluteZone(zone))}`;
}

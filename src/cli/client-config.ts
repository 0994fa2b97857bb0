/**
 * Where the CLI client finds its server and API key: flags (`--server`, `--api-key`), then
 * the environment (SWITCHBOARD_URL, SWITCHBOARD_API_KEY), then a JSON config file
 * (`--config FILE`, default `$XDG_CONFIG_HOME/switchboard/config.json` or
 * `~/.config/switchboard/config.json`, `{"server": …, "apiKey": …}`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The server used when no flag, variable or config file names one (`switchboard start`'s default). */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
/** The environment variable naming the server. */
export const URL_ENV = 'SWITCHBOARD_URL';
/** The environment variable holding the API key. */
export const KEY_ENV = 'SWITCHBOARD_API_KEY';

/** Options as given on the command line. */
export interface ClientFlags {
  server?: string;
  apiKey?: string;
  config?: string;
}

/** The resolved client settings. */
export interface ClientConfig {
  /** Base URL without a trailing slash. */
  server: string;
  apiKey?: string;
  /** Which config file was read, if any. */
  configFile?: string;
}

/** A client setting that cannot be used: a usage error (exit 2). */
export class ClientConfigError extends Error {
  readonly code = 'CLI_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ClientConfigError';
  }
}

/** The default config file path for an environment. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'switchboard', 'config.json');
}

interface FileConfig {
  server?: string;
  apiKey?: string;
}

/**
 * Reads a config file. A missing default file is no error (there is simply none); a missing
 * file named with --config, unreadable JSON or wrongly typed fields are.
 * @throws ClientConfigError
 */
export function readConfigFile(path: string, explicit: boolean): FileConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ClientConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ClientConfigError(
      `config file ${path} must hold a JSON object like {"server": "…", "apiKey": "…"}`,
    );
  // Keys are matched without regard to letter case, '-' or '_' (`apiKey`, `api_key`,
  // `API-KEY`); any other key is reported, so a misspelt one is not silently ignored.
  const out: FileConfig = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const key = CONFIG_KEYS.get(k.toLowerCase().replace(/[-_]/g, ''));
    if (key === undefined)
      throw new ClientConfigError(
        `config file ${path}: unknown key "${k}" (known keys: "server" or "url", "apiKey" or "key")`,
      );
    if (v !== undefined && typeof v !== 'string')
      throw new ClientConfigError(`config file ${path}: "${k}" must be a string`);
    out[key] = v as string | undefined;
  }
  return out;
}

/** Config file keys, folded (lower case, no '-' or '_'), → the setting. */
const CONFIG_KEYS = new Map<string, keyof FileConfig>([
  ['server', 'server'],
  ['url', 'server'],
  ['apikey', 'apiKey'],
  ['key', 'apiKey'],
]);

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/**
 * Resolves server and key, each from the first source that has it: flag, environment,
 * config file (the server falls back to DEFAULT_SERVER).
 * @throws ClientConfigError for an unusable config file or server URL
 */
export function resolveClientConfig(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const explicit = nonEmpty(flags.config) !== undefined;
  const path = nonEmpty(flags.config) ?? defaultConfigPath(env);
  const file = readConfigFile(path, explicit);
  const server = nonEmpty(flags.server) ?? nonEmpty(env[URL_ENV]) ?? nonEmpty(file?.server) ?? DEFAULT_SERVER;
  const apiKey = nonEmpty(flags.apiKey) ?? nonEmpty(env[KEY_ENV]) ?? nonEmpty(file?.apiKey);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ClientConfigError(`server '${server}' is not a URL (like http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ClientConfigError(`server '${server}' must be an http:// or https:// URL`);
  return { server: baseUrl(server), apiKey, configFile: file ? path : undefined };
}

/**
 * The server's base URL as the client uses it: without trailing slashes and without a final
 * `/api/v1` (the API's own prefix, which people copy from the start banner).
 */
export function baseUrl(server: string): string {
  return server.replace(/\/+$/, '').replace(/\/api\/v1$/i, '');
}

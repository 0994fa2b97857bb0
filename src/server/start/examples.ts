/**
 * First start of `switchboard start`: imports the example zones (examples/zones/*.zone) into
 * an "example" account, so that `dig @127.0.0.1 -p 5300 www.example.com` answers at once.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlError, type ControlPlane } from '../../control/types.js';
import { originFromFileName } from '../../zone/index.js';
import type { Logger } from '../shared/log.js';

/** The account the example zones go into. */
export const EXAMPLE_ACCOUNT = 'example';

/**
 * The examples/zones folder of this installation: looked for above this module (dist/src/server/start
 * → the package root), then under the working directory; undefined when neither has it.
 */
export function findExampleZoneDir(cwd = process.cwd()): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'examples', 'zones');
    if (isDirectory(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = resolve(cwd, 'examples', 'zones');
  return isDirectory(fromCwd) ? fromCwd : undefined;
}

function isDirectory(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The zone name of an example file: its leading `$ORIGIN`, else the file name minus `.zone`. */
export function exampleZoneName(file: string, text: string): string | undefined {
  const m = /^\$ORIGIN\s+(\S+)/m.exec(text);
  if (m) return m[1].endsWith('.') ? m[1] : `${m[1]}.`;
  return originFromFileName(file)?.toString();
}

async function findOrCreateAccount(control: ControlPlane): Promise<string> {
  const system = control.systemPrincipal();
  try {
    return (await control.createAccount(system, { name: EXAMPLE_ACCOUNT })).id;
  } catch (err) {
    // Another replica on the same database may have created it a moment ago.
    if (!(err instanceof ControlError) || err.code !== 'CTL_ERR_CONFLICT') throw err;
  }
  let cursor: string | undefined;
  do {
    const page = await control.listAccounts(system, { cursor, limit: 1000 });
    const found = page.items.find((a) => a.name === EXAMPLE_ACCOUNT);
    if (found) return found.id;
    cursor = page.next;
  } while (cursor);
  throw new Error(`account '${EXAMPLE_ACCOUNT}' exists but cannot be found`);
}

/**
 * Imports every `*.zone` file of `dir` into the "example" account, as the platform itself.
 * A zone that fails is logged and skipped. Resolves with the names imported.
 */
export async function importExampleZones(control: ControlPlane, dir: string, log: Logger): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.zone') && !f.startsWith('.'))
    .sort();
  if (files.length === 0) return [];
  const accountId = await findOrCreateAccount(control);
  const system = control.systemPrincipal();
  const imported: string[] = [];
  for (const f of files) {
    const path = join(dir, f);
    // latin1: one char per octet, as the zone parser reads files.
    const text = readFileSync(path, 'latin1');
    const name = exampleZoneName(path, text);
    if (!name) {
      log.warn(`${path}: no zone name (no $ORIGIN, and the file name is not one); not imported`);
      continue;
    }
    try {
      await control.createZone(system, { name, accountId, zonefile: text });
      imported.push(name);
    } catch (err) {
      // CONFLICT: another replica imported it first.
      if (err instanceof ControlError && err.code === 'CTL_ERR_CONFLICT') continue;
      const field = err instanceof ControlError && err.field ? ` (${err.field})` : '';
      log.warn(`${path}: example zone not imported: ${(err as Error).message}${field}`);
    }
  }
  return imported;
}

#!/usr/bin/env node
// Builds the native batched UDP addon (native/ → native/build/Release/switchboard_udp.node)
// with node-gyp, offline: Node's own headers (<prefix>/include/node) are used, nothing is
// downloaded. It NEVER fails the install: on any failure it prints one line and exits 0, and
// Switchboard then runs on the pure-Node UDP path (`--io node`).
//
// Run by `npm install` / `npm ci` (the `install` script). SWITCHBOARD_SKIP_NATIVE=1 skips it.
//
// --if-stale (run by `npm test`): builds only when a built addon (each target of binding.gyp)
// is missing or older than native/*.c, native/*.h or binding.gyp, and says why; else prints
// nothing. A stale addon would otherwise load and refuse what the newer TypeScript gives it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const say = (line) => process.stdout.write(`switchboard native UDP addon: ${line}\n`);

function main() {
  if (process.env.SWITCHBOARD_SKIP_NATIVE === '1')
    return say('skipped (SWITCHBOARD_SKIP_NATIVE=1); UDP uses the Node path');
  if (process.platform !== 'linux')
    return say(`not built on ${process.platform} (recvmmsg is Linux); UDP uses the Node path`);
  // Headers: the prefix Node runs from (/usr → /usr/include/node/node_api.h), or npm_config_nodedir.
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')].filter(
    Boolean,
  );
  const nodedir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
  if (!nodedir)
    return say("not built: Node's headers (include/node/node_api.h) not found; UDP uses the Node path");
  const gyp = findNodeGyp();
  if (!gyp) return say('not built: node-gyp not found; UDP uses the Node path');
  const run = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], {
    cwd: nativeDir,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  if (run.status !== 0) {
    const why = run.error ? run.error.message : lastErrorLine(`${run.stderr}\n${run.stdout}`);
    return say(`build failed (${why}); UDP uses the Node path`);
  }
  say('built native/build/Release/switchboard_udp.node');
}

/** npm sets npm_config_node_gyp inside scripts; else npm's bundled copy beside this Node. */
function findNodeGyp() {
  const list = [process.env.npm_config_node_gyp];
  try {
    list.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency: fine
  }
  const prefix = resolve(dirname(process.execPath), '..');
  list.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return list.find((p) => p && existsSync(p));
}

function lastErrorLine(text) {
  const lines = text
    .split('\n')
    .filter((l) => /error/i.test(l) && !/^gyp ERR! (cwd|node -v|node-gyp -v|not ok|System|command)/.test(l));
  return (lines.at(0) ?? text.trim().split('\n').at(-1) ?? 'unknown error').trim().slice(0, 200);
}

/** Why the built addon is out of date (a target missing, sources newer), or undefined. */
function staleness() {
  const gyp = join(nativeDir, 'binding.gyp');
  const names = [...readFileSync(gyp, 'utf8').matchAll(/["']target_name["']\s*:\s*["']([^"']+)["']/g)];
  const targets = names.map((m) => join(nativeDir, 'build', 'Release', `${m[1]}.node`));
  const missing = targets.find((t) => !existsSync(t));
  if (missing) return `${relative(root, missing)} missing`;
  const built = Math.min(...targets.map((t) => statSync(t).mtimeMs));
  const newer = readdirSync(nativeDir)
    .filter((f) => /\.[ch]$/.test(f) || f === 'binding.gyp')
    .filter((f) => statSync(join(nativeDir, f)).mtimeMs > built);
  if (newer.length === 0) return undefined;
  const more = newer.length > 3 ? ` and ${newer.length - 3} more` : '';
  return `native/${newer.slice(0, 3).join(', native/')}${more} newer than the built addon`;
}

try {
  if (process.argv.includes('--if-stale')) {
    const why = staleness();
    if (why) {
      say(`rebuilding (${why})`);
      main();
    }
  } else main();
} catch (err) {
  say(`build failed (${err instanceof Error ? err.message : String(err)}); UDP uses the Node path`);
}
process.exit(0);

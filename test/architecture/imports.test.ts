/**
 * Enforces the module map of docs/ARCHITECTURE.md: dependencies point inward
 * (cli → server → transport/answer → zone → wire), and nothing imports cli or server.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

/** module → the modules it may import (besides itself). */
const allowed: Record<string, readonly string[]> = {
  wire: [],
  zone: ['wire'],
  answer: ['shield', 'zone', 'wire'],
  image: ['answer', 'transport', 'zone', 'wire'],
  transport: ['shield', 'wire'],
  store: [],
  telemetry: [],
  shield: ['wire'],
  drill: [],
  edge: ['xfr', 'zone', 'wire'],
  xfr: ['answer', 'image', 'shield', 'transport', 'zone', 'wire'],
  control: ['store', 'shield', 'xfr', 'zone', 'wire'],
  api: ['control', 'telemetry'],
  server: [
    'edge',
    'api',
    'control',
    'store',
    'telemetry',
    'shield',
    'transport',
    'xfr',
    'image',
    'answer',
    'zone',
    'wire',
  ],
  cli: ['server', 'api', 'control', 'transport', 'answer', 'drill', 'zone', 'wire'],
};

/** Inside src/server: the `serve` and `start` compositions share `shared`, never each other. */
const serverAllowed: Record<string, readonly string[]> = {
  shared: [],
  serve: ['shared'],
  start: ['shared'],
  // The edge checks its serving flags with serve's own config (one set of checks).
  edge: ['shared', 'serve'],
};

/** The folders directly under `dir`. */
function folders(dir: string): string[] {
  return readdirSync(dir)
    .filter((entry) => statSync(join(dir, entry)).isDirectory())
    .sort();
}

/** The relative specifiers a file imports: static `import`/`export … from` and `import()`. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) out.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) out.push(m[1]);
  return out;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('source modules only import inward, per docs/ARCHITECTURE.md', () => {
  const src = resolve(repoRoot, 'src');
  const violations: string[] = [];
  for (const file of sources(src)) {
    const from = relative(src, file).split('/')[0];
    const text = readFileSync(file, 'utf8');
    for (const spec of relativeImports(text)) {
      const target = relative(src, resolve(dirname(file), spec)).split('/')[0];
      if (target === from) continue;
      const ok = allowed[from];
      if (!ok) violations.push(`${relative(repoRoot, file)}: module '${from}' is not in the map`);
      else if (!ok.includes(target))
        violations.push(`${relative(repoRoot, file)} imports ${target} (${spec})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the module map lists exactly the folders of src/ and of src/server/', () => {
  assert.deepEqual(folders(resolve(repoRoot, 'src')), Object.keys(allowed).sort());
  assert.deepEqual(folders(resolve(repoRoot, 'src', 'server')), Object.keys(serverAllowed).sort());
  for (const [from, targets] of Object.entries(allowed))
    for (const t of targets) assert.ok(t in allowed, `${from} may import '${t}', which is not a module`);
});

test('serve, start and edge import only shared pieces of src/server (edge: also serve config), per docs/ARCHITECTURE.md', () => {
  const server = resolve(repoRoot, 'src', 'server');
  const violations: string[] = [];
  for (const file of sources(server)) {
    const from = relative(server, file).split('/')[0];
    const text = readFileSync(file, 'utf8');
    for (const spec of relativeImports(text)) {
      const path = relative(server, resolve(dirname(file), spec));
      if (path.startsWith('..')) continue;
      const target = path.split('/')[0];
      if (target === from) continue;
      const ok = serverAllowed[from];
      if (!ok) violations.push(`${relative(repoRoot, file)}: '${from}' is not a folder of the server map`);
      else if (!ok.includes(target))
        violations.push(`${relative(repoRoot, file)} imports ${target} (${spec})`);
    }
  }
  assert.deepEqual(violations, []);
});

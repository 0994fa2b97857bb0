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
  answer: ['zone', 'wire'],
  shield: ['wire'],
  transport: ['wire'],
  transfer: ['zone', 'wire'],
  store: [],
  telemetry: [],
  control: ['store', 'zone', 'wire'],
  api: ['control', 'telemetry'],
  server: [
    'api',
    'control',
    'store',
    'telemetry',
    'transport',
    'answer',
    'shield',
    'transfer',
    'zone',
    'wire',
  ],
  cli: ['server', 'api', 'control', 'transport', 'answer', 'zone', 'wire'],
};

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
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const target = relative(src, resolve(dirname(file), m[1])).split('/')[0];
      if (target === from) continue;
      const ok = allowed[from];
      if (!ok) violations.push(`${relative(repoRoot, file)}: module '${from}' is not in the map`);
      else if (!ok.includes(target))
        violations.push(`${relative(repoRoot, file)} imports ${target} (${m[1]})`);
    }
  }
  assert.deepEqual(violations, []);
});

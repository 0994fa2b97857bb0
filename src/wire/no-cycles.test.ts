/**
 * The files of src/wire/ import each other without a cycle (docs/ARCHITECTURE.md): a cycle
 * makes the evaluation order of ESM modules matter and hides which file owns what.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../test/helpers/paths.js';

/** The first import cycle among `graph`'s files, as a path, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | undefined => {
    if (state.get(f) === 'done') return undefined;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      const c = visit(g);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of graph.keys()) {
    const c = visit(f);
    if (c) return c;
  }
  return undefined;
}

test('src/wire/ has no import cycle (type-only imports included)', () => {
  const dir = resolve(repoRoot, 'src/wire');
  const graph = new Map<string, string[]>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && !x.endsWith('.test.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const deps = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'\.\/([^']+)\.js'/gm)].map(
      (m) => `${m[1]}.ts`,
    );
    graph.set(f, deps);
  }
  assert.ok(graph.size > 10);
  assert.equal(findCycle(graph)?.join(' → '), undefined);
});

test('the cycle finder finds a cycle', () => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
  ]);
  assert.deepEqual(findCycle(g), ['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  assert.equal(
    findCycle(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', []],
      ]),
    ),
    undefined,
  );
});

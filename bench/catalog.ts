/**
 * What keeping a catalog zone (RFC 9432; docs/TRANSFERS.md "Catalog zones") costs the control
 * plane at 100,000 members, in one process, no network, SQLite in a temp folder: the fleet
 * catalog filled with `--members` PTRs by the catalog writer's path (`writeCatalog`, 10,000
 * changes per version, what a first start with that many zones writes), then `--changes` single
 * member changes (one added, one removed, alternately: what each zone created or deleted costs),
 * each one version; wall time and process CPU time (all threads: the zone-work thread included)
 * per change, medians. And the planner alone: a reconciliation of every member (nothing to do)
 * and one zone's plan.
 *
 *   node dist/bench/catalog.js [--members 100000] [--changes 40]
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlPlane } from '../src/control/index.js';
import { addMember, type CatalogChange, memberId, removeMember } from '../src/xfr/catz/format.js';
import { type CatalogMemberZone, CatalogPlanner } from '../src/xfr/catz/producer.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000)
    throw new RangeError(`${name} must be a positive integer`);
  return v;
}

const members = arg('--members', 100_000);
const changes = arg('--changes', 40);
const FLEET = 'catalog.switchboard.invalid.';
const SLICE = 10_000;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const zones: CatalogMemberZone[] = Array.from({ length: members }, (_, i) => ({
  name: `z${i}.bench.test.`,
  id: randomUUID(),
  createdAt: '2026-12-04T00:00:00.000Z',
  accountId: 'acct',
  kind: 'Native',
  serial: 1,
  catalog: null,
}));

const dir = mkdtempSync(join(tmpdir(), 'sb-bench-catalog-'));
try {
  const control = await openControlPlane({ dataDir: dir });
  const write = control.writeCatalog?.bind(control);
  if (!write || !control.ensureFleetCatalog) throw new Error('no catalog zones in this control plane');
  await control.ensureFleetCatalog(FLEET);
  const all: CatalogChange[] = zones.map((z) => addMember(FLEET, memberId(FLEET, z.id, z.createdAt), z.name));
  let wall = performance.now();
  let cpu = cpuMs();
  for (let at = 0; at < all.length; at += SLICE) await write(FLEET, all.slice(at, at + SLICE));
  console.log(
    `fill: ${members} members in ${Math.ceil(members / SLICE)} versions: ` +
      `${((performance.now() - wall) / 1000).toFixed(1)} s wall, ${((cpuMs() - cpu) / 1000).toFixed(1)} s CPU`,
  );
  const walls: number[] = [];
  const cpus: number[] = [];
  const extra = `${randomUUID().slice(0, 8)}`;
  for (let i = 0; i < changes; i++) {
    const id = memberId(FLEET, `${extra}-${i >> 1}`, 'x');
    const c = i % 2 === 0 ? addMember(FLEET, id, `extra${i >> 1}.bench.test.`) : removeMember(FLEET, id);
    wall = performance.now();
    cpu = cpuMs();
    const r = await write(FLEET, [c]);
    walls.push(performance.now() - wall);
    cpus.push(cpuMs() - cpu);
    if (!r.changed) throw new Error('a member change changed nothing');
  }
  console.log(
    `one member change (a version of a ${members}-member catalog), median of ${changes}: ` +
      `${median(walls).toFixed(1)} ms wall, ${median(cpus).toFixed(1)} ms CPU`,
  );
  await control.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const planner = new CatalogPlanner(FLEET);
let t = performance.now();
const plan = planner.reconcile(zones);
planner.applied(FLEET, plan.get(FLEET) ?? []);
const first = performance.now() - t;
t = performance.now();
const again = planner.reconcile(zones);
const steady = performance.now() - t;
t = performance.now();
for (let i = 0; i < 1000; i++) planner.plan(new Map([[zones[i].name, undefined]]));
const one = (performance.now() - t) / 1000;
console.log(
  `planner: first reconciliation ${first.toFixed(0)} ms, again (nothing to do: ${again.size} catalogs) ${steady.toFixed(0)} ms, one zone's plan ${(one * 1000).toFixed(1)} µs`,
);

/**
 * What a push of zones' shield settings costs a DNS worker (docs/SHIELD.md "Per-zone settings
 * through `start`'s API"), in one process, no network: the full table (1,024 zones, 100 in the
 * metrics) handed to the running native shield with `shieldSetZones` (tables kept), against a
 * whole `shieldConfigure` (what a push would cost if it rebuilt the shield, tables lost), and
 * to the Node path's `NodeShield.setZoneSettings`; alternated, CPU time per push
 * (process.cpuUsage), medians of the rounds. Then the control plane's side: `setZoneShield`
 * on SQLite (one transaction with its audit row and fsync), wall time per call.
 *
 *   node dist/bench/shield-push.js [--pushes 200] [--rounds 5]
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlPlane } from '../src/control/index.js';
import { NodeShield } from '../src/shield/node-shield.js';
import { PrefixSet } from '../src/shield/prefix-set.js';
import {
  configureNativeShield,
  type NativeShieldAddon,
  type NativeZoneSetting,
  setNativeZoneSettings,
} from '../src/transport/native-shield.js';
import { nativeUdpStatus } from '../src/transport/native-udp.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000)
    throw new RangeError(`${name} must be a positive integer`);
  return v;
}

const pushes = arg('--pushes', 200);
const rounds = arg('--rounds', 5);
const zones: NativeZoneSetting[] = Array.from({ length: 1024 }, (_, i) => ({
  key: Math.imul(i + 1, 0x9e3779b1) >>> 0 || 1,
  minNxPerSecond: 1000 + i,
  budgetFloor: 10,
  rrlRates: [5, 5, 5, 5, 5],
  metrics: i < 100,
}));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const cpuUs = (fn: () => void): number => {
  const t = process.cpuUsage();
  for (let i = 0; i < pushes; i++) fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / pushes;
};

const settings = {
  mode: 'on' as const,
  secrets: [new Uint8Array(16)],
  allow: [],
  rrl: { responsesPerSecond: 100 },
  zoneSettings: zones,
};
const status = nativeUdpStatus();
const addon = status.ok ? (status.addon as unknown as NativeShieldAddon) : undefined;
const node = new NodeShield({ mode: 'on', secrets: [new Uint8Array(16)], allow: new PrefixSet(), rrl: null });
const nodeMap = new Map(zones.map((z) => [z.key, z]));
const rows: Record<string, number[]> = { setZones: [], configure: [], node: [] };
if (addon) configureNativeShield(addon, settings);
for (let r = 0; r < rounds; r++) {
  if (addon) {
    rows.setZones.push(cpuUs(() => setNativeZoneSettings(addon, zones)));
    rows.configure.push(cpuUs(() => configureNativeShield(addon, settings)));
  }
  rows.node.push(cpuUs(() => node.setZoneSettings(nodeMap)));
}
if (addon) addon.shieldConfigure(0, new Float64Array(28), new Uint8Array(0), new Uint8Array(0));
console.log(`1,024 zones a push, ${pushes} pushes × ${rounds} rounds, CPU µs per push (median of rounds):`);
if (addon) {
  console.log(`  native shieldSetZones (tables kept)   ${median(rows.setZones).toFixed(1)}`);
  console.log(`  native shieldConfigure (tables lost)  ${median(rows.configure).toFixed(1)}`);
} else console.log(`  native: skipped (${status.ok ? '' : status.reason})`);
console.log(`  NodeShield.setZoneSettings            ${median(rows.node).toFixed(1)}`);

const dir = mkdtempSync(join(tmpdir(), 'sb-bench-shield-push-'));
try {
  const control = await openControlPlane({ dataDir: dir });
  const sys = control.systemPrincipal();
  await control.createZone(sys, { name: 'push.test', nameservers: ['ns1.example.net.'] });
  const walls: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await control.setZoneShield(sys, 'push.test', { rrl: { responses: 1 + (i % 50) } });
    walls.push(performance.now() - t);
  }
  // What the primary reads after each change: every zone's settings, here 1,000 of them.
  for (let i = 0; i < 999; i++) {
    await control.createZone(sys, { name: `z${i}.push.test`, nameservers: ['ns1.example.net.'] });
    await control.setZoneShield(sys, `z${i}.push.test`, { minNxPerSecond: 1000 + i, rrl: { responses: 5 } });
  }
  const reads: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await control.shieldZones();
    reads.push(performance.now() - t);
  }
  console.log(
    `control plane (SQLite): setZoneShield median ${median(walls).toFixed(2)} ms, p90 ${[...walls].sort((a, b) => a - b)[179].toFixed(2)} ms; ` +
      `shieldZones with 1,000 zones median ${median(reads).toFixed(2)} ms`,
  );
  await control.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

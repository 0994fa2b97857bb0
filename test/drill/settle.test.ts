/**
 * The drill's settle before its first phase (src/drill/settle.ts, base20) against a real
 * `switchboard serve --workers 2` on loopback: every warm-up query answered, the server's tree
 * quiet before the first phase, reported; without settleMs the first phase starts at once and
 * the report has no settle. The first phase's per-second slow counts are there without an attack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseScenario, runDrill, writeZoneFiles } from '../../src/drill/index.js';
import { SETTLE_SOCKETS, settleTarget } from '../../src/drill/settle.js';
import { type Peer, startSwitchboard } from '../helpers/peers.js';
import { shortDrillOptions } from '../helpers/short-drill.js';

const shape = { zones: 3, names: 100 };
let dir = '';
let sb: Peer | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-settle-'));
  writeZoneFiles(dir, shape);
  sb = await startSwitchboard(dir, { workers: 2 });
});

after(async () => {
  await sb?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const calm = parseScenario({ phases: [{ name: 'baseline', seconds: 1.5, classes: ['steady', 'plain'] }] });

test('settle: the warm-up queries of every zone are answered and the server is quiet before the first phase', async () => {
  const r = await runDrill(
    shortDrillOptions(sb!, shape, { scenario: calm, targetPid: sb!.pid, settleMs: 10_000 }),
  );
  const s = r.settle;
  assert.ok(s, 'the report has the settle');
  // Per socket and zone: 3 names, an AAAA, the large TXT.
  assert.equal(s.queries, SETTLE_SOCKETS * shape.zones * 5);
  assert.equal(s.answered, s.queries, JSON.stringify(s));
  assert.equal(s.quiet, true, JSON.stringify(s));
  assert.ok(s.ms < 10_000 && s.ms > 0, `settle ${s.ms} ms`);
  assert.ok((s.targetCpuSeconds ?? -1) >= 0);
  const b = r.phases[0];
  assert.ok(b.legit.all.success >= 0.99, JSON.stringify(b.legit.all));
  // The baseline's queries over 100 ms per second, though no attack runs in it.
  assert.equal(b.slow?.length, 2);
  const counted = b.slow?.reduce((t, x) => t + x.queries, 0) ?? 0;
  assert.ok(counted > 0 && counted <= b.legit.all.queries, `${counted} of ${b.legit.all.queries}`);
});

test('settle off (settleMs absent): no warm-up, no settle in the report', async () => {
  const r = await runDrill(shortDrillOptions(sb!, shape, { scenario: calm, targetPid: sb!.pid }));
  assert.equal(r.settle, undefined);
  assert.equal(r.phases.length, 1);
});

test('settleTarget without a pid: only the warm-up queries and their answers, bounded by maxMs', async () => {
  const s = await settleTarget({ host: sb!.host, port: sb!.port, family: 4 }, shape, 3000, undefined);
  assert.equal(s.answered, s.queries);
  assert.equal(s.quiet, undefined);
  assert.equal(s.targetCpuSeconds, undefined);
  assert.ok(s.ms <= 3500, `settle ${s.ms} ms`);
});

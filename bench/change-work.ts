/**
 * The zone-work thread's share of a one-record change to a big zone, in one process: the
 * change worked out over the whole zone (`runZoneJob` without what the last check left: copy,
 * build and check, diff, render the served text) and worked out in place from what it touches
 * (src/control/incremental.ts), alternating, each pair's stored diffs compared.
 *
 * Usage: node dist/bench/change-work.js [--records 100000,300000] [--rounds 5]
 * @module
 */
import assert from 'node:assert/strict';
import { parseChanges } from '../src/control/rows.js';
import { runZoneJob, type ZoneJob } from '../src/control/zone-work.js';
import { median } from './stats.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const ZONE = 'big.test.';
const limits = { maxTtl: 2592000, maxRecordsPerRRset: 1000 };
const budget = { max: 10_000_000, name: 'bench', code: 'CTL_ERR_QUOTA' as const };
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function zoneFile(records: number): string {
  const lines = [`$ORIGIN ${ZONE}`, '$TTL 300', '@ NS ns1.example.net.'];
  for (let i = 0; i < records; i++) lines.push(`h${i} A ${address(i)}`);
  return `${lines.join('\n')}\n`;
}

const sorted = (stored: string) =>
  parseChanges(stored)
    .map((c) => JSON.stringify(c))
    .sort();

for (const records of arg('--records', '100000,300000').split(',').map(Number)) {
  const rounds = Number(arg('--rounds', '5'));
  const made = runZoneJob(
    {
      kind: 'create',
      origin: ZONE,
      input: { zonefile: zoneFile(records) },
      defaults: undefined,
      limits,
      budget,
    },
    new Map(),
    new Map(),
  );
  let state = { content: made.draft, memo: made.memo, checked: made.checked, serial: made.work.serial };
  const whole: number[] = [];
  const local: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const job: ZoneJob = {
      kind: 'change',
      origin: ZONE,
      serial: state.serial,
      changes: [
        { op: 'replace', name: `h1.${ZONE}`, type: 'A', ttl: 300, records: [{ content: `10.200.0.${k}` }] },
      ],
      limits,
    };
    let t = process.cpuUsage();
    const w = runZoneJob(job, state.content, state.memo);
    t = process.cpuUsage(t);
    whole.push((t.user + t.system) / 1000);
    t = process.cpuUsage();
    const l = runZoneJob(job, state.content, state.memo, state.checked);
    t = process.cpuUsage(t);
    local.push((t.user + t.system) / 1000);
    assert.equal(l.inPlace, true);
    assert.deepEqual(sorted(l.work.changes), sorted(w.work.changes));
    assert.equal(l.work.recordCount, w.work.recordCount);
    state = { content: l.draft, memo: l.memo, checked: l.checked, serial: l.work.serial };
  }
  const fmt = (xs: number[]) => `${median(xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(
    `${records} records: whole zone ${fmt(whole)}; in place ${fmt(local)} (CPU, medians of ${rounds})`,
  );
}

/**
 * Tenant fairness (issue 6 item 1): the scenario of test/e2e/fairness.test.ts — tenant A's
 * ~3 kB `$GENERATE` bomb, then A's 100,000-record import, while tenant B's reads and small
 * writes are timed — against a fresh `switchboard start --workers 2` per run; medians of
 * the runs.
 *
 * A then PATCHes 35,000 RRsets in one request and creates a zone of 35,000 RRsets in one JSON
 * POST (`--patch-rrsets`, `--create-rrsets`; 0 leaves a step out): bodies of 2–4 MB, which the
 * API decodes in the zone-work thread (src/api/raw-body.ts).
 *
 * Usage: node dist/bench/fairness.js [--runs N] [--records N] [--patch-rrsets N] [--create-rrsets N]
 * (also `node dist/bench/run.js --suite fairness`). Loopback only; every run stops by itself.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { FAIRNESS_START_ARGS, type FairnessResult, runFairness } from '../test/helpers/fairness.js';
import { makeDataDir, type Platform, removeDataDir, startPlatform } from '../test/helpers/platform.js';
import { fmt, formatMarkdownTable, formatTable, median } from './stats.js';

/** Options of the fairness suite. */
export interface FairnessOptions {
  runs: number;
  records: number;
  /** After the import, A also PATCHes this many RRsets in one request (0: not). */
  patchRRsets?: number;
  /** Then A also creates a zone of this many RRsets in one JSON POST (0: not). */
  createRRsets?: number;
  log: (line: string) => void;
}

let current: Platform | undefined;
let stopping = false;
function onSignal(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  // Stop the platform this bench started, then go.
  void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

/** Runs the scenario `runs` times; returns the results and a markdown section. */
export async function runFairnessSuite(
  opts: FairnessOptions,
): Promise<{ results: FairnessResult[]; markdown: string[] }> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: FairnessResult[] = [];
  try {
    for (let i = 0; i < opts.runs; i++) {
      const key = `sb_${randomBytes(32).toString('base64url')}`;
      const dataDir = makeDataDir();
      const platform = await startPlatform({
        dataDir,
        workers: 2,
        apiKey: key,
        extraArgs: FAIRNESS_START_ARGS,
      });
      current = platform;
      try {
        const r = await runFairness(platform, key, {
          records: opts.records,
          patchRRsets: opts.patchRRsets ?? 0,
          createRRsets: opts.createRRsets ?? 0,
        });
        results.push(r);
        opts.log(
          `fairness run ${i + 1}/${opts.runs}: bomb ${r.bomb.status} in ${fmt(r.bomb.ms)} ms (RSS +${fmt(r.bomb.rssGrowthMb, 1)} MiB); ` +
            `import ${r.import.status} in ${fmt(r.import.ms)} ms; tenant B ${r.b.all.count} calls p99 ${fmt(r.b.all.p99)} ms, worst ${fmt(r.b.all.max)} ms; ` +
            `change-to-answer p99 ${fmt(r.changeToAnswer.p99)} ms; alive ${r.alive.samePid && r.alive.api === 200}`,
        );
      } finally {
        current = undefined;
        await platform.stop();
        removeDataDir(dataDir);
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const med = (f: (r: FairnessResult) => number) => fmt(median(results.map(f)));
  const header = ['what', `median of ${results.length}`, 'runs'];
  const all = (f: (r: FairnessResult) => number, d = 0) => results.map((r) => fmt(f(r), d)).join(', ');
  const rows = [
    ['bomb: time to its 4xx (ms)', med((r) => r.bomb.ms), all((r) => r.bomb.ms)],
    [
      'bomb: primary RSS growth (MiB)',
      fmt(median(results.map((r) => r.bomb.rssGrowthMb)), 1),
      all((r) => r.bomb.rssGrowthMb, 1),
    ],
    [`import of ${opts.records} records (ms)`, med((r) => r.import.ms), all((r) => r.import.ms)],
    ...(opts.patchRRsets
      ? [
          [
            `PATCH of ${opts.patchRRsets} RRsets (ms; statuses ${results.map((r) => r.patch?.status).join(', ')})`,
            med((r) => r.patch?.ms ?? 0),
            all((r) => r.patch?.ms ?? 0),
          ],
        ]
      : []),
    ...(opts.createRRsets
      ? [
          [
            `POST of a zone with ${opts.createRRsets} RRsets (ms; statuses ${results.map((r) => r.create?.status).join(', ')})`,
            med((r) => r.create?.ms ?? 0),
            all((r) => r.create?.ms ?? 0),
          ],
        ]
      : []),
    ['tenant B: calls timed', med((r) => r.b.all.count), all((r) => r.b.all.count)],
    ['tenant B: p50 (ms)', med((r) => r.b.all.p50), all((r) => r.b.all.p50)],
    ['tenant B: p99 (ms)', med((r) => r.b.all.p99), all((r) => r.b.all.p99)],
    ['tenant B: worst (ms)', med((r) => r.b.all.max), all((r) => r.b.all.max)],
    [
      'tenant B reads: p99 / worst (ms)',
      `${med((r) => r.b.reads.p99)} / ${med((r) => r.b.reads.max)}`,
      all((r) => r.b.reads.max),
    ],
    [
      'tenant B writes: p99 / worst (ms)',
      `${med((r) => r.b.writes.p99)} / ${med((r) => r.b.writes.max)}`,
      all((r) => r.b.writes.max),
    ],
    [
      'tenant B change-to-answer: p99 / worst (ms)',
      `${med((r) => r.changeToAnswer.p99)} / ${med((r) => r.changeToAnswer.max)}`,
      all((r) => r.changeToAnswer.max),
    ],
  ];
  opts.log(`\nTenant fairness (switchboard start --workers 2; ${opts.runs} runs)\n`);
  opts.log(formatTable(header, rows));
  const statuses = [...new Set(results.map((r) => `bomb ${r.bomb.status}, import ${r.import.status}`))].join(
    '; ',
  );
  const markdown = [
    formatMarkdownTable(header, rows),
    '',
    `- Statuses: ${statuses}; the platform was the same process, answering API and DNS, after every run: ${results.every((r) => r.alive.samePid && r.alive.api === 200 && r.alive.dns.length > 0)}.`,
    `- The bomb: ${results[0]?.bomb.bytes ?? 0} octets of \`$GENERATE 0-65535\` lines; its refusal: "${results[0]?.bomb.error ?? ''}"`,
  ];
  return { results, markdown };
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

if (process.argv[1]?.endsWith('fairness.js')) {
  const { markdown } = await runFairnessSuite({
    runs: arg('--runs', 3),
    records: arg('--records', 100_000),
    patchRRsets: arg('--patch-rrsets', 35_000),
    createRRsets: arg('--create-rrsets', 35_000),
    log: (l) => console.log(l),
  });
  console.log(`\n${markdown.join('\n')}`);
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameRRset } from './edit.js';
import type { ZoneContent } from './records.js';
import { parseChanges } from './rows.js';
import { runZoneJob, type ZoneJob, type ZoneWorkOutcome } from './zone-work.js';

const limits = { maxTtl: 86400, maxRecordsPerRRset: 100 };
const budget = { max: 1_000_000, name: 'test', code: 'CTL_ERR_QUOTA' as const };
const ORIGIN = 'example.com.';

/** A zone with every structure the local checks must see: in-zone NS targets, a delegation with glue, a DNAME, a CNAME, a disabled record, an NS target without address (a warning). */
const ZONE = [
  'example.com. 3600 IN SOA ns1.example.com. h.example.com. 7 3600 600 86400 300',
  'example.com. 3600 IN NS ns1.example.com.',
  'example.com. 3600 IN NS noaddr.example.com.',
  'example.com. 300 IN TXT "apex"',
  'ns1.example.com. 300 IN A 192.0.2.53',
  'www.example.com. 300 IN A 192.0.2.1',
  ';disabled; www.example.com. 300 IN A 192.0.2.9',
  'mail.example.com. 300 IN MX 10 www.example.com.',
  'c.example.com. 300 IN CNAME www.example.com.',
  'sub.example.com. 300 IN NS ns.sub.example.com.',
  'ns.sub.example.com. 300 IN A 192.0.2.77',
  'd.example.com. 300 IN DNAME example.net.',
  ...Array.from({ length: 50 }, (_, i) => `h${i}.example.com. 300 IN A 10.0.0.${i}`),
  '',
].join('\n');

function base(): ZoneWorkOutcome {
  return runZoneJob(
    { kind: 'create', origin: ORIGIN, input: { zonefile: ZONE }, defaults: undefined, limits, budget },
    new Map(),
    new Map(),
  );
}

function change(changes: unknown[], dryRun = false): ZoneJob {
  return { kind: 'change', origin: ORIGIN, serial: 7, changes, limits, dryRun };
}

type Result = { ok: ZoneWorkOutcome } | { error: string };

function attempt(f: () => ZoneWorkOutcome): Result {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: `${(err as Error).message} @${(err as { field?: string }).field}` };
  }
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What a change writes and answers, order of RRsets aside (the stored diff's order is no part of it). */
function normal(o: ZoneWorkOutcome) {
  const w = o.work;
  const rows = w.rows.flatMap((r) => JSON.parse(r) as unknown[]).map((r) => JSON.stringify(r));
  return {
    noop: w.noop,
    serial: w.serial,
    recordCount: w.recordCount,
    added: w.added,
    removed: w.removed,
    changes: parseChanges(w.changes)
      .map((c) => JSON.stringify(c))
      .sort(byKey),
    rewrite: w.rewrite,
    stage: w.stage,
    deletes: w.deletes.map((d) => d.join(' ')).sort(byKey),
    rows: rows.sort(byKey),
    warnings: w.warnings,
    lines: w.lines,
  };
}

function sameContent(a: ZoneContent, b: ZoneContent): void {
  assert.equal(a.size, b.size);
  for (const [k, s] of a) {
    const t = b.get(k);
    assert.ok(t && sameRRset(s, t), `RRset ${k} differs`);
  }
}

/** Runs `job` the whole-zone way and the incremental way; both must agree. */
function both(job: ZoneJob, incremental: boolean): void {
  const dryRun = 'dryRun' in job && job.dryRun === true;
  const b = base();
  const whole = attempt(() => runZoneJob(job, new Map(b.draft), new Map(b.memo)));
  const content = new Map(b.draft);
  const inc = attempt(() => runZoneJob(job, content, new Map(b.memo), b.checked));
  if ('error' in whole) {
    assert.deepEqual(inc, whole);
    // Refused: the content is as it was.
    sameContent(content, b.draft);
    return;
  }
  assert.ok('ok' in inc, 'error' in inc ? inc.error : '');
  assert.deepEqual(normal(inc.ok), normal(whole.ok));
  assert.equal(inc.ok.inPlace === true, incremental && !whole.ok.work.noop && !dryRun);
  assert.deepEqual(inc.ok.work.dnsUpdate, whole.ok.work.dnsUpdate);
  if (!whole.ok.work.noop && !dryRun) sameContent(inc.ok.draft, whole.ok.draft);
  else sameContent(content, b.draft);
  // The next change may trust the result: same NS targets, warnings and count as a whole check.
  const again = runZoneJob(
    { kind: 'rollback', origin: ORIGIN, serial: 1, version: 1, undo: [] },
    inc.ok.draft,
    new Map(),
  );
  if (inc.ok.checked && again.checked && !whole.ok.work.noop) {
    assert.deepEqual([...inc.ok.checked.nsTargets].sort(), [...again.checked.nsTargets].sort());
    assert.equal(inc.ok.checked.records, whole.ok.work.recordCount);
  }
}

const A = (name: string, op: string, ...ips: string[]) => ({
  op,
  name: `${name}.example.com.`,
  type: 'A',
  ttl: 300,
  records: ips.map((content) => ({ content })),
});

describe('incremental change (the whole-zone path and the local one agree)', () => {
  test('base zone is checked, with its NS warning', () => {
    const b = base();
    assert.ok(b.checked);
    assert.deepEqual([...b.checked.nsTargets].sort(), [
      'noaddr.example.com.',
      'ns.sub.example.com.',
      'ns1.example.com.',
    ]);
    assert.equal(b.checked.warnings.length, 1);
  });

  const local: Array<[string, unknown[]]> = [
    ['replace an A RRset', [A('www', 'replace', '192.0.2.2')]],
    ['add a record', [A('www', 'add', '192.0.2.3')]],
    ['remove the last record', [A('h1', 'remove', '10.0.0.1')]],
    ['delete an RRset', [{ op: 'delete', name: 'h2.example.com.', type: 'A' }]],
    [
      'a new name',
      [{ op: 'add', name: 'new.example.com.', type: 'TXT', ttl: 60, records: [{ content: '"x"' }] }],
    ],
    ['a new name under a new empty non-terminal', [A('a.b.c', 'add', '192.0.2.4')]],
    [
      'a CNAME retargeted',
      [
        {
          op: 'replace',
          name: 'c.example.com.',
          type: 'CNAME',
          ttl: 60,
          records: [{ content: 'h3.example.com.' }],
        },
      ],
    ],
    [
      'the CNAME deleted and data added',
      [{ op: 'delete', name: 'c.example.com.', type: 'CNAME' }, A('c', 'add', '192.0.2.5')],
    ],
    [
      'an apex TXT',
      [{ op: 'replace', name: ORIGIN, type: 'TXT', ttl: 60, records: [{ content: '"v=spf1 -all"' }] }],
    ],
    [
      'an MX',
      [
        {
          op: 'replace',
          name: 'mail.example.com.',
          type: 'MX',
          ttl: 60,
          records: [{ content: '20 h4.example.com.' }],
        },
      ],
    ],
    ['a TTL change', [A('h5', 'replace', '10.0.0.5')].map((c) => ({ ...c, ttl: 600 }))],
    ['a record disabled', [{ ...A('h6', 'replace'), records: [{ content: '10.0.0.6', disabled: true }] }]],
    ['several at once', [A('h7', 'replace', '192.0.2.7'), A('h8', 'delete'), A('x', 'add', '192.0.2.8')]],
  ];
  for (const [what, changes] of local) {
    test(`${what}: worked out locally`, () => both(change(changes), true));
    test(`${what}: dry run`, () => both(change(changes, true), true));
  }

  const whole: Array<[string, unknown[]]> = [
    ['data beside a CNAME (refused)', [A('c', 'add', '192.0.2.6')]],
    [
      'a CNAME beside data (refused)',
      [
        {
          op: 'add',
          name: 'www.example.com.',
          type: 'CNAME',
          ttl: 60,
          records: [{ content: 'h1.example.com.' }],
        },
      ],
    ],
    [
      'a new CNAME at a new name',
      [
        {
          op: 'add',
          name: 'alias.example.com.',
          type: 'CNAME',
          ttl: 60,
          records: [{ content: 'h1.example.com.' }],
        },
      ],
    ],
    ['data below a DNAME (refused)', [A('x.d', 'add', '192.0.2.9')]],
    ['data below a delegation', [A('x.sub', 'add', '192.0.2.9')]],
    ['an NS target address replaced', [A('ns1', 'replace', '192.0.2.54')]],
    ['an NS target address deleted', [A('ns1', 'delete')]],
    ['glue deleted (refused)', [A('ns.sub', 'delete')]],
    ['the missing address added', [A('noaddr', 'add', '192.0.2.10')]],
    ['data at a delegation point', [A('sub', 'add', '192.0.2.11')]],
    [
      'an NS RRset',
      [
        {
          op: 'add',
          name: 'deleg.example.com.',
          type: 'NS',
          ttl: 60,
          records: [{ content: 'h1.example.com.' }],
        },
      ],
    ],
    [
      'the SOA',
      [
        {
          op: 'replace',
          name: ORIGIN,
          type: 'SOA',
          ttl: 60,
          records: [{ content: 'ns1.example.com. h.example.com. 9 3600 600 86400 300' }],
        },
      ],
    ],
  ];
  for (const [what, changes] of whole)
    test(`${what}: the whole-zone path decides`, () => both(change(changes), false));

  test('a change that changes nothing is no version', () =>
    both(
      change(
        [A('www', 'replace', '192.0.2.1')].map((c) => ({
          ...c,
          records: [{ content: '192.0.2.1' }, { content: '192.0.2.9', disabled: true }],
        })),
      ),
      true,
    ));

  const ip = (a: string) => Buffer.from(a.split('.').map(Number)).toString('hex');
  const upd = (name: string, type: number, cls: number, ttl: number, rdata: string) => ({
    name: `${name}.example.com.`,
    class: cls,
    type,
    ttl,
    rdata,
  });
  const update = (prereqs: unknown[], updates: unknown[]): ZoneJob =>
    ({ kind: 'update', origin: ORIGIN, serial: 7, zclass: 1, prereqs, updates, limits }) as ZoneJob;
  const updates: Array<[string, ZoneJob, boolean]> = [
    ['an A added', update([], [upd('www', 1, 1, 300, ip('192.0.2.44'))]), true],
    ['an A added at a new name', update([], [upd('dyn', 1, 1, 60, ip('192.0.2.45'))]), true],
    ['an RRset deleted (class ANY)', update([], [upd('h3', 1, 255, 0, '')]), true],
    ['a record deleted (class NONE)', update([], [upd('h4', 1, 254, 0, ip('10.0.0.4'))]), true],
    ['every RRset of a name deleted', update([], [upd('h5', 255, 255, 0, '')]), true],
    [
      'a prerequisite met',
      update([upd('h6', 1, 255, 0, '')], [upd('h6', 1, 1, 300, ip('192.0.2.46'))]),
      true,
    ],
    [
      'a prerequisite not met',
      update([upd('nope', 255, 255, 0, '')], [upd('h6', 1, 1, 300, ip('192.0.2.46'))]),
      false,
    ],
    [
      'refused after a first update applied',
      update([], [upd('h7', 1, 1, 300, ip('192.0.2.47')), upd('h7', 1, 1, 999999, ip('192.0.2.48'))]),
      false,
    ],
    ['an A beside the CNAME (ignored)', update([], [upd('c', 1, 1, 300, ip('192.0.2.49'))]), false],
    ['an NS target changed', update([], [upd('ns1', 1, 1, 300, ip('192.0.2.50'))]), false],
    ['data below the DNAME', update([], [upd('x.d', 1, 1, 300, ip('192.0.2.51'))]), false],
  ];
  for (const [what, job, local] of updates) test(`DNS UPDATE, ${what}`, () => both(job, local));

  test('random changes at random names: both ways agree (seeded)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = [
      'www',
      'c',
      'ns1',
      'noaddr',
      'sub',
      'ns.sub',
      'x.sub',
      'd',
      'x.d',
      'mail',
      'h1',
      'h2',
      'new',
      'a.b',
      '*',
      '*.w',
      ORIGIN,
    ];
    const records: Record<string, () => string> = {
      A: () => `192.0.2.${rnd(250)}`,
      TXT: () => `"t${rnd(5)}"`,
      CNAME: () => `h${rnd(9)}.example.com.`,
      MX: () => `${rnd(20)} h${rnd(9)}.example.com.`,
      NS: () => `h${rnd(9)}.example.com.`,
      DNAME: () => 'example.org.',
    };
    const types = Object.keys(records);
    const ops = ['replace', 'add', 'remove', 'delete'];
    let incremental = 0;
    for (let i = 0; i < 300; i++) {
      const changes = Array.from({ length: 1 + rnd(3) }, () => {
        const n = names[rnd(names.length)];
        const type = types[rnd(types.length)];
        const op = ops[rnd(ops.length)];
        return {
          op,
          name: n === ORIGIN ? ORIGIN : `${n}.example.com.`,
          type,
          ttl: 300,
          records:
            op === 'delete'
              ? undefined
              : Array.from({ length: 1 + rnd(2) }, () => ({ content: records[type]() })),
        };
      });
      const b = base();
      const job = change(changes);
      const whole = attempt(() => runZoneJob(job, new Map(b.draft), new Map(b.memo)));
      const content = new Map(b.draft);
      const inc = attempt(() => runZoneJob(job, content, new Map(b.memo), b.checked));
      const what = JSON.stringify(changes);
      if ('error' in whole) {
        assert.deepEqual(inc, whole, what);
        sameContent(content, b.draft);
        continue;
      }
      assert.ok('ok' in inc, `${what}: ${'error' in inc ? inc.error : ''}`);
      assert.deepEqual(normal(inc.ok), normal(whole.ok), what);
      if (!whole.ok.work.noop) sameContent(inc.ok.draft, whole.ok.draft);
      if (inc.ok.inPlace) incremental++;
    }
    // Most of them are decided locally, some not: both paths were exercised.
    assert.ok(incremental > 10 && incremental < 300, `${incremental} of 300 worked out in place`);
  });

  test('changes in a row stay in step with the whole-zone path', () => {
    let b = base();
    let whole = { draft: new Map(b.draft), memo: new Map(b.memo) };
    let serial = 7;
    for (let i = 0; i < 5; i++) {
      const job: ZoneJob = {
        kind: 'change',
        origin: ORIGIN,
        serial,
        changes: [A(`h${i}`, 'replace', `192.0.2.${100 + i}`), A(`n${i}`, 'add', '192.0.2.1')],
        limits,
      };
      const w = runZoneJob(job, whole.draft, whole.memo);
      const inc = runZoneJob(job, b.draft, b.memo, b.checked);
      assert.equal(inc.inPlace, true);
      assert.deepEqual(normal(inc), normal(w));
      sameContent(inc.draft, w.draft);
      serial = w.work.serial;
      whole = { draft: w.draft, memo: w.memo };
      b = inc;
    }
  });
});

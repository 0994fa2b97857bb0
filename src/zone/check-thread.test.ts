/**
 * The checks of a big zone in a thread of their own (check-thread.ts, load.ts `checksLater`,
 * the compile thread's big-file path): the same findings, errors and warnings as the checks
 * run in the loading thread, and a zone that fails a check late never gives an image.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateBigZone } from '../../bench/zone-load.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { runCompile } from '../server/shared/compile-thread.js';
import { Name } from '../wire/name.js';
import { checkZone } from './check.js';
import { ZoneCheckThread } from './check-thread.js';
import { ColumnZone, ColumnZoneStream } from './column-zone.js';
import { EarlyParse } from './index.js';
import { type LoadedColumnZone, loadZoneTextColumns, PARSE_THREAD_TEXT } from './load.js';
import { type IdleParseThread, NEXT, parseIntoStream, parseYoungMb } from './parse-thread.js';

/** What a load gave or threw, comparable. */
function outcome(load: () => LoadedColumnZone): unknown {
  try {
    const got = load();
    const errors = got.checks ? got.checks.finish().errors : got.errors;
    return { warnings: got.warnings, errors };
  } catch (e) {
    const err = e as Error & { errors?: unknown; warnings?: unknown };
    return { thrown: err.name, errors: err.errors, warnings: err.warnings };
  }
}

/** Loads `file` as the compile thread does (an early parse thread, checks in their thread). */
function loadLater(file: string, strict: boolean, stages: string[]): LoadedColumnZone {
  const octets = readFileSync(file);
  const early = EarlyParse.start(octets.length);
  assert.ok(early);
  early.octets.set(octets);
  early.length = octets.length;
  try {
    return loadZoneTextColumns('', {
      file,
      octets: true,
      early,
      strict,
      checksLater: true,
      stage: (s) => stages.push(s),
    });
  } finally {
    early.close();
  }
}

describe('the checks of a big zone in a thread of their own', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-check-thread-'));
    file = join(dir, 'big.test.zone');
    generateBigZone(file, 380_000);
    // Warnings of the checks (an MX target without addresses) and of the build (a duplicate).
    appendFileSync(file, 'mx1 MX 10 nowhere\nnowhere TXT "no address"\nh0 A 198.18.0.0\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ColumnZone.fromShared reads the same zone: checkZone gives the same findings', () => {
    const { zone } = loadZoneTextColumns(readFileSync(file, 'latin1'), { file, octets: true, thread: false });
    const other = ColumnZone.fromShared(zone.shared());
    assert.equal(other.nameCount, zone.nameCount);
    assert.equal(other.serial, zone.serial);
    assert.deepEqual(checkZone(other), checkZone(zone));
    const t = ZoneCheckThread.start(zone);
    assert.ok(t);
    assert.deepEqual(t.wait(), checkZone(zone));
  });

  test('a passing zone: the same warnings, in the same order, the checks settled by finish', () => {
    const text = readFileSync(file, 'latin1');
    assert.ok(text.length >= PARSE_THREAD_TEXT);
    const stages: string[] = [];
    const got = loadLater(file, true, stages);
    assert.ok(got.checks, 'the checks ran in their thread');
    assert.ok(stages.includes('checks started in the parse thread'), stages.join(', '));
    assert.ok(!stages.includes('checks done'));
    const here = outcome(() => loadZoneTextColumns(text, { file, octets: true, thread: false }));
    const later = outcome(() => got);
    assert.ok(stages.includes('checks done'));
    assert.deepEqual(later, here);
    assert.ok((here as { warnings: unknown[] }).warnings.length >= 2);
    // finish once only; stop after it does nothing
    assert.throws(() => got.checks?.finish());
    got.checks?.stop();
  });

  test('the parse thread kept after its parse: released it exits; work it cannot do fails at once', async () => {
    const text = '$ORIGIN small.test.\n@ 3600 SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n';
    const parseKept = (): IdleParseThread => {
      const stream = new ColumnZoneStream(8);
      const keep: { idle?: IdleParseThread } = {};
      const parsed = parseIntoStream(
        text,
        { origin: Name.parse('small.test.') },
        stream,
        undefined,
        undefined,
        keep,
      );
      assert.ok(parsed && parsed.errors.length === 0);
      assert.ok(keep.idle, 'kept');
      return keep.idle;
    };
    // The threads are unref'd: the test's loop is kept alive while it waits for their exit
    // (bounded: a thread that does not exit fails the test).
    const exit = (idle: IdleParseThread): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((_, rej) => {
        timer = setTimeout(() => rej(new Error('the parse thread did not exit')), 30_000);
      });
      return Promise.race([idle.exited, limit]).finally(() => clearTimeout(timer));
    };
    const { zone } = loadZoneTextColumns(text, { octets: true, thread: false });
    // Released unused: the thread exits; it cannot be given work after.
    const released = parseKept();
    released.release();
    await exit(released);
    assert.equal(ZoneCheckThread.onParseThread(released, zone), undefined);
    // Given the zone: the same findings as here, then it exits.
    const used = parseKept();
    const t = ZoneCheckThread.onParseThread(used, zone);
    assert.ok(t?.inParseThread);
    assert.deepEqual(t.wait(), checkZone(zone));
    await exit(used);
    assert.equal(ZoneCheckThread.onParseThread(used, zone), undefined, 'taken once');
    // Not kept (no `keep`: a load without checksLater, `start`'s text jobs): the thread exits
    // after its parse (this process's thread count back to what it was).
    const threads = (): number =>
      Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1]);
    const before = threads();
    const parsed = parseIntoStream(text, { origin: Name.parse('small.test.') }, new ColumnZoneStream(8));
    assert.ok(parsed && parsed.errors.length === 0);
    await waitFor('the parse thread not kept exits', async () => threads() <= before, 30_000, 20);
    // Columns it cannot read (the check fails there): the caller is told at once, not after
    // the thread's silence, and checks itself (load.ts).
    const failing = parseKept();
    const bad = { shared: () => ({ broken: true }) } as unknown as ColumnZone;
    const f = ZoneCheckThread.onParseThread(failing, bad);
    assert.ok(f);
    const t0 = Date.now();
    assert.equal(f.wait(), undefined);
    assert.ok(Date.now() - t0 < 60_000);
    await exit(failing);
  });

  test("the parse thread's young generation: 16 MiB, another cap or V8's own by SWITCHBOARD_PARSE_YOUNG_MB", async () => {
    assert.equal(parseYoungMb({}), 16);
    assert.equal(parseYoungMb({ SWITCHBOARD_PARSE_YOUNG_MB: '24' }), 24);
    assert.equal(parseYoungMb({ SWITCHBOARD_PARSE_YOUNG_MB: 'default' }), undefined);
    assert.equal(parseYoungMb({ SWITCHBOARD_PARSE_YOUNG_MB: 'lots' }), 16);
    // The limit the running thread has (Worker.resourceLimits). The checks under the cap: the
    // tests above (the same findings as inline).
    const text = '$ORIGIN small.test.\n@ 3600 SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n';
    const saved = process.env.SWITCHBOARD_PARSE_YOUNG_MB;
    const young: (number | undefined)[] = [];
    try {
      for (const v of [undefined, '24', 'default']) {
        if (v === undefined) delete process.env.SWITCHBOARD_PARSE_YOUNG_MB;
        else process.env.SWITCHBOARD_PARSE_YOUNG_MB = v;
        const keep: { idle?: IdleParseThread } = {};
        const parsed = parseIntoStream(
          text,
          { origin: Name.parse('small.test.') },
          new ColumnZoneStream(8),
          undefined,
          undefined,
          keep,
        );
        assert.ok(parsed && parsed.errors.length === 0 && keep.idle);
        const exited = keep.idle.exited;
        const got = keep.idle.take();
        assert.ok(got);
        young.push(got.worker.resourceLimits?.maxYoungGenerationSizeMb);
        Atomics.store(got.ctrl, NEXT, -1);
        Atomics.notify(got.ctrl, NEXT);
        got.port.close();
        // The thread is unref'd: a timer keeps the loop alive while it exits (bounded).
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          exited,
          new Promise<void>((_, rej) => {
            timer = setTimeout(() => rej(new Error('the parse thread did not exit')), 30_000);
          }),
        ]).finally(() => clearTimeout(timer));
      }
    } finally {
      if (saved === undefined) delete process.env.SWITCHBOARD_PARSE_YOUNG_MB;
      else process.env.SWITCHBOARD_PARSE_YOUNG_MB = saved;
    }
    assert.equal(young[0], 16);
    assert.equal(young[1], 24);
    assert.ok((young[2] ?? 0) > 16, `V8's own: ${young[2]}`);
  });

  test('a zone that fails a check late: the same located errors and warnings, strict or not', () => {
    const bad = join(dir, 'bad.test.zone');
    appendFileSync(bad, readFileSync(file));
    appendFileSync(bad, 'late CNAME h1\nlate A 192.0.2.9\n');
    const text = readFileSync(bad, 'latin1');
    for (const strict of [true, false]) {
      const here = outcome(() =>
        loadZoneTextColumns(text, { file: bad, octets: true, thread: false, strict }),
      );
      const later = outcome(() => loadLater(bad, strict, []));
      assert.deepEqual(later, here, `strict ${strict}`);
    }
    assert.ok('thrown' in (outcome(() => loadLater(bad, true, [])) as object));
    rmSync(bad);
  });

  test('the compile thread: a check failing late refuses the zone and leaves no image in the pack folder', () => {
    const packDir = mkdtempSync(join(tmpdir(), 'sb-check-thread-pack-'));
    const bad = join(dir, 'late.test.zone');
    try {
      appendFileSync(bad, readFileSync(file));
      appendFileSync(bad, 'late CNAME h1\nlate A 192.0.2.9\n');
      const got = runCompile({ kind: 'file', path: bad, packDir });
      assert.equal(got.ok, false);
      assert.equal(got.errors.length, 1);
      assert.match(got.errors[0], /late\.big\.test\.\/CNAME/);
      assert.match(got.errors[0], new RegExp(`${bad.replaceAll('.', '\\.')}:\\d+`));
      assert.ok(got.warnings.length >= 2, got.warnings.join('\n'));
      assert.deepEqual(readdirSync(packDir), []);
      // The passing zone: compiled into the pack folder, the checks' warnings with it.
      const good = runCompile({ kind: 'file', path: file, packDir });
      assert.ok(good.ok, 'errors' in good ? good.errors.join('\n') : '');
      assert.ok(good.packed);
      assert.deepEqual(
        good.warnings,
        got.warnings.map((w) => w.replace(bad, file)),
      );
      assert.deepEqual(readdirSync(packDir), [good.packed.file]);
      // In memory (no pack folder): the same refusal.
      const mem = runCompile({ kind: 'file', path: bad });
      assert.deepEqual(mem, got);
    } finally {
      rmSync(packDir, { recursive: true, force: true });
      rmSync(bad, { force: true });
    }
  });
});

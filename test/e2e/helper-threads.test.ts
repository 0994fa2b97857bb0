/**
 * A DNS worker's helper threads at the lowest CPU priority (src/server/shared/helper-threads.ts):
 * in both workers of `serve --workers 2` every thread but the main one runs at nice 19 (V8's
 * compiles and GC, libuv's pool), the main thread at the worker's own nice, and the workers answer;
 * threads started later are found by the next scan; SWITCHBOARD_HELPER_NICE=off leaves them all
 * at the worker's nice.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { HELPER_NICE } from '../../src/server/shared/helper-threads.js';
import { repoRoot } from '../helpers/paths.js';
import { listDescendants, skipUnlessCommands } from '../helpers/peers.js';
import { dig, freePort, startSwitchboard } from './support.js';

const ZONE = `$ORIGIN ht.test.
$TTL 300
@ SOA ns1 hostmaster 3 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.53
`;

/** Each thread of a process: [tid, nice] (/proc/PID/task/TID/stat, field 19). */
function threadNices(pid: number): [number, number][] {
  const out: [number, number][] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      // After "(comm)": state is field 3, nice field 19.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push([Number(t), Number(f[16])]);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const skip = skipUnlessCommands('dig') || (process.platform !== 'linux' ? 'Linux only' : false);

describe("a worker's helper threads at nice 19", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-helper-nice-'));
  writeFileSync(join(dir, 'ht.test.zone'), ZONE);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const serve = async (env: Record<string, string>) => {
    const port = await freePort();
    const args = ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2'];
    return { port, s: await startSwitchboard('serve', args, /^switchboard: serving .*$/m, 60_000, env) };
  };

  test('serve --workers 2: every thread of each worker but the main one at 19; they answer', async () => {
    const { port, s } = await serve({});
    try {
      const r = await dig('127.0.0.1', port, 'www.ht.test', 'A');
      assert.deepEqual(r.answers, ['www.ht.test. A 192.0.2.53']);
      const workers = listDescendants(s.pid);
      assert.equal(workers.length, 2);
      // The primary compiles and loads: its threads are left at its nice (the test's own).
      const own = threadNices(s.pid).find(([tid]) => tid === s.pid)?.[1];
      assert.ok(threadNices(s.pid).every(([, nice]) => nice === own));
      for (const w of workers) {
        const nices = threadNices(w);
        const main = nices.find(([tid]) => tid === w);
        assert.equal(main?.[1], own, `the main thread of ${w}: ${JSON.stringify(nices)}`);
        const helpers = nices.filter(([tid]) => tid !== w);
        assert.ok(helpers.length >= 4, `V8's platform threads at least: ${JSON.stringify(nices)}`);
        for (const [tid, nice] of helpers) assert.equal(nice, HELPER_NICE, `thread ${tid} of ${w}`);
      }
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('SWITCHBOARD_HELPER_NICE=off: every thread at the worker nice', async () => {
    const { port, s } = await serve({ SWITCHBOARD_HELPER_NICE: 'off' });
    try {
      const r = await dig('127.0.0.1', port, 'www.ht.test', 'A');
      assert.deepEqual(r.answers, ['www.ht.test. A 192.0.2.53']);
      const own = threadNices(s.pid).find(([tid]) => tid === s.pid)?.[1];
      for (const w of listDescendants(s.pid)) assert.ok(threadNices(w).every(([, nice]) => nice === own));
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('a thread started after the first scan is lowered by the next one; the main thread never', () => {
    const mod = pathToFileURL(join(repoRoot, 'dist/src/server/shared/helper-threads.js')).href;
    const script = `
      import { lowerHelperThreads } from ${JSON.stringify(mod)};
      import { Worker } from 'node:worker_threads';
      import { readdirSync, readFileSync } from 'node:fs';
      const nice = (t) => { const s = readFileSync('/proc/self/task/' + t + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); };
      const seen = new Set();
      const first = lowerHelperThreads(seen);
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      await new Promise((r) => w.once('online', r));
      const tids = readdirSync('/proc/self/task').map(Number).filter((t) => t !== process.pid && !seen.has(t));
      const before = tids.map(nice);
      const second = lowerHelperThreads(seen);
      const afterNice = tids.map(nice);
      console.log(JSON.stringify({ first, second, fresh: tids.length, before, after: afterNice, main: nice(process.pid) }));
      await w.terminate();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout) as {
      first: number;
      second: number;
      fresh: number;
      before: number[];
      after: number[];
      main: number;
    };
    assert.ok(o.first >= 4, `V8's platform threads lowered at the first scan: ${r.stdout}`);
    assert.ok(o.fresh >= 1 && o.second === o.fresh, r.stdout);
    assert.ok(
      o.before.every((n) => n === o.main),
      r.stdout,
    );
    assert.ok(
      o.after.every((n) => n === HELPER_NICE),
      r.stdout,
    );
    assert.ok(o.main !== HELPER_NICE);
  });
});

/**
 * `switchboard serve` re-executes itself once with GLIBC_TUNABLES=glibc.malloc.hugetlb=1
 * (src/cli/hugetlb.ts, native/exec.c): the same PID, its output still reaching the pipes it
 * was given, the tunable in the primary's environment and not in its workers'; with
 * SWITCHBOARD_HUGETLB=off, or a GLIBC_TUNABLES that names it, the tunable is not asked for. The
 * same exec puts V8's --no-memory-reducer on the primary's command line, which its workers
 * inherit (also with SWITCHBOARD_HUGETLB=off); SWITCHBOARD_MEMORY_REDUCER=on: no flag.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  glibcHasHugetlb,
  thpAvailable,
  wantsHugetlbReexec,
  wantsNoMemoryReducer,
  withHugetlb,
} from '../../src/cli/hugetlb.js';
import { repoRoot } from '../helpers/paths.js';
import { listDescendants, skipUnlessCommands } from '../helpers/peers.js';
import { cmdlineOf } from '../helpers/procs.js';
import { dig, freePort, startSwitchboard } from './support.js';

const ZONE = `$ORIGIN hp.test.
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
`;

/** The environment a process was started (or last executed) with. */
function environOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return out;
}

const addon = join(repoRoot, 'native/build/Release/switchboard_exec.node');
const skip =
  skipUnlessCommands('dig') ||
  (process.platform !== 'linux' ? 'Linux only' : false) ||
  (!existsSync(addon) ? 'native/exec.c not built (npm run build:native)' : false) ||
  (!thpAvailable() ? 'transparent huge pages are off here' : false);

describe('hugetlb re-exec: the rules', () => {
  test('glibc versions, the tunable added, the cases left alone', () => {
    assert.equal(glibcHasHugetlb('2.36'), true);
    assert.equal(glibcHasHugetlb('2.35'), true);
    assert.equal(glibcHasHugetlb('2.34'), false);
    assert.equal(glibcHasHugetlb('3.0'), true);
    assert.equal(glibcHasHugetlb(''), false);
    assert.equal(withHugetlb(undefined), 'glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1');
    assert.equal(withHugetlb(''), 'glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1');
    assert.equal(
      withHugetlb('glibc.malloc.tcache_count=0'),
      'glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1',
    );
    // An arena_max of the caller's own is kept; SWITCHBOARD_ARENA_MAX=default asks for none.
    assert.equal(withHugetlb('glibc.malloc.arena_max=2'), 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(withHugetlb(undefined, { SWITCHBOARD_ARENA_MAX: 'default' }), 'glibc.malloc.hugetlb=1');
    const argv = ['node', 'main.js', 'serve'];
    assert.equal(wantsHugetlbReexec(argv, {}, 'linux'), true);
    assert.equal(wantsHugetlbReexec(['node', 'main.js', 'start'], {}, 'linux'), true);
    assert.equal(wantsHugetlbReexec(['node', 'main.js', 'zone'], {}, 'linux'), false);
    assert.equal(wantsHugetlbReexec(argv, {}, 'darwin'), false);
    assert.equal(wantsHugetlbReexec(argv, { SWITCHBOARD_HUGETLB: 'off' }, 'linux'), false);
    assert.equal(wantsHugetlbReexec(argv, { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux'), false);
    assert.equal(wantsHugetlbReexec(argv, { NODE_CHANNEL_FD: '3' }, 'linux'), false);
    assert.equal(wantsHugetlbReexec(argv, { NODE_UNIQUE_ID: '1' }, 'linux'), false);
  });

  test('--no-memory-reducer: serve, start and edge, once, not for children, not when asked to keep it', () => {
    const argv = ['node', 'main.js', 'serve'];
    assert.equal(wantsNoMemoryReducer(argv, [], {}, 'linux'), true);
    assert.equal(wantsNoMemoryReducer(['node', 'main.js', 'edge'], [], {}, 'linux'), true);
    assert.equal(wantsHugetlbReexec(['node', 'main.js', 'edge'], {}, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(['node', 'main.js', 'start'], ['--trace-gc'], {}, 'linux'), true);
    assert.equal(wantsNoMemoryReducer(['node', 'main.js', 'zone'], [], {}, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, [], {}, 'darwin'), false);
    assert.equal(wantsNoMemoryReducer(argv, ['--no-memory-reducer'], {}, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, ['--memory-reducer'], {}, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, ['--no-memory_reducer'], {}, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, ['--memory-reducer-for-small-heaps'], {}, 'linux'), true);
    assert.equal(wantsNoMemoryReducer(argv, [], { SWITCHBOARD_MEMORY_REDUCER: 'on' }, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, [], { NODE_CHANNEL_FD: '3' }, 'linux'), false);
    assert.equal(wantsNoMemoryReducer(argv, [], { NODE_UNIQUE_ID: '1' }, 'linux'), false);
  });
});

describe('serve re-executes itself with glibc.malloc.hugetlb=1', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-hugetlb-'));
  writeFileSync(join(dir, 'hp.test.zone'), ZONE);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const serve = async (env: Record<string, string>) => {
    const port = await freePort();
    const args = ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2', '--images', 'on'];
    return { port, s: await startSwitchboard('serve', args, /^switchboard: serving .*$/m, 60_000, env) };
  };

  test('the primary has the tunable, its workers do not, it answers and stops as before', async () => {
    const { port, s } = await serve({ GLIBC_TUNABLES: '' });
    try {
      // The start line came through the pipe: the output survived the exec.
      assert.match(s.startLine, /serving 1 zone \(hp\.test\. serial 7\)/, s.stderr());
      assert.match(s.stderr(), /info: UDP path:/);
      // glibc splits the value in place at each ':' as it reads its tunables, so /proc shows
      // the one-arena tunable as the environ entry after GLIBC_TUNABLES.
      const raw = readFileSync(`/proc/${s.pid}/environ`, 'latin1').split('\0');
      const at = raw.indexOf('GLIBC_TUNABLES=glibc.malloc.hugetlb=1');
      assert.ok(at >= 0, raw.filter((kv) => kv.includes('glibc')).join(' '));
      assert.equal(raw[at + 1], 'glibc.malloc.arena_max=1');
      assert.ok(cmdlineOf(s.pid).includes('--no-memory-reducer'), cmdlineOf(s.pid).join(' '));
      const workers = listDescendants(s.pid);
      assert.equal(workers.length, 2);
      for (const w of workers) {
        assert.ok(cmdlineOf(w).includes('--no-memory-reducer'), cmdlineOf(w).join(' '));
        const we = environOf(w);
        // Given as '' to the CLI: given back as '' to the workers.
        assert.equal(we.get('GLIBC_TUNABLES'), '');
        assert.equal(we.has('SWITCHBOARD_GLIBC_TUNABLES_WAS'), false);
      }
      const r = await dig('127.0.0.1', port, 'www.hp.test', 'A');
      assert.deepEqual(r.answers, ['www.hp.test. A 192.0.2.80']);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('SWITCHBOARD_HUGETLB=off: no re-exec', async () => {
    const { port, s } = await serve({ SWITCHBOARD_HUGETLB: 'off' });
    try {
      const env = environOf(s.pid);
      assert.equal(env.get('GLIBC_TUNABLES')?.includes('hugetlb') === true, false);
      assert.equal(env.has('SWITCHBOARD_GLIBC_TUNABLES_WAS'), false);
      // The V8 flag is asked for by the same exec, tunable or not.
      assert.ok(cmdlineOf(s.pid).includes('--no-memory-reducer'), cmdlineOf(s.pid).join(' '));
      const r = await dig('127.0.0.1', port, 'www.hp.test', 'A');
      assert.deepEqual(r.answers, ['www.hp.test. A 192.0.2.80']);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('SWITCHBOARD_MEMORY_REDUCER=on: V8 keeps its memory reducer', async () => {
    const { port, s } = await serve({ SWITCHBOARD_MEMORY_REDUCER: 'on' });
    try {
      assert.equal(cmdlineOf(s.pid).includes('--no-memory-reducer'), false);
      for (const w of listDescendants(s.pid))
        assert.equal(cmdlineOf(w).includes('--no-memory-reducer'), false);
      const r = await dig('127.0.0.1', port, 'www.hp.test', 'A');
      assert.deepEqual(r.answers, ['www.hp.test. A 192.0.2.80']);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

/**
 * Both UDP paths pass the same tests. `npm test` runs every file on the default path (`auto`:
 * node with worker processes, native in one process when the addon loads); this file runs the transport-level suites again on the other
 * path by setting SWITCHBOARD_IO for them (the `serve` processes they start inherit it): the
 * e2e `serve` tests (TC over UDP then TCP, EDNS sizes, workers restarted), the survival test
 * and the NSD/Knot differential. It also checks `--io` end to end: the one log line, native
 * sockets in two worker processes, a bad value refused.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery, queryUdp, readHeader } from '../helpers/dns-client.js';
import { startSwitchboard, switchboardBin } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { waitForText } from '../helpers/wait-for.js';

const native = nativeUdpStatus();
const nativeMissing = skipOrFail(
  native.ok ? false : `native UDP addon unavailable: ${native.reason} (npm install builds it)`,
);
const zoneDir = resolve('test/interop/corpus/zones');
/** The path `npm test` did not run these files on: `auto` keeps node for worker processes. */
const other = 'native';
/** The suites that exercise the UDP transport through real `serve` processes. */
const FILES = [
  'dist/test/e2e/serve.test.js',
  'dist/test/interop/survival.test.js',
  'dist/test/interop/differential.test.js',
];

describe('--io end to end', { skip: nativeMissing }, () => {
  test('--io native with two workers: the log line says so, and both answer', async (t) => {
    const sb = await startSwitchboard(zoneDir, { workers: 2, io: 'native' });
    t.after(() => sb.stop());
    // Many source ports: SO_REUSEPORT spreads them over both workers' sockets.
    for (let i = 0; i < 20; i++) {
      const r = await queryUdp(buildQuery({ name: 'www.example.', type: 1, id: i }), {
        port: sb.port,
        timeoutMs: 2000,
        retries: 2,
      });
      assert.equal(readHeader(r).rcode, 0);
    }
    await waitForText('the primary', sb.output, /UDP path: native \(.*--io native\)/);
    // Both workers reported serving (the primary logs it once their start-up is over): only then
    // does one line say that no worker logged its own.
    await waitForText('worker 0 serving', sb.output, /worker 0: /);
    await waitForText('worker 1 serving', sb.output, /worker 1: /);
    assert.equal(sb.output().match(/UDP path:/g)?.length, 1, 'one log line, from the primary');
  });

  test('--io node: the dgram path, said once', async (t) => {
    const sb = await startSwitchboard(zoneDir, { workers: 1, io: 'node' });
    t.after(() => sb.stop());
    const r = await queryUdp(buildQuery({ name: 'www.example.', type: 1, id: 9 }), { port: sb.port });
    assert.equal(readHeader(r).id, 9);
    await waitForText('the primary', sb.output, /UDP path: node \(dgram; --io node\)/);
  });

  test('a bad --io is refused with a message naming the flag', () => {
    const r = spawnSync(
      process.execPath,
      [switchboardBin(), 'serve', '--zone-dir', zoneDir, '--listen', '127.0.0.1:0', '--io', 'fast'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--io must be native, node or auto, got 'fast'/);
  });
});

describe(`the UDP suites again on the ${other} path`, { skip: nativeMissing, timeout: 600_000 }, () => {
  test(`SWITCHBOARD_IO=${other}: ${FILES.join(', ')}`, async (t) => {
    // A nested node --test must not think it runs inside this one (it would skip every file).
    const env: NodeJS.ProcessEnv = { ...process.env, SWITCHBOARD_IO: other };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(
      process.execPath,
      ['--test', '--test-concurrency=1', '--test-reporter=tap', ...FILES],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-200_000);
    });
    child.stderr.on('data', (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-200_000);
    });
    const code = await new Promise<number>((done) => child.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
    const summary = out
      .split('\n')
      .filter((l) => /^# (tests|pass|fail|skipped)/.test(l))
      .join(', ');
    t.diagnostic(summary);
    assert.equal(code, 0, `the suites failed on the ${other} path:\n${out.slice(-20_000)}`);
    assert.match(out, /^# fail 0$/m);
  });
});

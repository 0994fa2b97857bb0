/**
 * `switchboard drill` on the command line: targets off loopback and missing hard stops are one
 * line on stderr naming the option (exit 1), nothing sent; --write-zones writes the zone set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findFreePort, switchboardBin } from '../helpers/peers.js';
import { runCli } from '../helpers/platform.js';
import { isAlive, listDescendants } from '../helpers/procs.js';

test('drill refuses a target off loopback, and refuses to run without both hard stops', async () => {
  const stops = ['--max-seconds', '5', '--max-packets', '100'];
  for (const [args, re] of [
    [['--target', '8.8.8.8:53', ...stops], /--target: 8\.8\.8\.8 is not loopback/],
    [['--target', '[2001:db8::1]:53', ...stops], /--target: .* is not loopback/],
    [['--target', 'example.com:53', ...stops], /--target: 'example\.com' is not an IP address/],
    [['--target', '127.0.0.1:53', '--max-seconds', '5'], /--max-packets: required/],
    [['--target', '127.0.0.1:53', '--max-packets', '5'], /--max-seconds: required/],
    [['--target', '127.0.0.1:53', '--max-seconds', '99999', '--max-packets', '5'], /--max-seconds/],
    [['--target', '127.0.0.1:53', ...stops, '--resolvers', '0'], /--resolvers/],
    [['--target', '127.0.0.1:53', ...stops, '--scenario', '/nonexistent.json'], /--scenario/],
    [['--max-seconds', '5', '--max-packets', '5'], /--target: required/],
    [
      ['--target', '127.0.0.1:53', ...stops, '--target-metrics', 'http://10.0.0.1:9100/metrics'],
      /--target-metrics: an http:\/\/ URL on 127\.0\.0\.0\/8/,
    ],
    [['--target', '127.0.0.1:53', ...stops, '--gso', '65'], /--gso/],
    [['--target', '127.0.0.1:53', ...stops, '--rotate-24s', '64257'], /--rotate-24s/],
    [['--target', '[::1]:53', ...stops, '--rotate-24s', '5000'], /--rotate-24s: IPv4 targets only/],
    [
      ['--target', '127.0.0.1:53', ...stops, '--rotate-24s', '5000', '--io', 'node'],
      /--rotate-24s: needs the native/,
    ],
  ] as const) {
    const r = await runCli(['drill', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

test('drill --write-zones writes one zone file per zone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-drill-cli-'));
  try {
    const r = await runCli(['drill', '--write-zones', dir, '--zones', '3', '--names', '10']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(dir).sort(), ['z0.drill.zone', 'z1.drill.zone', 'z2.drill.zone']);
    const check = await runCli(['check-zone', join(dir, 'z1.drill.zone')]);
    assert.equal(check.code, 0, check.err + check.out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the attack senders stop by themselves when the drill is killed', async () => {
  const port = await findFreePort(); // nothing listens: the datagrams go nowhere
  const child = spawn(
    process.execPath,
    [
      switchboardBin(),
      'drill',
      '--target',
      `127.0.0.1:${port}`,
      '--max-seconds',
      '60',
      '--max-packets',
      '1000000',
      '--scenario',
      'dyn-2016',
      '--capacity',
      '1000',
      '--resolvers',
      '10',
      '--senders',
      '2',
      '--no-progress',
    ],
    { stdio: 'ignore' },
  );
  try {
    let senders: number[] = [];
    for (let i = 0; i < 100 && senders.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      senders = listDescendants(child.pid!);
    }
    assert.equal(senders.length, 2, 'two sender processes');
    child.kill('SIGKILL');
    for (let i = 0; i < 50 && senders.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(senders.filter(isAlive), [], 'no sender outlives the drill');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/** The `serve` command line as read before commander loads (serve-argv.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { earlyServeOptions, sameEarlyOptions } from './serve-argv.js';

const line = (...args: string[]) => ['node', 'main.js', ...args];

test('serve options read before commander: the three the early load looks at', () => {
  assert.deepEqual(
    earlyServeOptions(line('serve', '--zone-dir', 'z', '--listen', '127.0.0.1:53', '--workers', '2')),
    { zoneDir: 'z', workers: '2' },
  );
  assert.deepEqual(earlyServeOptions(line('serve', '--zone-dir=z', '--images=off', '--hide-version')), {
    zoneDir: 'z',
    images: 'off',
  });
  // The last of a repeated option, as commander keeps it.
  assert.deepEqual(earlyServeOptions(line('serve', '--zone-dir', 'a', '--zone-dir', 'b')), { zoneDir: 'b' });
  assert.deepEqual(earlyServeOptions(line('serve')), {});
});

test('anything this reader is not sure of is left to commander', () => {
  for (const args of [
    ['start', '--zone-dir', 'z'],
    ['--zone-dir', 'z', 'serve'],
    ['serve', '--native-answers', '--zone-dir', 'z'],
    ['serve', '--native-answers=on', '--zone-dir', 'z'],
    ['serve', '--zone-dir', 'z', '--help'],
    ['serve', '--zone-dir'],
    ['serve', '--zone-dir', '--workers', '2'],
    ['serve', '-h'],
    ['serve', 'positional', '--zone-dir', 'z'],
    ['serve', '--', '--zone-dir', 'z'],
    ['serve', '--hide-version=1', '--zone-dir', 'z'],
  ])
    assert.equal(earlyServeOptions(line(...args)), undefined, args.join(' '));
});

test('sameEarlyOptions compares what the early load sees', () => {
  assert.ok(sameEarlyOptions({ zoneDir: 'z', workers: '2' }, { zoneDir: 'z', workers: '2' }));
  assert.ok(sameEarlyOptions({ zoneDir: 'z' }, { zoneDir: 'z' }));
  assert.ok(!sameEarlyOptions({ zoneDir: 'z' }, { zoneDir: 'z', images: 'off' }));
  assert.ok(!sameEarlyOptions({ zoneDir: 'a' }, { zoneDir: 'b' }));
});

/**
 * own22: an idle worker's clock (native/udp.c on_idle_clock). A /24 blocked in the kernel, then no
 * datagram at all: the block still ends on time (30-33.75 s for a first block), the server logs the
 * set emptied, and the socket's program is rebuilt without it — a query from that /24 is answered.
 * Before the idle clock the shield's clock ran only with a batch read, so the block stood (and its
 * program dropped the /24's datagrams, which could not start the clock: only the renewal's 1 in 256
 * sample passed) until some other datagram arrived.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildQuery } from '../helpers/dns-client.js';
import { startSwitchboard } from '../helpers/peers.js';
import { nativeShieldSkip, SHIELD_ZONE } from '../helpers/shield-zone.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitForText } from '../helpers/wait-for.js';

const skip = nativeShieldSkip();
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-idle-clock-'));
  writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a blocked /24 is let go at its end with no datagram arriving (the idle clock), and answered again', {
  skip,
  timeout: 90_000,
}, async () => {
  const peer = await startSwitchboard(dir, {
    workers: 0,
    io: 'native',
    args: ['--native-answers', '--shield', 'on', '--rrl', 'responses=5,window=1,slip=0'],
  });
  try {
    await waitForText('the shield line', () => peer.output(), /a BPF filter on the socket drops IPv4 \/24s/);
    // RRL drops the bot's surplus: its /24 is blocked in the kernel (as test/e2e/shield.test.ts).
    const bot = await tallyClient('127.0.99.1');
    for (let i = 0; i < 15 && !/kernel prefilter drops 1 IPv4 \/24 /.test(peer.output()); i++) {
      for (let j = 0; j < 100; j++)
        bot.send(buildQuery({ id: (i * 100 + j) & 0xffff, name: 'www.example.', type: 1 }), peer.port);
      await settle(100);
    }
    await waitForText('the block', () => peer.output(), /shield: the kernel prefilter drops 1 IPv4 \/24 /);
    const blockedAt = Date.now();
    bot.close();
    // Nothing is sent from here on. The block lasts 30-33.75 s; its sample shows no traffic, so it
    // is released at its end — by the idle clock, the only clock running now.
    const released = await waitForText(
      'the block released',
      () => peer.output(),
      /shield: the kernel prefilter drops 0 IPv4 \/24s \(was 1/,
      45_000,
    );
    const after = (Date.now() - blockedAt) / 1000;
    assert.ok(after >= 27 && after <= 40, `released ${after.toFixed(1)} s after the block: ${released}`);
    // The socket's program was rebuilt without the /24: its datagrams reach the worker again.
    const back = await tallyClient('127.0.99.7');
    for (let i = 0; i < 3; i++) back.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
    await back.settled(peer.port);
    assert.equal(back.tally.full, 3, `the /24 answered again: ${JSON.stringify(back.tally)}`);
    back.close();
  } finally {
    await peer.stop();
  }
});

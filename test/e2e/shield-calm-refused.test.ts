/**
 * (tidy25) The calm-time credits refused by hist23's rule (docs/SHIELD.md "What calm means"),
 * counted and scraped: `serve --metrics` with the native shield; a /24 flooding directly is
 * blocked by the kernel prefilter (an attack seen: the rule's 20 s begin); then a new source asks
 * valid names quietly — calm for it (the worker keeps up, its zone is not attacked), yet it earns
 * no history credit, and each of its queries is counted in
 * `switchboard_dns_shield_calm_refused_total`. Before the block nothing is refused (the flooding
 * /24's own calm queries were credited).
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery } from '../helpers/dns-client.js';
import { findFreePort, startSwitchboard } from '../helpers/peers.js';
import { parseExposition, sampleValue } from '../helpers/prometheus.js';
import { nativeShieldSkip, SHIELD_ZONE } from '../helpers/shield-zone.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const skip = nativeShieldSkip();
const METRIC = 'switchboard_dns_shield_calm_refused_total';
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the calm credits refused after an attack, in /metrics', { skip, timeout: 120_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-calm-refused-'));
    writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a /24 blocked, then a new quiet source: its queries counted refused; none before the block', async () => {
    const metricsPort = await findFreePort();
    const peer = await startSwitchboard(dir, {
      workers: 0,
      io: 'native',
      args: [
        '--native-answers',
        'on',
        '--shield',
        'on',
        '--rrl',
        'responses=5,window=1,slip=0',
        '--metrics',
        `127.0.0.1:${metricsPort}`,
      ],
    });
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    const refused = async () => {
      const text = await (await fetch(url)).text();
      const v = sampleValue(parseExposition(text), METRIC, {});
      assert.ok(v !== undefined, `${METRIC} exposed`);
      return v;
    };
    try {
      await waitForText('the metrics line', () => peer.output(), /metrics: http:\/\/127\.0\.0\.1/, 5000);
      // Calm: a source asks valid names; nothing refused (the report comes once a second).
      const early = await tallyClient('127.0.96.5');
      for (let i = 0; i < 3; i++) {
        early.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
        await settle(100);
      }
      await early.settled(peer.port);
      early.close();
      await settle(1500);
      assert.equal(await refused(), 0, 'nothing refused in calm');
      // A /24 flooding directly, rate limited until the kernel prefilter blocks it.
      const bot = await tallyClient('127.0.99.1');
      for (let i = 0; i < 15; i++) {
        for (let j = 0; j < 100; j++)
          bot.send(buildQuery({ id: (i * 100 + j) & 0xffff, name: 'www.example.', type: 1 }), peer.port);
        await settle(100);
      }
      await waitForText(
        'the block',
        () => peer.output(),
        /shield: the kernel prefilter drops 1 IPv4 \/24 /,
        5000,
      );
      bot.close();
      const base = await refused();
      // A new source, quiet: five valid names a few hundred ms apart, all answered.
      const quiet = await tallyClient('127.0.97.5');
      for (let i = 0; i < 5; i++) {
        quiet.send(buildQuery({ id: 100 + i, name: 'www.example.', type: 1 }), peer.port);
        await settle(200);
      }
      await quiet.settled(peer.port);
      assert.equal(quiet.tally.full, 5, `the quiet source answered: ${JSON.stringify(quiet.tally)}`);
      quiet.close();
      let now = base;
      await waitFor(
        `${METRIC} up by the quiet source's 5 queries`,
        async () => {
          now = await refused();
          return now >= base + 5;
        },
        10_000,
      );
      assert.ok(now >= base + 5, `${METRIC}: ${base} -> ${now}`);
    } finally {
      await peer.stop();
    }
  });
});

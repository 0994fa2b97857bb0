/**
 * `serve --secondary` taking IXFR from Knot's journal (docs/TRANSFERS.md "How a secondary zone's
 * IXFR difference is applied"): a change reloaded into Knot is NOTIFYed to serve, which asks
 * IXFR, gets the difference and applies it to its copy in `--secondary-dir` by start's rule
 * (secondary-refresher.ts `patchZoneText`, control/transfer-diff.ts): the log says an incremental
 * IXFR, the copy holds Knot's records after, and serve answers them. (BIND 9 as the primary:
 * test/e2e/serve-secondary.test.ts.)
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { recordLine } from '../../src/xfr/secondary/ixfr-in.js';
import { parseZoneText } from '../../src/zone/parser.js';
import { answerText } from '../helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  knotJournalPrimaryConf,
  launch,
  type Peer,
  skipUnlessCommands,
  startSwitchboard,
} from '../helpers/peers.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';
import { writeSmallZone } from '../helpers/zone-files.js';

const skip = skipUnlessCommands('knotd', 'knotc');
const SECRET = Buffer.from('serve-secondary-ixfr-knot-secret-01').toString('base64');
const ZONE = 'sixfr.test.';

const zoneText = (serial: number, extra: string[]) =>
  [
    `$ORIGIN ${ZONE}`,
    '$TTL 300',
    `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
    '@ NS ns1',
    'ns1 A 127.0.0.1',
    ...extra,
    '',
  ].join('\n');

/** A zone text's records as sorted, lower-cased master-file lines. */
const linesOf = (text: string) =>
  parseZoneText(text, { origin: ZONE })
    .map(recordLine)
    .map((l) => l.toLowerCase())
    .sort();

describe("serve --secondary takes IXFR from Knot's journal", { skip }, () => {
  const peers: Peer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sb-serve-ixfr-'));
  after(async () => {
    for (const p of peers) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two changes, each an incremental IXFR applied to the copy; answered as Knot', async () => {
    const zoneDir = join(dir, 'zones');
    const stateDir = join(dir, 'state');
    const knotDir = join(dir, 'knot');
    for (const d of [zoneDir, knotDir]) mkdirSync(d, { recursive: true });
    writeSmallZone(join(zoneDir, 'static.test.zone'), 'static.test.', 1, '192.0.2.1');
    const zoneFile = join(knotDir, 'z.zone');
    const v1 = ['www A 192.0.2.10', 'www A 192.0.2.11', 'txt TXT "one"'];
    writeFileSync(zoneFile, zoneText(1, v1));
    const knotPort = await findFreePort();
    const servePort = await findFreePort();
    const conf = join(knotDir, 'knot.conf');
    writeFileSync(
      conf,
      knotJournalPrimaryConf(
        knotDir,
        `127.0.0.1@${knotPort}`,
        { domain: ZONE, file: zoneFile },
        { id: 'xk', secret: SECRET },
        `127.0.0.1@${servePort}`,
      ),
    );
    peers.push(
      await launch(
        'knot',
        [findCommand('knotd') ?? 'knotd', '-c', conf],
        knotDir,
        '127.0.0.1',
        knotPort,
        ZONE,
        {},
      ),
    );
    const serve = await startSwitchboard(zoneDir, {
      port: servePort,
      workers: 1,
      args: [
        '--secondary',
        `${ZONE}=127.0.0.1:${knotPort}/xk:hmac-sha256:${SECRET}`,
        '--secondary-dir',
        stateDir,
      ],
    });
    peers.push(serve);
    await waitFor(
      'the first transfer',
      async () => (await answerText(servePort, `txt.${ZONE}`, RRType.TXT)) === '0 300 "one"',
      15_000,
    );

    const changes: [number, string[], string][] = [
      // One A of two replaced, the TXT removed, a name added.
      [2, ['www A 192.0.2.10', 'www A 192.0.2.12', 'new AAAA 2001:db8::1'], '1 → 2'],
      // The whole A RRset's TTL changed (every record removed and added again).
      [3, ['www 60 A 192.0.2.10', 'www 60 A 192.0.2.12', 'new AAAA 2001:db8::1'], '2 → 3'],
    ];
    for (const [serial, records, step] of changes) {
      writeFileSync(zoneFile, zoneText(serial, records));
      execFileSync('knotc', ['-c', conf, 'zone-reload', ZONE], { timeout: 10_000 });
      await waitForText(
        'serve',
        serve.output,
        new RegExp(
          `secondary zone sixfr\\.test\\.: IXFR from 127\\.0\\.0\\.1:\\d+: serial ${step}, 1 differences`,
        ),
        15_000,
      );
      // The copy is Knot's zone after the change, record for record.
      await waitFor(
        `the copy at serial ${serial}`,
        async () => {
          const copy = readFileSync(join(stateDir, `${ZONE}zone`), 'latin1');
          return JSON.stringify(linesOf(copy)) === JSON.stringify(linesOf(zoneText(serial, records)));
        },
        10_000,
      );
      await waitFor(
        `serial ${serial} served`,
        async () => (await answerText(servePort, ZONE, RRType.SOA)).includes(` ${serial} 3600 `),
        10_000,
      );
    }
    assert.equal(await answerText(servePort, `www.${ZONE}`, RRType.A), '0 60 192.0.2.10 | 60 192.0.2.12');
    assert.equal(await answerText(servePort, `new.${ZONE}`, RRType.AAAA), '0 300 2001:db8::1');
    assert.match(await answerText(servePort, `txt.${ZONE}`, RRType.TXT), /^3 /);
    assert.doesNotMatch(serve.output(), /sixfr\.test\.: IXFR from .*not stored/);
  });
});

/**
 * `serve --images on --secondary`: a worker accepts its masters' NOTIFYs from its first datagram.
 * The secondaries start once every worker serves; the list of secondary zones they sent the
 * workers came after the workers bound, and a NOTIFY in between (the moments after the start
 * line) was not accepted. NOTIFYs are sent from the master's address from before the server
 * starts; every answer must accept them (NOERROR).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { blastUdp, buildQuery } from '../helpers/dns-client.js';
import { findFreePort, type Peer, startSwitchboard } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait-for.js';

const ORIGIN = 'notify-start.test.';
const OPCODE_NOTIFY = 4;

describe('serve --images on --secondary: NOTIFYs accepted from the first answer', () => {
  test('every NOTIFY answered from the start is accepted (NOERROR)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-notify-start-'));
    const zoneDir = join(dir, 'zones');
    mkdirSync(zoneDir);
    writeFileSync(
      join(zoneDir, 'example.zone'),
      'example. 300 IN SOA ns1.example. h.example. 1 3600 600 86400 300\nexample. 300 IN NS ns1.example.\nns1.example. 300 IN A 192.0.2.1\n',
    );
    // The master: a port nothing answers on (its refreshes fail; only the NOTIFY check matters).
    const masterPort = await findFreePort();
    const port = await findFreePort();
    const q = buildQuery({ id: 5, name: ORIGIN, type: 6 });
    q[2] = (OPCODE_NOTIFY << 3) | 0x04;
    const rcodes: number[] = [];
    const blast = await blastUdp({
      port,
      query: q,
      sources: 4,
      address: () => '127.0.0.1',
      onReply: (m) => rcodes.push(m[3] & 0x0f),
      maxMs: 60_000,
    });
    let peer: Peer | undefined;
    try {
      peer = await startSwitchboard(zoneDir, {
        port,
        workers: 2,
        io: 'native',
        firstOrigin: 'example.',
        args: [
          '--images',
          'on',
          '--secondary',
          `${ORIGIN}=127.0.0.1:${masterPort}`,
          '--secondary-dir',
          join(dir, 'state'),
        ],
      });
      const p = peer;
      await waitFor(
        'answers after the start',
        async () => rcodes.length > 400 && /serving/.test(p.output()),
        30_000,
      );
    } finally {
      blast.stop();
      await peer?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const refused = rcodes.filter((rc) => rc !== 0);
    assert.ok(rcodes.length > 400, `answered ${rcodes.length}`);
    assert.equal(
      refused.length,
      0,
      `${refused.length} of ${rcodes.length} NOTIFYs not accepted (rcodes ${[...new Set(refused)].join(', ')})`,
    );
  });
});

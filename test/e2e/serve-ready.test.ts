/**
 * (tidy25) `serve --workers 2` is ready when every worker's UDP and TCP listeners accept: each
 * worker says ready only once `openListeners` has both (UDP bound, TCP listening — since tcpl24
 * accepted from in C), and the primary prints its start line once every worker did. A TCP query
 * sent the moment the start line appears is answered (no ECONNREFUSED) — twenty starts, on the
 * native path with the native shield and images (C accepts and answers) and on the Node path.
 * And the test helper's start (`startSwitchboard` of test/helpers/peers.ts), which waited for a
 * UDP answer only (the first worker's, while its TCP listener or the other worker could still be
 * opening: the race worker-fault's SIGTERM case met under the full suite), now waits for the start
 * line too: a TCP query right after it is answered, twenty times.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery, queryTcp, readHeader } from '../helpers/dns-client.js';
import { findFreePort, startSwitchboard as startPeer } from '../helpers/peers.js';
import { nativeShieldSkip, SHIELD_ZONE_WITH_BIG_TXT } from '../helpers/shield-zone.js';
import { startSwitchboard } from './support.js';

const skip = nativeShieldSkip();
const START = /switchboard: serving .* \(udp\+tcp\)/;
const ROUNDS = 20;
const NATIVE = ['--io', 'native', '--images', 'on', '--shield', 'on', '--native-answers', 'on'];

/** One TCP query for www.example. A, no retry: its answer's RCODE (throws on a refused connection). */
async function askTcp(port: number, id: number): Promise<number> {
  const r = await queryTcp(buildQuery({ id, name: 'www.example.', type: 1 }), { port, timeoutMs: 5000 });
  assert.equal(readHeader(r).id, id);
  return readHeader(r).rcode;
}

describe('serve --workers 2: TCP answers from the start line on', { skip, timeout: 300_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-ready-'));
    writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE_WITH_BIG_TXT);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test(`a TCP query the moment the start line appears is answered (${ROUNDS} starts)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const port = await findFreePort();
      const args = ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2'];
      if (i % 2 === 0) args.push(...NATIVE);
      const s = await startSwitchboard('serve', args, START, 60_000);
      try {
        assert.ok(s.startLine !== '', `start ${i}: no start line\n${s.stderr()}`);
        assert.equal(await askTcp(port, 1000 + i), 0, `start ${i}: NOERROR over TCP`);
      } finally {
        await s.stop();
      }
    }
  });

  test(`the test helper's start waits for it: a TCP query right after is answered (${ROUNDS} starts)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const peer = await startPeer(dir, {
        workers: 2,
        args: i % 2 === 0 ? NATIVE.slice(2) : [],
        io: i % 2 === 0 ? 'native' : undefined,
      });
      try {
        assert.match(peer.output(), START);
        assert.equal(await askTcp(peer.port, 2000 + i), 0, `start ${i}: NOERROR over TCP`);
      } finally {
        await peer.stop();
      }
    }
  });
});

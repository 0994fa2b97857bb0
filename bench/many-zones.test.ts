import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadZoneFile } from '../src/zone/load.js';
import { findFreePort } from '../test/helpers/peers.js';
import { manyZoneOrigin, probeSample, timeAllAnswered, writeManyZones } from './many-zones.js';

/** The QNAME of a query, dotted. */
function qname(q: Buffer): string {
  const labels: string[] = [];
  for (let at = 12; at < q.length && q[at] !== 0; at += q[at] + 1)
    labels.push(q.subarray(at + 1, at + 1 + q[at]).toString('latin1'));
  return `${labels.join('.')}.`;
}

/** A responder on 127.0.0.1:port answering each query with its own octets, QR and AA set (or REFUSED); records the names asked. */
function responder(port: number, refuse: boolean, asked: string[]): Promise<Socket> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.on('message', (q, from) => {
      asked.push(qname(q));
      const a = Buffer.from(q);
      a[2] |= 0x84;
      a[3] = refuse ? 5 : 0;
      sock.send(a, from.port, from.address);
    });
    sock.bind(port, '127.0.0.1', () => resolve(sock));
  });
}

describe('many-zones suite helpers', () => {
  test('zone names are zero-padded so file order is zone order', () => {
    assert.equal(manyZoneOrigin(0, 100_000), 'z00000.many.test.');
    assert.equal(manyZoneOrigin(99_999, 100_000), 'z99999.many.test.');
    assert.equal(manyZoneOrigin(7, 10), 'z7.many.test.');
    const names = Array.from({ length: 1000 }, (_, i) => manyZoneOrigin(i, 1000));
    assert.deepEqual([...names].sort(), names);
  });

  test('every zone file holds 10 records that Switchboard loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-many-test-'));
    try {
      const origins = writeManyZones(dir, 12);
      assert.equal(origins.length, 12);
      assert.equal(readdirSync(dir).length, 12);
      for (const origin of [origins[0], origins[11]]) {
        const loaded = loadZoneFile(join(dir, `${origin.slice(0, -1)}.zone`), { origin });
        assert.equal(loaded.zone.recordCount, 10, origin);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the start probe: asks the last zone alone until it answers, then the rest; resolves once all have NOERROR+AA', async (t) => {
    const port = await findFreePort('127.0.0.1');
    const names = ['a.test.', 'b.test.', 'c.test.'];
    const asked: string[] = [];
    const t0 = performance.now();
    const done = timeAllAnswered('127.0.0.1', port, names, t0 + 30_000);
    // Nothing listens yet (the server before its workers bind): the probe keeps asking.
    await new Promise((r) => setTimeout(r, 100));
    const boundAt = performance.now();
    const sock = await responder(port, false, asked);
    t.after(() => sock.close());
    const at = await done;
    assert.ok(at >= boundAt);
    assert.equal(asked[0], 'c.test.');
    assert.deepEqual([...new Set(asked)].sort(), names);
  });

  test('the start probe gives up at its deadline when answers are not NOERROR+AA', async (t) => {
    const port = await findFreePort('127.0.0.1');
    const asked: string[] = [];
    const sock = await responder(port, true, asked);
    t.after(() => sock.close());
    await assert.rejects(
      timeAllAnswered('127.0.0.1', port, ['a.test.'], performance.now() + 200),
      /1 zones still not answering, e\.g\. a\.test\./,
    );
    assert.ok(asked.length > 1, 'asked again');
  });

  test('the probe sample spans the zones and includes the last 20', () => {
    const s = probeSample(100_000);
    assert.equal(s[0], 0);
    assert.equal(s.at(-1), 99_999);
    for (let i = 99_980; i < 100_000; i++) assert.ok(s.includes(i), `zone ${i} probed`);
    assert.ok(s.length >= 100 && s.length <= 121);
    assert.equal(new Set(s).size, s.length);
    assert.deepEqual(probeSample(3), [0, 1, 2]);
  });
});

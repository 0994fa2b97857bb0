/**
 * DNS UPDATE on the wire (update.ts) over a real control plane (SQLite in a temporary
 * folder): a signed update applied, the RFC 2136 RCODEs of a malformed message, the zone not
 * here, a bad signature, the in-flight bound; and thousands of hostile mutations of a valid
 * UPDATE, none of which may throw or change anything but what a valid update changes.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { openControlPlane } from '../control/index.js';
import type { ControlPlane, Principal } from '../control/types.js';
import { Opcode, Rcode, RRType } from '../wire/constants.js';
import { encodeMessage } from '../wire/encode.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { makeTsigKey, signTsigRequest, type TsigKey } from './tsig.js';
import { UpdateHandler } from './update.js';

const ZONE = Name.parse('upd.test.');
const A = (text: string) => Uint8Array.from(text.split('.').map(Number));

function update(
  id: number,
  prereqs: RR[],
  updates: RR[],
  zone = ZONE,
  ztype: number = RRType.SOA,
): Uint8Array {
  return encodeMessage({
    id,
    flags: Opcode.UPDATE << 11,
    questions: [{ name: zone, type: ztype, class: 1 }],
    answers: prereqs,
    authority: updates,
    additional: [],
  });
}

function rr(name: string, cls: number, type: number, ttl: number, rdata = new Uint8Array(0)): RR {
  return { name: Name.parse(name), class: cls, type, ttl, rdata };
}

function rcodeOf(answer: Uint8Array | null): number {
  assert.ok(answer !== null && answer.length >= 12);
  assert.equal(answer[2] & 0x80, 0x80, 'QR set');
  assert.equal((answer[2] >> 3) & 0xf, Opcode.UPDATE);
  return answer[3] & 0xf;
}

describe('UpdateHandler over a real control plane', () => {
  let dir: string;
  let cp: ControlPlane;
  let key: TsigKey;
  let other: TsigKey;
  let tenant: Principal;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-update-'));
    cp = await openControlPlane({ dataDir: dir });
    const admin = cp.systemPrincipal();
    const acc = await cp.createAccount(admin, { name: 'tenant' });
    tenant = { tokenId: 'test', accountId: acc.id, scope: { admin: false, access: 'write' } };
    const k = await cp.createTsigKey(tenant, { name: 'upd', algorithm: 'hmac-sha256' });
    key = makeTsigKey('upd', 'hmac-sha256', k.key as string);
    other = makeTsigKey(
      'upd',
      'hmac-sha256',
      Buffer.from('another secret of the same name').toString('base64'),
    );
    await cp.createZone(tenant, {
      name: 'upd.test.',
      nameservers: ['ns1.upd.test.'],
      rrsets: [
        { name: 'ns1.upd.test.', type: 'A', ttl: 300, records: [{ content: '192.0.2.53', disabled: false }] },
      ],
    });
    await cp.setZoneUpdatePolicy(tenant, 'upd.test.', { tsigAllowDnsupdate: ['upd'] });
  });
  after(async () => {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a signed update is applied and answered NOERROR, signed', async () => {
    const h = new UpdateHandler(cp);
    const q = signTsigRequest(update(1, [], [rr('a.upd.test.', 1, RRType.A, 60, A('192.0.2.1'))]), key);
    const answer = await h.handle(q, '127.0.0.1');
    assert.equal(rcodeOf(answer), Rcode.NOERROR);
    // Signed: ARCOUNT 1 (the TSIG).
    assert.equal(((answer as Uint8Array)[10] << 8) | (answer as Uint8Array)[11], 1);
    const text = await cp.exportZone(tenant, 'upd.test.');
    assert.match(text, /a\.upd\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.1/);
  });

  test('RFC 2136 refusals: FORMERR, NOTAUTH, unsigned and bad keys, the in-flight bound', async () => {
    const h = new UpdateHandler(cp);
    const add = [rr('b.upd.test.', 1, RRType.A, 60, A('192.0.2.2'))];
    assert.equal(
      rcodeOf(await h.handle(signTsigRequest(update(2, [], add, ZONE, RRType.A), key), '127.0.0.1')),
      Rcode.FORMERR,
    );
    assert.equal(
      rcodeOf(await h.handle(update(3, [], add, Name.parse('elsewhere.test.')), '127.0.0.1')),
      Rcode.NOTAUTH,
    );
    assert.equal(rcodeOf(await h.handle(update(4, [], add), '127.0.0.1')), Rcode.REFUSED);
    assert.equal(
      rcodeOf(await h.handle(signTsigRequest(update(5, [], add), other), '127.0.0.1')),
      Rcode.NOTAUTH,
    );
    const none = new UpdateHandler(cp, { maxInFlight: 0 });
    assert.equal(
      rcodeOf(await none.handle(signTsigRequest(update(6, [], add), key), '127.0.0.1')),
      Rcode.REFUSED,
    );
    // Not an UPDATE request: no answer from here.
    const query = update(7, [], []);
    query[2] = 0;
    assert.equal(await h.handle(query, '127.0.0.1'), null);
    assert.doesNotMatch(await cp.exportZone(tenant, 'upd.test.'), /b\.upd\.test\./);
  });

  test('one account cannot hold every slot: its updates beyond its bound are REFUSED, another account’s go on', async () => {
    // A control plane whose updates wait until released: the first account's two fill its bound.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = {
      zoneAccountKeys: (zone: string) => cp.zoneAccountKeys(zone),
      dnsUpdate: async (req: Parameters<ControlPlane['dnsUpdate']>[0]) => {
        await gate;
        return cp.dnsUpdate(req);
      },
    };
    const h = new UpdateHandler(slow, { maxInFlightPerAccount: 2 });
    const add = (name: string, id: number) =>
      signTsigRequest(update(id, [], [rr(`${name}.upd.test.`, 1, RRType.A, 60, A('192.0.2.40'))]), key);
    const held = [h.handle(add('p1', 40), '127.0.0.1'), h.handle(add('p2', 41), '127.0.0.1')];
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rcodeOf(await h.handle(add('p3', 42), '127.0.0.1')), Rcode.REFUSED);
    // Another account's zone is not held by the first one's bound.
    const other = await cp.createAccount(cp.systemPrincipal(), { name: 'tenant-two' });
    const two: Principal = {
      tokenId: 'test2',
      accountId: other.id,
      scope: { admin: false, access: 'write' },
    };
    await cp.createZone(two, { name: 'two.test.', nameservers: ['ns1.upd.test.'] });
    await cp.setZoneUpdatePolicy(two, 'two.test.', { allowDnsupdateFrom: ['127.0.0.0/8'] });
    const elsewhere = update(
      43,
      [],
      [rr('x.two.test.', 1, RRType.A, 60, A('192.0.2.41'))],
      Name.parse('two.test.'),
    );
    const pending = h.handle(elsewhere, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    release();
    for (const r of held) assert.equal(rcodeOf(await r), Rcode.NOERROR);
    assert.equal(rcodeOf(await pending), Rcode.NOERROR);
    assert.equal(h.inFlight, 0);
  });

  test('a signed update sent again (replay or retransmission) is not applied again: the first answer, this ID', async () => {
    const h = new UpdateHandler(cp);
    // "c does not exist, then add it": applied once.
    const first = signTsigRequest(
      update(
        20,
        [rr('c.upd.test.', 254, RRType.ANY, 0)],
        [rr('c.upd.test.', 1, RRType.A, 60, A('192.0.2.3'))],
      ),
      key,
    );
    assert.equal(rcodeOf(await h.handle(first, '127.0.0.1')), Rcode.NOERROR);
    // Then removed by another update.
    const remove = signTsigRequest(update(21, [], [rr('c.upd.test.', 255, RRType.ANY, 0)]), key);
    assert.equal(rcodeOf(await h.handle(remove, '127.0.0.1')), Rcode.NOERROR);
    assert.doesNotMatch(await cp.exportZone(tenant, 'upd.test.'), /c\.upd\.test\./);
    // The first message again (within its fudge), under another header ID: the answer it had,
    // nothing applied.
    const replay = Uint8Array.from(first);
    replay[0] = 0x12;
    replay[1] = 0x34;
    const again = (await h.handle(replay, '127.0.0.9')) as Uint8Array;
    assert.equal(rcodeOf(again), Rcode.NOERROR);
    assert.equal((again[0] << 8) | again[1], 0x1234);
    assert.equal(h.replays, 1);
    assert.doesNotMatch(await cp.exportZone(tenant, 'upd.test.'), /c\.upd\.test\./);
  });

  test('the memory of signed updates is bounded: one forgotten early makes older times BADTIME, never a second apply', async () => {
    const h = new UpdateHandler(cp, { remembered: 1 });
    const now = Math.floor(Date.now() / 1000);
    const add = (name: string, id: number, at: number) =>
      signTsigRequest(
        update(id, [], [rr(`${name}.upd.test.`, 1, RRType.TXT, 60, Uint8Array.from([1, 120]))]),
        key,
        at,
      );
    const older = add('m1', 30, now - 10);
    assert.equal(rcodeOf(await h.handle(older, '127.0.0.1')), Rcode.NOERROR);
    assert.equal(rcodeOf(await h.handle(add('m2', 31, now - 5), '127.0.0.1')), Rcode.NOERROR);
    // m1 was forgotten to make room: its replay, signed at or before its time, is refused.
    const replay = (await h.handle(older, '127.0.0.1')) as Uint8Array;
    assert.equal(rcodeOf(replay), Rcode.NOTAUTH);
    // A message signed later than that is taken.
    assert.equal(rcodeOf(await h.handle(add('m3', 32, now), '127.0.0.1')), Rcode.NOERROR);
  });

  test('hostile mutations of a valid UPDATE never throw; what is applied is only ever the valid add', async () => {
    const h = new UpdateHandler(cp);
    const rand = seededRandom(2136);
    const int = (n: number) => Math.floor(rand() * n);
    const base = update(
      9,
      [rr('a.upd.test.', 255, RRType.A, 0)],
      [
        rr('c.upd.test.', 1, RRType.A, 60, A('192.0.2.3')),
        rr('a.upd.test.', 254, RRType.A, 0, A('192.0.2.99')),
      ],
    );
    for (let i = 0; i < 1500; i++) {
      let q = Uint8Array.from(base);
      switch (int(5)) {
        case 0:
          q = q.subarray(0, int(q.length));
          break;
        case 1:
          for (let k = 0; k < 1 + int(4); k++) q[int(q.length)] = int(256);
          break;
        case 2:
          q[4 + 2 * int(4)] = int(4);
          q[5 + 2 * int(4)] = int(256);
          break;
        case 3:
          q = Uint8Array.from([...q, ...Array.from({ length: int(40) }, () => int(256))]);
          break;
        default:
          q = Uint8Array.from({ length: int(300) }, () => int(256));
      }
      // Keep it an UPDATE request most of the time, so the parser is what is exercised.
      if (q.length > 3 && rand() < 0.9) q[2] = (q[2] & 0x07) | (Opcode.UPDATE << 3);
      const answer = await h.handle(q, '127.0.0.1');
      if (answer !== null) assert.equal(answer[2] & 0x80, 0x80);
    }
    // Unsigned mutations are refused by the policy: nothing was added by them.
    assert.doesNotMatch(await cp.exportZone(tenant, 'upd.test.'), /c\.upd\.test\./);
  });

  test('a key renamed or deleted follows into TSIG-ALLOW-DNSUPDATE', async () => {
    await cp.updateTsigKey(tenant, 'upd', { name: 'upd2' });
    assert.deepEqual((await cp.getZoneUpdatePolicy(tenant, 'upd.test.')).tsigAllowDnsupdate, ['upd2.']);
    await cp.deleteTsigKey(tenant, 'upd2');
    assert.deepEqual(await cp.getZoneUpdatePolicy(tenant, 'upd.test.'), {
      tsigAllowDnsupdate: [],
      allowDnsupdateFrom: [],
    });
  });

  test('a secondary zone is REFUSED: its content comes from its masters', async () => {
    // Nothing is ever sent to the master here: no refresher runs over a bare control plane.
    await cp.createZone(tenant, { name: 'sec.test.', kind: 'Slave', masters: ['198.41.0.4:53'] } as never);
    await cp.setZoneUpdatePolicy(tenant, 'sec.test.', { allowDnsupdateFrom: ['127.0.0.0/8'] });
    const h = new UpdateHandler(cp);
    const q = update(11, [], [rr('a.sec.test.', 1, RRType.A, 60, A('192.0.2.1'))], Name.parse('sec.test.'));
    assert.equal(rcodeOf(await h.handle(q, '127.0.0.1')), Rcode.REFUSED);
  });
});

/**
 * NOTIFY out against real UDP sockets on loopback: the message (opcode NOTIFY, AA, the zone's
 * SOA question, signed when a key is given), retries until an answer with the right ID and
 * opcode, an error RCODE ends it, a newer serial replaces a pending one, the outbound policy at
 * send time, and the per-account rate limit (messages wait for tokens; beyond the queue, dropped).
 * @module
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Opcode, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { Name } from '../wire/name.js';
import { type NotifyDone, type NotifyJob, NotifySender } from './notify.js';
import { OutboundPolicy } from './outbound.js';
import { findTsig, makeTsigKey, verifyTsigRequest } from './tsig.js';

/** Closed after each test, whether it passed or not. */
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A UDP peer on 127.0.0.1 answering with `reply(msg, n)` (undefined: silence). */
async function peer(reply: (m: Buffer, n: number) => Buffer | undefined) {
  const s = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m, r) => {
    got.push(m);
    const out = reply(m, got.length);
    if (out) s.send(out, r.port, r.address);
  });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  let open = true;
  const close = () => {
    if (open) s.close();
    open = false;
  };
  closers.push(close);
  return { port: (s.address() as AddressInfo).port, got, close };
}

/** The response to `m` with `rcode` (and `opcode`, `id` as given). */
function answer(m: Buffer, rcode = 0, opts: { opcode?: number; id?: number } = {}): Buffer {
  const out = Buffer.from(m.subarray(0, 12));
  if (opts.id !== undefined) out.writeUInt16BE(opts.id, 0);
  out[2] = 0x80 | ((opts.opcode ?? Opcode.NOTIFY) << 3) | 0x04;
  out[3] = rcode;
  out.writeUInt16BE(0, 4);
  out.writeUInt16BE(0, 10);
  return out;
}

const policy = new OutboundPolicy(['127.0.0.0/8']);
const zone = Name.parse('n.test.');

function sender(done: NotifyDone[], opts: Partial<ConstructorParameters<typeof NotifySender>[0]> = {}) {
  const s = new NotifySender({ policy, timeoutMs: 50, onDone: (e) => done.push(e), ...opts });
  closers.push(() => s.close());
  return s;
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail('not in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const job = (port: number, serial = 7, extra: Partial<NotifyJob> = {}): NotifyJob => ({
  zone,
  serial,
  account: 'acc',
  targets: [{ address: '127.0.0.1', port }],
  ...extra,
});

describe('NOTIFY out', () => {
  test('the message, signed with the zone key; retried past silence and a wrong ID or opcode', async () => {
    const key = makeTsigKey(
      'transfer',
      'hmac-sha256',
      Buffer.from('notify-unit-test-secret!').toString('base64'),
    );
    const p = await peer((m, n) =>
      n === 1
        ? undefined
        : n === 2
          ? answer(m, 0, { id: m.readUInt16BE(0) ^ 1 })
          : n === 3
            ? answer(m, 0, { opcode: 0 })
            : answer(m),
    );
    const done: NotifyDone[] = [];
    const s = sender(done);
    s.notify(job(p.port, 7, { key }));
    await until(() => done.length === 1);
    assert.equal(done[0].outcome, 'acked');
    assert.equal(p.got.length, 4);
    assert.deepEqual(s.stats, { sent: 4, acked: 1, failed: 0, dropped: 0 });
    const msg = decodeMessage(new Uint8Array(p.got[0]));
    assert.equal((msg.flags >> 11) & 0xf, Opcode.NOTIFY);
    assert.ok(msg.flags & 0x0400, 'AA');
    assert.equal(msg.questions[0].type, RRType.SOA);
    assert.equal(msg.questions[0].name.toString(), 'n.test.');
    const tsig = findTsig(p.got[0]);
    assert.ok(tsig && tsig !== 'malformed');
    assert.ok(verifyTsigRequest(new Uint8Array(p.got[0]), tsig, () => key).ok);
    s.close();
    p.close();
  });

  test('no answer: 5 sends, then failed; an error RCODE ends it at once', async () => {
    const silent = await peer(() => undefined);
    const refusing = await peer((m) => answer(m, 5));
    const done: NotifyDone[] = [];
    const s = sender(done, { timeoutMs: 10 });
    s.notify(job(silent.port));
    // A long wait: the REFUSED answer comes before any retry, however loaded the machine.
    sender(done, { timeoutMs: 5000 }).notify(job(refusing.port));
    await until(() => done.length === 2);
    const bySilent = done.find((d) => d.target.endsWith(`:${silent.port}`));
    assert.equal(bySilent?.outcome, 'failed');
    assert.equal(bySilent?.attempts, 5);
    assert.equal(silent.got.length, 5);
    const byRefusing = done.find((d) => d.target.endsWith(`:${refusing.port}`));
    assert.equal(byRefusing?.outcome, 'failed');
    assert.match(byRefusing?.reason ?? '', /RCODE 5/);
    assert.equal(refusing.got.length, 1);
    s.close();
    silent.close();
    refusing.close();
  });

  test('a newer serial replaces the pending one; the policy is checked at send time', async () => {
    const slow = await peer(() => undefined);
    const done: NotifyDone[] = [];
    const s = sender(done, { timeoutMs: 1000 });
    s.notify(job(slow.port, 1));
    s.notify(job(slow.port, 2));
    assert.equal(s.pending, 1);
    s.close();
    slow.close();
    const strict = sender(done, { policy: new OutboundPolicy([]) });
    strict.notify(job(53));
    await until(() => done.length === 1);
    assert.equal(done[0].outcome, 'refused-target');
    assert.match(done[0].reason ?? '', /loopback/);
    assert.equal(strict.stats.sent, 0);
    strict.close();
  });

  test("an account's rate: messages wait for tokens, beyond the queue they are dropped", async () => {
    const p = await peer((m) => answer(m));
    const done: NotifyDone[] = [];
    const s = sender(done, { accountRate: 2, maxPendingPerAccount: 3 });
    const zones = ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => Name.parse(`${l}.n.test.`));
    for (const z of zones) s.notify({ ...job(p.port), zone: z });
    // 2 at once (the bucket's burst), 3 queued, 1 dropped.
    assert.equal(s.stats.dropped, 1);
    assert.equal(s.stats.sent, 2);
    await until(() => done.filter((d) => d.outcome === 'acked').length === 5, 5000);
    assert.equal(p.got.length, 5);
    s.close();
    p.close();
  });
});

test('notifyMessage: the serial as a hint in the answer section when asked (RFC 1996 §3.7)', async () => {
  const { notifyMessage } = await import('./notify.js');
  const { readSoa } = await import('../wire/rdata.js');
  const plain = decodeMessage(notifyMessage(7, Name.parse('hint.test.')));
  assert.equal(plain.answers.length, 0);
  const hinted = decodeMessage(notifyMessage(7, Name.parse('hint.test.'), 4_000_000_001));
  assert.equal(hinted.answers.length, 1);
  assert.equal(hinted.answers[0].type, RRType.SOA);
  assert.equal(hinted.answers[0].name.toString(), 'hint.test.');
  assert.equal(readSoa(hinted.answers[0].rdata).serial, 4_000_000_001);
});

/**
 * When `start` sends NOTIFY: a new version once every worker taking updates applied it (a
 * staggered update's later worker included), a worker gone no longer waited for, the same
 * serial never twice (a moved image), deleted zones and snapshots never; the targets and the
 * key (the first of `master_tsig_key_ids`) from the transfer settings; the API's request at once.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NotifyJob, NotifySender } from '../../xfr/notify.js';
import type { TransferZonesMessage } from '../shared/transfers.js';
import { NotifyOut } from './notify-out.js';
import type { ZonePush, ZonesMessage } from './protocol.js';

const SECRET = Buffer.from('notify-out-unit-test-secret').toString('base64');
const settings: TransferZonesMessage = {
  type: 'switchboard:transfer-zones',
  zones: [
    {
      zone: 'a.test.',
      keys: [
        { name: 'other.', algorithm: 'hmac-sha256', secret: SECRET },
        { name: 'transfer.', algorithm: 'hmac-sha256', secret: SECRET },
      ],
      allowKeys: ['transfer.'],
      allowFrom: [],
      autoNs: false,
      alsoNotify: ['192.0.2.1:53', '[2001:db8::1]:5300'],
      account: 'acc-a',
    },
    {
      zone: 'b.test.',
      keys: [],
      allowKeys: [],
      allowFrom: [],
      autoNs: false,
      alsoNotify: [],
      account: 'acc-b',
    },
  ],
};

function harness(slots: number[]) {
  const jobs: NotifyJob[] = [];
  const sender = { notify: (j: NotifyJob) => jobs.push(j) } as unknown as NotifySender;
  const out = new NotifyOut(
    sender,
    () => settings,
    () => slots,
    60_000,
  );
  let seq = 0;
  const update = (...zones: ZonePush[]): ZonesMessage => ({
    type: 'switchboard:zones',
    kind: 'update',
    seq: ++seq,
    last: true,
    zones,
  });
  return { jobs, out, update };
}

const push = (name: string, serial: number, extra: Partial<ZonePush> = {}): ZonePush => ({
  name,
  version: serial,
  serial,
  text: 'x',
  ...extra,
});

describe('NotifyOut', () => {
  test('released once every worker applied; targets and the zone key from the settings', () => {
    const { jobs, out, update } = harness([1, 2]);
    const m = update(push('a.test.', 5));
    out.sent(1, m);
    out.applied(1, m.seq);
    assert.equal(jobs.length, 0, 'worker 2 has not got it yet (a staggered update)');
    out.sent(2, m);
    out.applied(2, m.seq);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].zone.toString(), 'a.test.');
    assert.equal(jobs[0].serial, 5);
    assert.equal(jobs[0].account, 'acc-a');
    assert.deepEqual(jobs[0].targets, [
      { address: '192.0.2.1', port: 53 },
      { address: '2001:db8::1', port: 5300 },
    ]);
    assert.equal(jobs[0].key?.name.toString(), 'transfer.');
    out.close();
  });

  test('the same serial never twice; a zone without targets, a deletion, a snapshot: nothing', () => {
    const { jobs, out, update } = harness([1]);
    const m1 = update(push('a.test.', 5));
    out.sent(1, m1);
    out.applied(1, m1.seq);
    const moved = update(push('a.test.', 5, { moved: true }));
    out.sent(1, moved);
    out.applied(1, moved.seq);
    const b = update(push('b.test.', 9));
    out.sent(1, b);
    out.applied(1, b.seq);
    const gone = update(push('a.test.', 5, { text: null }));
    out.sent(1, gone);
    out.applied(1, gone.seq);
    out.sent(1, { ...update(push('a.test.', 6)), kind: 'snapshot' });
    assert.equal(jobs.length, 1);
    out.close();
  });

  test('a worker gone is not waited for; a later version supersedes; the API request goes at once', () => {
    const { jobs, out, update } = harness([1, 2]);
    const m = update(push('a.test.', 5));
    out.sent(1, m);
    out.sent(2, m);
    out.applied(1, m.seq);
    out.gone(2);
    assert.equal(jobs.length, 1);
    const m6 = update(push('a.test.', 6));
    const m7 = update(push('a.test.', 7));
    out.sent(1, m6);
    out.sent(1, m7);
    out.sent(2, m6);
    out.sent(2, m7);
    out.applied(1, m7.seq); // m6 applied too (one ordered channel)
    out.applied(2, m7.seq);
    assert.deepEqual(
      jobs.map((j) => j.serial),
      [5, 7],
    );
    out.request('a.test.', 7);
    assert.equal(jobs.length, 3);
    out.close();
  });
});

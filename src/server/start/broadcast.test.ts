import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZoneBroadcaster } from './broadcast.js';
import type { ZonesMessage } from './protocol.js';

function update(seq: number, chars: number): ZonesMessage {
  return {
    type: 'switchboard:zones',
    kind: 'update',
    seq,
    last: true,
    zones: [{ name: `z${seq}.test.`, version: seq, serial: seq, text: 'x'.repeat(chars) }],
  };
}

/** A target recording (slot, seq) sends; `slots` are the synced workers. */
function recorder(slots: number[]) {
  const sent: string[] = [];
  return {
    sent,
    slots,
    target: {
      slots: () => slots,
      send: (slot: number, msg: ZonesMessage) => {
        if (!slots.includes(slot)) return false;
        sent.push(`${slot}:${msg.seq}`);
        return true;
      },
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ZoneBroadcaster', () => {
  test('small updates go to every worker at once, in order', () => {
    const r = recorder([1, 2]);
    const b = new ZoneBroadcaster(r.target, { staggerChars: 100 });
    b.broadcast(update(1, 10));
    b.broadcast(update(2, 10));
    assert.deepEqual(r.sent, ['1:1', '2:1', '1:2', '2:2']);
  });

  test('a big update goes to one worker at a time; later updates wait behind it', async () => {
    const r = recorder([1, 2]);
    const b = new ZoneBroadcaster(r.target, { staggerChars: 100 });
    b.broadcast(update(1, 500));
    b.broadcast(update(2, 10));
    await tick();
    assert.deepEqual(r.sent, ['1:1'], 'worker 2 keeps answering while worker 1 parses');
    b.applied(2, 1); // not the one waited for
    b.applied(1, 0); // not this message
    await tick();
    assert.deepEqual(r.sent, ['1:1']);
    b.applied(1, 1);
    await tick();
    assert.deepEqual(r.sent, ['1:1', '2:1']);
    b.applied(2, 1);
    await tick();
    assert.deepEqual(r.sent, ['1:1', '2:1', '1:2', '2:2']);
    assert.equal(b.busy, false);
  });

  test('a worker that goes away, or never answers, does not hold the others up', async () => {
    const r = recorder([1, 2, 3]);
    const b = new ZoneBroadcaster(r.target, { staggerChars: 100, appliedTimeoutMs: 50 });
    b.broadcast(update(1, 500));
    await tick();
    b.gone(1);
    r.slots.splice(0, 1);
    await tick();
    assert.deepEqual(r.sent, ['1:1', '2:1']);
    // Worker 2 never reports: after the timeout worker 3 gets it.
    await new Promise((done) => setTimeout(done, 80));
    assert.deepEqual(r.sent, ['1:1', '2:1', '3:1']);
    b.applied(3, 1);
    await tick();
    assert.equal(b.busy, false);
  });

  test('with a single worker nothing is staggered', () => {
    const r = recorder([1]);
    const b = new ZoneBroadcaster(r.target, { staggerChars: 100 });
    b.broadcast(update(1, 500));
    b.broadcast(update(2, 500));
    assert.deepEqual(r.sent, ['1:1', '1:2']);
  });
});

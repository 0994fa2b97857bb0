import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EDGE_NOTIFY_OPTION } from '../../xfr/secondary/client.js';
import { EdgeSightings } from './edge-sightings.js';

const check = (pop: string, zone: string, notify?: string) => ({
  zone,
  serial: 1,
  address: '127.0.0.9',
  key: pop,
  edge: true,
  qtype: 6,
  options: notify ? [{ code: EDGE_NOTIFY_OPTION, data: new Uint8Array(Buffer.from(notify, 'latin1')) }] : [],
});

test('a NOTIFY address not passed on before asks for an immediate send; the same one again does not', () => {
  let calls = 0;
  const s = new EdgeSightings(() => calls++);
  s.signed(check('ams1.', 'cat.test.', '127.0.0.9:5300'));
  assert.equal(calls, 1, 'a new edge: sent at once');
  const first = s.take();
  assert.equal(first?.entries[0].notify, '127.0.0.9:5300');
  s.signed(check('ams1.', 'cat.test.', '127.0.0.9:5300'));
  s.signed(check('ams1.', 'other.test.'));
  assert.equal(calls, 1, 'known: waits for the once-a-second send');
  s.signed(check('ams1.', 'cat.test.', '127.0.0.9:5301'));
  assert.equal(calls, 2, 'a new address of the same POP: at once');
  s.signed(check('fra1.', 'cat.test.', '127.0.0.10:5300'));
  assert.equal(calls, 3, 'another POP: at once');
  assert.equal(s.take()?.entries.length, 3);
});

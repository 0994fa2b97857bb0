/**
 * `start`'s edge registry (docs/EDGE.md "The control plane's view"): a replica's summaries
 * (zones, behind, since when the oldest change not taken is out) and the merge of every
 * replica's rows into one list (`mergeEdges`): addresses united, the newest NOTIFY address, the
 * counts of the live replica that saw the edge last, a gone replica's only when no live one saw it.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredEdge } from '../../control/types.js';
import { EDGE_ROW_LIVE_MS, EdgeRegistry, mergeEdges } from './edges.js';

const T = 1_800_000_000_000;

function row(pop: string, replica: string, over: Partial<StoredEdge> = {}): StoredEdge {
  return {
    pop,
    replica,
    addresses: [['127.0.0.1', T]],
    notifyAt: 0,
    lastSeen: T,
    zones: 10,
    behind: 0,
    lagSince: null,
    behindZones: [],
    updatedAt: T,
    ...over,
  };
}

test('summaries: zones, behind and lag against the served serials; zones not served pruned', () => {
  const reg = new EdgeRegistry();
  reg.published('a.test.', 5, T - 20_000);
  reg.published('b.test.', 9, T - 5_000);
  reg.seen({
    type: 'switchboard:edges-seen',
    dropped: 0,
    entries: [
      {
        pop: 'ams1.',
        address: '127.0.0.1',
        zone: 'a.test.',
        serial: 4,
        kind: 'check',
        at: T - 1000,
        notify: '127.0.0.9:53',
      },
      { pop: 'ams1.', address: '127.0.0.2', zone: 'B.test.', serial: 8, kind: 'transfer', at: T },
      { pop: 'ams1.', address: '127.0.0.2', zone: 'c.test.', serial: 1, kind: 'transfer', at: T },
      { pop: 'ams1.', address: '127.0.0.2', zone: 'gone.test.', serial: 1, kind: 'check', at: T },
    ],
  });
  const served = new Map([
    ['a.test.', 5],
    ['b.test.', 9],
    ['c.test.', 1],
  ]);
  const [s] = reg.summaries('r1', (z) => served.get(z), T);
  assert.equal(s.zones, 3);
  assert.equal(s.behind, 2);
  assert.equal(s.lagSince, T - 20_000);
  assert.deepEqual(s.behindZones, ['a.test. 4 → 5', 'b.test. 8 → 9']);
  assert.equal(s.notify, '127.0.0.9:53');
  assert.deepEqual(
    s.addresses.map(([a]) => a),
    ['127.0.0.2', '127.0.0.1'],
  );
  const [l] = reg.list((z) => served.get(z), T);
  assert.equal(l.maxLagSeconds, 20);
  assert.equal(l.zones, 3);
});

test('mergeEdges: one entry per POP from every replica', () => {
  const local = [row('ams1.', 'me', { lastSeen: T - 1000, zones: 100, behind: 1, lagSince: T - 7000 })];
  const stored = [
    // Another live replica saw ams1. last: its counts win; its address joins.
    row('ams1.', 'r2', {
      addresses: [['127.0.0.5', T]],
      notify: '127.0.0.9:5300',
      notifyAt: T,
      zones: 200,
      behind: 0,
    }),
    // A replica gone (not rewritten for long) saw fra1. only: listed with its counts.
    row('fra1.', 'r3', { zones: 7, behind: 7, lagSince: T - 60_000, updatedAt: T - EDGE_ROW_LIVE_MS - 1 }),
    // A gone replica saw lhr1. later than a live one: the live one's counts.
    row('lhr1.', 'r3', { lastSeen: T, zones: 1, updatedAt: T - EDGE_ROW_LIVE_MS - 1 }),
    row('lhr1.', 'r2', { lastSeen: T - 9000, zones: 50 }),
  ];
  const list = mergeEdges(local, stored, T);
  assert.deepEqual(
    list.map((e) => [e.pop, e.zones, e.behind, e.maxLagSeconds]),
    [
      ['ams1.', 200, 0, 0],
      ['fra1.', 7, 7, 60],
      ['lhr1.', 50, 0, 0],
    ],
  );
  assert.deepEqual(list[0].addresses.sort(), ['127.0.0.1', '127.0.0.5']);
  assert.equal(list[0].notify, '127.0.0.9:5300');
  assert.equal(list[2].lastSeen, new Date(T).toISOString());
  // This replica alone saw it last: its counts.
  const mine = mergeEdges(
    [row('ams1.', 'me', { lastSeen: T, zones: 3 })],
    [row('ams1.', 'r2', { lastSeen: T - 1 })],
    T,
  );
  assert.equal(mine[0].zones, 3);
});

test('NOTIFY targets: a catalog zone only to the edges that follow it, member zones to every edge', () => {
  const reg = new EdgeRegistry();
  const catalogs = new Set(['catalog.switchboard.invalid.', 'acme-cat.test.']);
  reg.setCatalogs('catalog.switchboard.invalid.', (z) => catalogs.has(z.toLowerCase()));
  const seen = (pop: string, zone: string, notify: string) =>
    reg.seen({
      type: 'switchboard:edges-seen',
      dropped: 0,
      entries: [{ pop, address: '127.0.0.1', zone, serial: 1, kind: 'check', at: T, notify }],
    });
  seen('fleet.', 'catalog.switchboard.invalid.', '127.0.0.2:53');
  seen('acme.', 'acme-cat.test.', '127.0.0.3:53');
  // Not seen checking any catalog yet: the fleet catalog's.
  seen('new.', 'a.test.', '127.0.0.4:53');
  const pops = (zone?: string) =>
    reg
      .notifyTargets(T, zone)
      .map((t) => t.pop)
      .sort();
  assert.deepEqual(pops('catalog.switchboard.invalid.'), ['fleet.', 'new.']);
  assert.deepEqual(pops('ACME-cat.test.'), ['acme.']);
  assert.deepEqual(pops('a.test.'), ['acme.', 'fleet.', 'new.']);
  assert.deepEqual(pops(), ['acme.', 'fleet.', 'new.']);
  // The catalog followed is kept across restarts.
  const again = new EdgeRegistry();
  again.setCatalogs('catalog.switchboard.invalid.', (z) => catalogs.has(z.toLowerCase()));
  assert.equal(again.restore(reg.saved()), 3);
  assert.deepEqual(
    again.notifyTargets(T, 'acme-cat.test.').map((t) => t.pop),
    ['acme.'],
  );
  assert.deepEqual(
    again
      .notifyTargets(T, 'catalog.switchboard.invalid.')
      .map((t) => t.pop)
      .sort(),
    ['fleet.', 'new.'],
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DnsAggregator } from './aggregate.js';
import { blockOf, C, COUNTER_COUNT, type DnsReport, G, GAUGE_COUNT, Q } from './dns-layout.js';

/** A report whose UDP received counter is `udp`, zone updates `updates`, zones served `zones`. */
function report(udp: number, updates = 0, zones = 0, tcpOpen = 0): DnsReport {
  const counters = new Array<number>(COUNTER_COUNT).fill(0);
  counters[blockOf('udp') + Q.received] = udp;
  counters[C.zoneUpdates] = updates;
  const gauges = new Array<number>(GAUGE_COUNT).fill(0);
  gauges[G.zonesServed] = zones;
  gauges[G.tcpOpen] = tcpOpen;
  return { counters, gauges };
}

const udpTotal = (a: DnsAggregator) => a.counters()[blockOf('udp') + Q.received];

describe('DnsAggregator', () => {
  test('sums the latest report of every worker', () => {
    const a = new DnsAggregator();
    a.update(0, 'w0', report(10, 0, 5, 1));
    a.update(1, 'w1', report(20, 0, 5, 2));
    a.update(0, 'w0', report(15, 0, 5, 1));
    assert.equal(udpTotal(a), 35);
    assert.equal(a.gauges()[G.tcpOpen], 3);
    assert.equal(a.liveWorkers, 2);
    assert.deepEqual(a.slots(), [0, 1]);
  });

  test('a worker restart keeps every counter monotonic; its gauges go with it', () => {
    const a = new DnsAggregator();
    a.update(0, 'w0', report(100, 3, 7, 4));
    a.update(1, 'w1', report(50, 3, 7, 1));
    const seen = [udpTotal(a)];
    // Worker 0 dies: its last report stays in the total, its gauges leave at once.
    a.workerExited(0);
    seen.push(udpTotal(a));
    assert.equal(a.gauges()[G.tcpOpen], 1);
    assert.equal(a.slotGauges(0), undefined);
    assert.equal(a.liveWorkers, 1);
    // Its replacement starts from zero and counts on top of the base.
    a.update(0, 'w0b', report(0, 0, 7, 0));
    seen.push(udpTotal(a));
    a.update(0, 'w0b', report(5, 1, 7, 0));
    seen.push(udpTotal(a));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `${seen}`);
    assert.equal(udpTotal(a), 155);
    // Per slot too: zone updates of slot 0 over both lives.
    assert.equal(a.slotCounters(0)[C.zoneUpdates], 4);
    assert.equal(a.slotCounters(1)[C.zoneUpdates], 3);
  });

  test('a new incarnation retires the old one even when the exit was not seen first', () => {
    const a = new DnsAggregator();
    a.update(0, 'old', report(40));
    a.update(0, 'new', report(2));
    assert.equal(udpTotal(a), 42);
  });

  test('late reports of a retired worker are ignored', () => {
    const a = new DnsAggregator();
    a.update(0, 'old', report(40));
    a.workerExited(0);
    a.update(0, 'new', report(1));
    // An IPC message of the dead worker that arrives after its exit.
    assert.equal(a.update(0, 'old', report(41)), false);
    assert.equal(udpTotal(a), 41);
    a.workerExited(0);
    assert.equal(udpTotal(a), 41);
  });

  test('malformed reports are ignored', () => {
    const a = new DnsAggregator();
    assert.equal(a.update(0, 'w', { counters: [1, 2], gauges: [] }), false);
    const bad = report(1);
    bad.counters[0] = -1;
    assert.equal(a.update(0, 'w', bad), false);
    assert.equal(a.update(0, 'w', null as unknown as DnsReport), false);
    assert.equal(a.liveWorkers, 0);
    assert.equal(udpTotal(a), 0);
  });

  test('an exit of a slot that never reported changes nothing', () => {
    const a = new DnsAggregator();
    a.workerExited(3);
    assert.deepEqual(a.slots(), []);
    assert.deepEqual(a.counters(), new Array(COUNTER_COUNT).fill(0));
  });
});

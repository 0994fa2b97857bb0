import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServedZone, ZoneChangeEvent } from '../../control/types.js';
import { ZoneFeed, type ZoneSource } from './feed.js';
import type { ZonesMessage } from './protocol.js';
import { parseTextPush } from './zone-text.js';
import { ServedZoneTable } from './zones.js';

/** An in-memory stand-in for the control plane's serving side. */
class FakeSource implements ZoneSource {
  readonly zones = new Map<string, ServedZone>();
  readonly listeners = new Set<(ev: ZoneChangeEvent) => void>();
  reads = 0;
  /** Called before each servedZone read resolves (tests make reads slow or failing). */
  beforeRead: (name: string) => Promise<void> = async () => {};

  set(name: string, address: string, version?: number): void {
    const v = version ?? (this.zones.get(name)?.version ?? 0) + 1;
    const text =
      `${name} 60 IN SOA ns.${name} h.${name} ${v} 1 1 1 1\n${name} 60 IN NS ns.${name}\n` +
      `www.${name} 60 IN A ${address}\n`;
    this.zones.set(name, { name, version: v, serial: v, text });
    this.emit({ zone: name, version: v, deleted: false });
  }

  delete(name: string): void {
    const v = this.zones.get(name)?.version ?? 0;
    this.zones.delete(name);
    this.emit({ zone: name, version: v, deleted: true });
  }

  emit(ev: ZoneChangeEvent): void {
    for (const l of this.listeners) l(ev);
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async *servedZones(): AsyncIterable<ServedZone> {
    for (const z of [...this.zones.values()]) {
      await new Promise((r) => setImmediate(r));
      yield z;
    }
  }

  async servedZone(name: string): Promise<ServedZone | null> {
    this.reads++;
    // Read at call time, deliver after the delay: what a database read does.
    const z = this.zones.get(name) ?? null;
    await this.beforeRead(name);
    return z;
  }
}

function versionsIn(messages: ZonesMessage[], name: string): (number | null)[] {
  return messages.flatMap((m) =>
    m.zones.filter((z) => z.name === name).map((z) => (z.text === null ? null : z.version)),
  );
}

describe('ZoneFeed', () => {
  test('load reads every zone; a snapshot carries them all and ends with last', async () => {
    const src = new FakeSource();
    for (let i = 0; i < 25; i++) src.set(`z${i}.test.`, '192.0.2.1');
    const feed = new ZoneFeed(src, () => {}, { batchZones: 10 });
    await feed.load();
    assert.equal(feed.size, 25);
    const snap = feed.snapshot();
    assert.equal(snap.length, 3);
    assert.deepEqual(
      snap.map((m) => [m.kind, m.zones.length, m.last]),
      [
        ['snapshot', 10, false],
        ['snapshot', 10, false],
        ['snapshot', 5, true],
      ],
    );
    feed.close();
  });

  test('an empty set is one empty final snapshot message', async () => {
    const feed = new ZoneFeed(new FakeSource(), () => {});
    await feed.load();
    const snap = feed.snapshot();
    assert.equal(snap.length, 1);
    assert.equal(snap[0].last, true);
    assert.deepEqual(snap[0].zones, []);
    feed.close();
  });

  test('a burst of changes to one zone is read once and sent once, at its latest version', async () => {
    const src = new FakeSource();
    src.set('a.test.', '192.0.2.1');
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 20 });
    await feed.load();
    src.reads = 0;
    for (let i = 2; i <= 50; i++) src.set('a.test.', `192.0.2.${i}`);
    await feed.settled();
    assert.equal(src.reads, 1);
    assert.deepEqual(versionsIn(sent, 'a.test.'), [50]);
    assert.equal(sent[0].kind, 'update');
    feed.close();
  });

  test('changes made while a read is slow are sent after, in order, never regressing', async () => {
    const src = new FakeSource();
    src.set('a.test.', '192.0.2.1');
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 1 });
    await feed.load();
    let slow = true;
    src.beforeRead = async () => {
      if (slow) {
        slow = false;
        // Changes land while this (older) read is still in flight.
        src.set('a.test.', '192.0.2.3');
        src.set('a.test.', '192.0.2.4');
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    src.set('a.test.', '192.0.2.2');
    await new Promise((r) => setTimeout(r, 5));
    await feed.settled();
    const versions = versionsIn(sent, 'a.test.') as number[];
    assert.deepEqual(versions, [2, 4]);
    assert.equal(feed.get('a.test.')?.version, 4);
    feed.close();
  });

  test('changes during load are applied after it', async () => {
    const src = new FakeSource();
    for (let i = 0; i < 5; i++) src.set(`z${i}.test.`, '192.0.2.1');
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 1 });
    const loading = feed.load();
    src.delete('z4.test.');
    src.set('new.test.', '192.0.2.7');
    await loading;
    await feed.settled();
    assert.equal(feed.get('z4.test.'), undefined);
    assert.equal(feed.get('new.test.')?.version, 1);
    feed.close();
  });

  test('deletion is sent as text null; re-creation with lower versions is marked reset', async () => {
    const src = new FakeSource();
    src.set('a.test.', '192.0.2.1', 7);
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 1 });
    await feed.load();
    src.delete('a.test.');
    await new Promise((r) => setTimeout(r, 5));
    await feed.settled();
    assert.deepEqual(sent.at(-1)?.zones, [{ name: 'a.test.', version: 7, serial: 7, text: null }]);
    // Deleted and created again within one window: the worker must take version 1.
    src.set('b.test.', '192.0.2.1', 9);
    await feed.settled();
    src.delete('b.test.');
    src.set('b.test.', '192.0.2.2', 1);
    await feed.settled();
    const last = sent.at(-1)?.zones[0];
    assert.equal(last?.version, 1);
    assert.equal(last?.reset, true);
    feed.close();
  });

  test('a failed read is retried', async () => {
    const src = new FakeSource();
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 1, retryMs: 5 });
    await feed.load();
    let fail = 2;
    src.beforeRead = async () => {
      if (fail-- > 0) throw new Error('connection lost');
    };
    src.set('a.test.', '192.0.2.1');
    await new Promise((r) => setTimeout(r, 2));
    await feed.settled();
    assert.deepEqual(versionsIn(sent, 'a.test.'), [1]);
    feed.close();
  });

  test('onPublished reports each zone sent once, retried zones once, unchanged zones never', async () => {
    const src = new FakeSource();
    src.set('a.test.', '192.0.2.1');
    src.set('b.test.', '192.0.2.1');
    const latencies: number[] = [];
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), {
      coalesceMs: 1,
      retryMs: 5,
      onPublished: (ms) => latencies.push(ms),
    });
    await feed.load();
    // A burst to one zone: sent once, reported once.
    for (let i = 2; i <= 10; i++) src.set('a.test.', `192.0.2.${i}`);
    await new Promise((r) => setTimeout(r, 2));
    await feed.settled();
    assert.equal(latencies.length, 1);
    // A change event without a change (another replica's echo): read, not sent, not reported.
    src.emit({ zone: 'b.test.', version: 1, deleted: false });
    await new Promise((r) => setTimeout(r, 2));
    await feed.settled();
    assert.equal(latencies.length, 1);
    // A failed read: reported once, when the retry sends it.
    let fail = 1;
    src.beforeRead = async () => {
      if (fail-- > 0) throw new Error('connection lost');
    };
    src.set('b.test.', '192.0.2.9');
    await new Promise((r) => setTimeout(r, 2));
    await feed.settled();
    assert.deepEqual(versionsIn(sent, 'b.test.'), [2]);
    assert.equal(latencies.length, 2);
    // A deletion is a publish too.
    src.delete('a.test.');
    await new Promise((r) => setTimeout(r, 2));
    await feed.settled();
    assert.equal(latencies.length, 3);
    for (const ms of latencies) assert.ok(Number.isFinite(ms) && ms >= 0, String(ms));
    feed.close();
  });

  test('a worker table fed by the snapshot then the updates matches the source', async () => {
    const src = new FakeSource();
    for (let i = 0; i < 30; i++) src.set(`z${i}.test.`, '192.0.2.1');
    const table = new ServedZoneTable(parseTextPush);
    let joined = false;
    const feed = new ZoneFeed(
      src,
      (m) => {
        if (joined) table.apply(m);
      },
      { coalesceMs: 1, batchZones: 7 },
    );
    await feed.load();
    // Changes before the worker joins are in its snapshot; the ones after come as updates.
    src.set('z1.test.', '192.0.2.2');
    for (const m of feed.snapshot()) table.apply(m);
    joined = true;
    for (let i = 0; i < 10; i++) src.set(`z${i}.test.`, '192.0.2.3');
    src.delete('z20.test.');
    src.set('extra.test.', '192.0.2.4');
    await new Promise((r) => setTimeout(r, 5));
    await feed.settled();
    assert.equal(table.size, src.zones.size);
    for (const z of src.zones.values()) assert.equal(table.versionOf(z.name), z.version, z.name);
    feed.close();
  });
});

/** A source that also reads diffs (`servedChanges`): the zone's id and its changes by version. */
class DiffSource extends FakeSource {
  readonly ids = new Map<string, string>();
  diffReads = 0;
  /** When false, servedChanges answers null (pruned history, another zone of the name). */
  diffs = true;

  override set(name: string, address: string, version?: number): void {
    if (!this.ids.has(name)) this.ids.set(name, `id-${name}-${this.ids.size}`);
    super.set(name, address, version);
    const z = this.zones.get(name) as ServedZone;
    z.id = this.ids.get(name);
  }

  override delete(name: string): void {
    this.ids.delete(name);
    super.delete(name);
  }

  async servedChanges(name: string, since: { id: string; version: number }) {
    this.diffReads++;
    const z = this.zones.get(name);
    if (!this.diffs || !z || z.id !== since.id || z.version < since.version) return null;
    const www = z.text.split('\n').find((l) => l.startsWith('www.')) ?? '';
    return {
      name,
      id: z.id,
      version: z.version,
      serial: z.serial,
      changes:
        z.version === since.version ? [] : [{ owner: `www.${name}`, type: 1, ttl: 60, text: `${www}\n` }],
    };
  }
}

describe('ZoneFeed with patches (--images on)', () => {
  test('a held zone goes as its diff since the version held; texts dropped; a new zone or a null diff is read whole', async () => {
    const src = new DiffSource();
    src.set('a.test.', '192.0.2.1');
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 0, patches: true });
    await feed.load();
    assert.equal(feed.snapshot().length, 1);
    feed.dropTexts();
    assert.equal(feed.get('a.test.')?.text, '');
    assert.throws(() => feed.snapshot(), /no zone text/);

    src.set('a.test.', '192.0.2.2');
    await feed.settled();
    const p = sent.at(-1)?.zones[0];
    assert.equal(p?.text, null);
    assert.deepEqual(p?.patch, {
      from: 1,
      changes: [{ owner: 'www.a.test.', type: 1, ttl: 60, text: 'www.a.test. 60 IN A 192.0.2.2\n' }],
    });
    assert.equal(p?.version, 2);
    assert.equal(src.reads, 0);

    // A zone the feed does not hold is read whole.
    src.set('b.test.', '192.0.2.3');
    await feed.settled();
    assert.equal(sent.at(-1)?.zones[0].text?.includes('192.0.2.3'), true);
    assert.equal(src.reads, 1);
    assert.equal(feed.get('b.test.')?.text, '', 'kept without its text');

    // The diff cannot say: read whole.
    src.diffs = false;
    src.set('a.test.', '192.0.2.4');
    await feed.settled();
    assert.equal(sent.at(-1)?.zones[0].text?.includes('192.0.2.4'), true);
    assert.equal(sent.at(-1)?.zones[0].patch, undefined);
    src.diffs = true;

    // Deleted, then created again under the same name: another id, read whole.
    const before = sent.length;
    src.delete('a.test.');
    await feed.settled();
    assert.equal(sent.at(-1)?.zones[0].text, null);
    src.set('a.test.', '192.0.2.5', 7);
    await feed.settled();
    const again = sent.at(-1)?.zones[0];
    assert.equal(again?.patch, undefined);
    assert.equal(again?.text?.includes('192.0.2.5'), true);
    assert.equal(sent.length, before + 2);

    // An event without a new version (the diff is empty): nothing sent.
    src.emit({ zone: 'a.test.', version: 7, deleted: false });
    await feed.settled();
    assert.equal(sent.length, before + 2);
    feed.close();
  });

  test('without patches (or a source without diffs) the feed sends text as before', async () => {
    const src = new DiffSource();
    src.set('a.test.', '192.0.2.1');
    const sent: ZonesMessage[] = [];
    const feed = new ZoneFeed(src, (m) => sent.push(m), { coalesceMs: 0 });
    await feed.load();
    src.set('a.test.', '192.0.2.2');
    await feed.settled();
    assert.equal(sent.at(-1)?.zones[0].text?.includes('192.0.2.2'), true);
    assert.equal(src.diffReads, 0);
    feed.close();
  });
});

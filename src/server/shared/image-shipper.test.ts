import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileZone } from '../../image/compile.js';
import { openImage } from '../../image/reader.js';
import { loadZoneText } from '../../zone/load.js';
import { CompilePool } from './compile-pool.js';
import type { ZonesMessage } from './dns-protocol.js';
import { ImageShipper } from './image-shipper.js';
import { type ImageRef, PackReader, PackWriter } from './images.js';

function zoneText(name: string, serial: number): string {
  return (
    `${name} 3600 IN SOA ns1.${name} hostmaster.${name} ${serial} 10800 3600 604800 3600\n` +
    `${name} 3600 IN NS ns1.${name}\n` +
    `ns1.${name} 300 IN A 192.0.2.53\n`
  );
}

function text(
  kind: ZonesMessage['kind'],
  seq: number,
  zones: [string, number, string | null][],
): ZonesMessage {
  return {
    type: 'switchboard:zones',
    kind,
    seq,
    last: true,
    zones: zones.map(([name, version, t]) => ({ name, version, serial: version, text: t })),
  };
}

/** A pack writer that records what was released. */
class Recording extends PackWriter {
  released: ImageRef[] = [];
  override release(ref: ImageRef): boolean {
    this.released.push(ref);
    return super.release(ref);
  }
}

describe('ImageShipper', () => {
  test('ships references, never text; a zone that fails keeps its image; old images wait for every ack', async (t) => {
    const writer = new Recording();
    const reader = new PackReader(writer.dir);
    const pool = new CompilePool({ threads: 1 });
    const errors: string[] = [];
    const sent: ZonesMessage[] = [];
    const shipper = new ImageShipper(writer, {
      broadcast: (m) => sent.push(m),
      log: { error: (m) => errors.push(m), warn: () => {}, info: () => {} },
    });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });

    // The first load: compiled, nothing sent (no worker yet).
    shipper.ship(
      text('snapshot', 1, [
        ['a.test.', 1, zoneText('a.test.', 1)],
        ['b.test.', 1, zoneText('b.test.', 1)],
      ]),
      pool,
    );
    await shipper.shipped();
    assert.equal(sent.length, 0);
    assert.equal(shipper.size, 2);

    // Two workers take their snapshot: references only, readable from the packs.
    const snap0 = shipper.snapshot(0);
    shipper.snapshot(1);
    assert.equal(snap0.at(-1)?.last, true);
    const pushes = snap0.flatMap((m) => m.zones);
    assert.deepEqual(
      pushes.map((p) => [p.name, p.text]),
      [
        ['a.test.', null],
        ['b.test.', null],
      ],
    );
    const aRef = pushes[0].ref as ImageRef;
    assert.equal(openImage(reader.open(aRef)).serial, 1);

    // An update: a.test. changes, b.test. is broken (kept), c.test. is new.
    shipper.ship(
      text('update', 2, [
        ['a.test.', 2, zoneText('a.test.', 2)],
        ['b.test.', 2, 'b.test. 60 IN A not-an-address\n'],
        ['c.test.', 1, zoneText('c.test.', 1)],
      ]),
      pool,
    );
    await shipper.shipped();
    assert.equal(sent.length, 1);
    assert.deepEqual(
      sent[0].zones.map((p) => [p.name, p.version, p.text, p.ref !== undefined]),
      [
        ['a.test.', 2, null, true],
        ['c.test.', 1, null, true],
      ],
    );
    assert.equal(shipper.get('b.test.')?.version, 1);
    assert.match(errors.join('\n'), /zone b\.test\. version 2 not compiled, previous version kept/);

    // a.test.'s first image is released only once both workers applied the update.
    assert.deepEqual(writer.released, []);
    shipper.acked(0, sent[0].seq);
    assert.deepEqual(writer.released, []);
    const applied = shipper.applied(sent[0].seq);
    shipper.gone(1);
    await applied;
    assert.deepEqual(writer.released, [aRef]);

    // A deletion goes out as a push with neither text nor reference.
    shipper.ship(text('update', 3, [['c.test.', 1, null]]), pool);
    await shipper.shipped();
    assert.deepEqual(sent[1].zones, [{ name: 'c.test.', version: 1, serial: 1, text: null }]);
    assert.equal(shipper.size, 2);
  });

  test("a zone's versions go out in order, whatever compiles first", async (t) => {
    const writer = new PackWriter();
    const pool = new CompilePool({ threads: 2 });
    const sent: ZonesMessage[] = [];
    const shipper = new ImageShipper(writer, { broadcast: (m) => sent.push(m) });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });
    shipper.snapshot(0);
    // A bigger first version of a.test., then small ones of a.test. and b.test.
    const big = [zoneText('a.test.', 1)];
    for (let i = 0; i < 3000; i++) big.push(`h${i}.a.test. 300 IN A 192.0.2.${i % 250}\n`);
    shipper.ship(text('update', 1, [['a.test.', 1, big.join('')]]), pool);
    await new Promise((r) => setImmediate(r)); // a.test. 1 is compiling now
    shipper.ship(text('update', 2, [['b.test.', 1, zoneText('b.test.', 1)]]), pool);
    shipper.ship(text('update', 3, [['a.test.', 2, zoneText('a.test.', 2)]]), pool);
    await shipper.shipped();
    const order = sent.flatMap((m) => m.zones.map((z) => `${z.name}${z.version}`));
    assert.equal(order.length, 3);
    assert.ok(order.indexOf('a.test.1') < order.indexOf('a.test.2'), order.join(' '));
    assert.equal(shipper.get('a.test.')?.version, 2);
    assert.equal(shipper.get('b.test.')?.version, 1);
  });

  test('a late ack from a worker that went away is ignored', async (t) => {
    const writer = new Recording();
    const pool = new CompilePool({ threads: 1 });
    const sent: ZonesMessage[] = [];
    const shipper = new ImageShipper(writer, { broadcast: (m) => sent.push(m) });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });
    shipper.ship(text('snapshot', 1, [['a.test.', 1, zoneText('a.test.', 1)]]), pool);
    await shipper.shipped();
    const first = shipper.get('a.test.')?.ref as ImageRef;
    shipper.snapshot(0);
    shipper.snapshot(1);
    shipper.gone(1);
    shipper.ship(text('update', 2, [['a.test.', 2, zoneText('a.test.', 2)]]), pool);
    await shipper.shipped();
    // Slot 1's last ack (of its snapshot) arrives after it exited.
    shipper.acked(1, 1);
    assert.deepEqual(shipper.slots(), [0]);
    shipper.acked(0, sent[0].seq);
    assert.deepEqual(writer.released, [first]);
  });

  test('images that cannot be stored: publish throws, no zone changes, nothing is sent', async (t) => {
    class Full extends PackWriter {
      full = false;
      override addMany(images: readonly Uint8Array[]): ImageRef[] {
        if (this.full) throw new Error('ENOSPC: no space left on device');
        return super.addMany(images);
      }
    }
    const writer = new Full();
    const pool = new CompilePool({ threads: 1 });
    const sent: ZonesMessage[] = [];
    const errors: string[] = [];
    const shipper = new ImageShipper(writer, {
      broadcast: (m) => sent.push(m),
      log: { error: (m) => errors.push(m), warn: () => {}, info: () => {} },
    });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });
    shipper.ship(text('snapshot', 1, [['a.test.', 1, zoneText('a.test.', 1)]]), pool);
    await shipper.shipped();
    shipper.snapshot(0);
    writer.full = true;
    const image = shipper.get('a.test.')?.ref;
    assert.throws(
      () => shipper.publish([{ name: 'b.test.', version: 1, serial: 1, image: new Uint8Array(8) }]),
      /cannot store 1 zone images, zones unchanged: ENOSPC/,
    );
    shipper.ship(text('update', 2, [['a.test.', 2, zoneText('a.test.', 2)]]), pool);
    await shipper.shipped();
    assert.deepEqual(sent, []);
    assert.equal(shipper.size, 1);
    assert.deepEqual(shipper.get('a.test.')?.ref, image);
    assert.match(errors.join('\n'), /publishing zone images failed: cannot store 1 zone images/);
  });

  test('a burst of edits to one zone compiles the one in progress and the newest, not every version', async (t) => {
    const writer = new PackWriter();
    const pool = new CompilePool({ threads: 1 });
    const sent: ZonesMessage[] = [];
    const shipper = new ImageShipper(writer, { broadcast: (m) => sent.push(m) });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });
    shipper.snapshot(0);
    shipper.ship(text('update', 1, [['a.test.', 1, zoneText('a.test.', 1)]]), pool);
    await new Promise((r) => setImmediate(r)); // version 1 is compiling now
    for (let v = 2; v <= 6; v++)
      shipper.ship(text('update', v, [['a.test.', v, zoneText('a.test.', v)]]), pool);
    // b.test. is created, deleted and created again (a reset) before its turn.
    shipper.ship(text('update', 7, [['b.test.', 1, zoneText('b.test.', 1)]]), pool);
    shipper.ship(text('update', 8, [['b.test.', 1, null]]), pool);
    const again = text('update', 9, [['b.test.', 1, zoneText('b.test.', 9)]]);
    again.zones[0].reset = true;
    again.zones[0].serial = 9;
    shipper.ship(again, pool);
    await shipper.shipped();
    assert.equal(pool.stats.compiled, 3);
    assert.deepEqual(sent.flatMap((m) => m.zones.map((z) => `${z.name}${z.version}`)).sort(), [
      'a.test.1',
      'a.test.6',
      'b.test.1',
    ]);
    assert.equal(shipper.get('a.test.')?.serial, 6);
    assert.equal(shipper.get('b.test.')?.serial, 9);
  });

  test('once closed (stopping), applied() resolves at once, even for a seq no worker acked', async (t) => {
    const writer = new PackWriter();
    const shipper = new ImageShipper(writer, { broadcast: () => {} });
    t.after(() => writer.close());
    shipper.snapshot(0);
    const waiting = shipper.applied(5);
    shipper.close();
    await waiting;
    await shipper.applied(6); // without the fix: waits for its 600 s timeout
  });

  test('dead pack space is compacted: moved images go to the workers as same-version pushes, old refs retire after every ack', () => {
    const writer = new Recording(undefined, { packBytes: 64 * 1024 });
    const reader = new PackReader(writer.dir);
    const sent: ZonesMessage[] = [];
    const logs: string[] = [];
    const shipper = new ImageShipper(writer, {
      broadcast: (m) => sent.push(m),
      compactDeadBytes: 16 * 1024,
      log: { error: () => {}, warn: (m) => logs.push(m), info: (m) => logs.push(m) },
    });
    const image = (name: string, v: number) =>
      compileZone(loadZoneText(zoneText(name, v), { origin: name, strict: false }).zone);
    const names = Array.from({ length: 60 }, (_, i) => `z${i}.test.`);
    // Version 1 of every zone fills a few packs; the workers hold it.
    shipper.publish(
      names.map((n) => ({ name: n, version: 1, serial: 1, image: image(n, 1) })),
      false,
    );
    shipper.snapshot(0);
    shipper.snapshot(1);
    // Every zone but the first 6 gets version 2: the old packs end up mostly dead.
    const changed = names.slice(6);
    // …and then version 3: more dead octets than live ones.
    const seq2 = shipper.publish(
      changed.map((n) => ({ name: n, version: 2, serial: 2, image: image(n, 2) })),
    );
    shipper.acked(0, seq2);
    shipper.acked(1, seq2);
    const seq = shipper.publish(changed.map((n) => ({ name: n, version: 3, serial: 3, image: image(n, 3) })));
    assert.equal(shipper.compactions.runs, 0, 'the version-2 packs are not dead before the workers ack');
    const beforeCompact = new Map(names.map((n) => [n, shipper.get(n)!.ref]));
    const versions = new Map(names.map((n) => [n, shipper.get(n)!.version]));
    shipper.acked(0, seq);
    shipper.acked(1, seq);
    assert.equal(shipper.compactions.runs, 1, logs.join('\n'));
    const moved = sent.flatMap((m) => m.zones).filter((p) => p.moved);
    assert.ok(moved.length >= 1, 'some served images moved');
    assert.ok(
      moved.some((p) => p.version === 1),
      'the unchanged zones left the mostly-dead first pack',
    );
    for (const p of moved) {
      assert.equal(p.version, versions.get(p.name));
      assert.deepEqual(p.ref, shipper.get(p.name)!.ref);
      assert.notDeepEqual(p.ref, beforeCompact.get(p.name));
      // Same octets at the new place.
      assert.equal(openImage(reader.open(p.ref!)).origin.length > 0, true);
      assert.deepEqual(Buffer.from(reader.open(p.ref!)), Buffer.from(image(p.name, p.version)));
    }
    // The old refs of moved zones are released only once both workers have the move.
    const oldRefs = moved.map((p) => beforeCompact.get(p.name)!);
    const releasedBefore = writer.released.length;
    const moveSeq = sent.at(-1)!.seq;
    shipper.acked(0, moveSeq);
    assert.equal(writer.released.length, releasedBefore);
    shipper.acked(1, moveSeq);
    for (const r of oldRefs)
      assert.ok(writer.released.some((x) => x.pack === r.pack && x.offset === r.offset));
    // Every zone still opens from the refs the shipper holds.
    for (const n of names) assert.ok(reader.open(shipper.get(n)!.ref).length > 0);
    shipper.close();
    reader.close();
    writer.close();
  });
});

describe('ImageShipper: zones changed by diffs (start --images on)', () => {
  const A_TEST = 'p.test.';
  const lines = (serial: number, extra: string[]) =>
    [
      `${A_TEST}\t3600\tIN\tSOA\tns1.${A_TEST} hostmaster.${A_TEST} ${serial} 10800 3600 604800 3600`,
      `${A_TEST}\t3600\tIN\tNS\tns1.${A_TEST}`,
      `ns1.${A_TEST}\t300\tIN\tA\t192.0.2.53`,
      ...extra,
    ].join('\n') + '\n';
  const soa = (serial: number) => ({
    owner: A_TEST,
    type: 6,
    ttl: 3600,
    text: `${A_TEST}\t3600\tIN\tSOA\tns1.${A_TEST} hostmaster.${A_TEST} ${serial} 10800 3600 604800 3600\n`,
  });
  const www = (ip: string | null) => ({
    owner: `www.${A_TEST}`,
    type: 1,
    ttl: 300,
    text: ip === null ? '' : `www.${A_TEST}\t300\tIN\tA\t${ip}\n`,
  });
  const patchMsg = (
    seq: number,
    version: number,
    from: number,
    changes: ReturnType<typeof www>[],
  ): ZonesMessage => ({
    type: 'switchboard:zones',
    kind: 'update',
    seq,
    last: true,
    zones: [{ name: A_TEST, version, serial: version, text: null, patch: { from, changes } }],
  });

  async function setup(
    t: { after: (f: () => Promise<void>) => void },
    readZone?: (n: string) => Promise<{ version: number; serial: number; text: string } | null>,
    extra: string[] = [],
  ) {
    const writer = new PackWriter();
    const reader = new PackReader(writer.dir);
    const pool = new CompilePool({ threads: 1 });
    const infos: string[] = [];
    const errors: string[] = [];
    const sent: ZonesMessage[] = [];
    const shipper = new ImageShipper(writer, {
      broadcast: (m) => sent.push(m),
      ...(readZone ? { readZone } : {}),
      log: { error: (m) => errors.push(m), warn: () => {}, info: (m) => infos.push(m) },
    });
    t.after(async () => {
      shipper.close();
      await pool.close();
      writer.close();
    });
    shipper.ship(text('snapshot', 1, [[A_TEST, 1, lines(1, extra)]]), pool);
    await shipper.shipped();
    shipper.snapshot(0);
    const served = () => reader.open((shipper.get(A_TEST) as { ref: ImageRef }).ref);
    const want = (t2: string) => compileZone(loadZoneText(t2, { origin: A_TEST, strict: false }).zone);
    return { shipper, pool, served, want, infos, errors, sent };
  }

  test('a diff patches the served image: the image of the new text, no text read', async (t) => {
    let reads = 0;
    const s = await setup(t, async () => {
      reads++;
      return null;
    });
    s.shipper.ship(patchMsg(2, 2, 1, [soa(2), www('192.0.2.80')]), s.pool);
    await s.shipper.shipped();
    assert.equal(s.shipper.get(A_TEST)?.version, 2);
    assert.deepEqual(
      Buffer.from(s.served()),
      Buffer.from(s.want(lines(2, [`www.${A_TEST}\t300\tIN\tA\t192.0.2.80`]))),
    );
    // A name added (www): a delta image since names added and removed are (ixfrdelta).
    assert.deepEqual(s.shipper.patchStats, { patched: 1, deltas: 1, fullReads: 0 });
    assert.equal(reads, 0);
    assert.match(s.infos.join('\n'), /1 patched \(1 of them delta images\), 0 compiled from text/);
  });

  test('a change to names the zone has is a delta image, sent to the workers as trusted when big', async (t) => {
    // Over EAGER_OPEN_BYTES (a big image: the workers opened its version before on arrival).
    const big = Array.from(
      { length: 1500 },
      (_, i) => `t${i}.${A_TEST}\t300\tIN\tTXT\t"${'x'.repeat(200)}"`,
    ).sort();
    const s = await setup(t, undefined, big);
    const ns1 = (ip: string) => ({
      owner: `ns1.${A_TEST}`,
      type: 1,
      ttl: 300,
      text: `ns1.${A_TEST}\t300\tIN\tA\t${ip}\n`,
    });
    s.shipper.ship(patchMsg(2, 2, 1, [soa(2), ns1('192.0.2.54')]), s.pool);
    await s.shipper.shipped();
    assert.equal(s.shipper.get(A_TEST)?.version, 2);
    // ns1 is the apex NS's target: the apex (its NS answer's additional data) made again too.
    const text2 = lines(2, big).replace('192.0.2.53', '192.0.2.54');
    assert.deepEqual(Buffer.from(s.served()), Buffer.from(s.want(text2)));
    assert.deepEqual(s.shipper.patchStats, { patched: 1, deltas: 1, fullReads: 0 });
    const push = s.sent.flatMap((m) => m.zones).find((z) => z.name === A_TEST && z.version === 2);
    assert.equal(push?.trusted, true);
    // SWITCHBOARD_DELTA_IMAGE=off (read by the compile thread per job): compiled whole, not trusted.
    process.env.SWITCHBOARD_DELTA_IMAGE = 'off';
    try {
      const off = new CompilePool({ threads: 1 });
      t.after(() => off.close());
      s.shipper.ship(patchMsg(3, 3, 2, [soa(3), ns1('192.0.2.55')]), off);
      await s.shipper.shipped();
    } finally {
      delete process.env.SWITCHBOARD_DELTA_IMAGE;
    }
    assert.deepEqual(
      Buffer.from(s.served()),
      Buffer.from(s.want(lines(3, big).replace('192.0.2.53', '192.0.2.55'))),
    );
    assert.deepEqual(s.shipper.patchStats, { patched: 2, deltas: 1, fullReads: 0 });
    const push3 = s.sent.flatMap((m) => m.zones).find((z) => z.name === A_TEST && z.version === 3);
    assert.equal(push3?.trusted, undefined);
  });

  test('a burst of diffs to one zone is merged into one patch from the served version', async (t) => {
    const s = await setup(t);
    // Three messages given at once: the first has not taken its turn when the others arrive.
    s.shipper.ship(patchMsg(2, 2, 1, [soa(2), www('192.0.2.1')]), s.pool);
    s.shipper.ship(patchMsg(3, 3, 2, [soa(3), www('192.0.2.2')]), s.pool);
    s.shipper.ship(patchMsg(4, 4, 3, [soa(4), { ...www(null), owner: `old.${A_TEST}` }]), s.pool);
    await s.shipper.shipped();
    assert.equal(s.shipper.get(A_TEST)?.version, 4);
    assert.deepEqual(
      Buffer.from(s.served()),
      Buffer.from(s.want(lines(4, [`www.${A_TEST}\t300\tIN\tA\t192.0.2.2`]))),
    );
    assert.deepEqual(s.shipper.patchStats, { patched: 1, deltas: 1, fullReads: 0 });
  });

  test('a diff whose base is not served, or that the patch refuses, is compiled from the text read', async (t) => {
    let now = { version: 3, serial: 3, text: lines(3, [`www.${A_TEST}\t300\tIN\tA\t192.0.2.3`]) };
    const s = await setup(t, async () => now);
    // From version 2, which was never served (its compile failed, say): the text is read.
    s.shipper.ship(patchMsg(2, 3, 2, [soa(3), www('192.0.2.3')]), s.pool);
    await s.shipper.shipped();
    assert.equal(s.shipper.get(A_TEST)?.version, 3);
    assert.deepEqual(Buffer.from(s.served()), Buffer.from(s.want(now.text)));
    assert.deepEqual(s.shipper.patchStats, { patched: 0, deltas: 0, fullReads: 1 });
    // An owner spelled with capitals: refused, the text read and compiled.
    now = {
      version: 4,
      serial: 4,
      text: lines(4, [`Mixed.${A_TEST}\t300\tIN\tA\t192.0.2.4`, `www.${A_TEST}\t300\tIN\tA\t192.0.2.3`]),
    };
    s.shipper.ship(
      patchMsg(3, 4, 3, [
        soa(4),
        { ...www('192.0.2.4'), owner: `Mixed.${A_TEST}`, text: `Mixed.${A_TEST}\t300\tIN\tA\t192.0.2.4\n` },
      ]),
      s.pool,
    );
    await s.shipper.shipped();
    assert.equal(s.shipper.get(A_TEST)?.version, 4);
    assert.deepEqual(Buffer.from(s.served()), Buffer.from(s.want(now.text)));
    assert.deepEqual(s.shipper.patchStats, { patched: 0, deltas: 0, fullReads: 2 });
    assert.match(s.infos.join('\n'), /spelled with capitals; compiling its text/);
    assert.deepEqual(s.errors, []);
  });
});

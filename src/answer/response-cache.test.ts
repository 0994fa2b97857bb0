import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, exampleCatalog, TCP, UDP, zoneFromText } from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { EdnsOption, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { Catalog } from './catalog.js';
import { Responder } from './respond.js';
import { buildQueryKey, CacheStamp, patchResponse, QueryKey, ResponseCache } from './response-cache.js';

const k = QueryKey.of;

const { A, MX, TXT } = RRType;

/** The response with ID `id` instead of its own. */
function withId(bytes: Uint8Array, id: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  return out;
}

describe('buildQueryKey', () => {
  test('ID, RD and CD are not part of the key; case of the name is folded', () => {
    const a = buildQueryKey(buildQuery('www.example.', A, { id: 1, flags: 0x0100 }));
    const b = buildQueryKey(buildQuery('WWW.Example.', A, { id: 2, flags: 0x0010 }));
    assert.ok(a && b);
    assert.equal(a.text, b.text);
    assert.equal(a.hash, b.hash);
    assert.equal(a.mixedCase, false);
    assert.equal(b.mixedCase, true);
    assert.equal(a.qnameLength, 13);
  });

  test('type, class, EDNS bytes and counts are', () => {
    const base = buildQueryKey(buildQuery('www.example.', A))!.text;
    assert.notEqual(buildQueryKey(buildQuery('www.example.', MX))!.text, base);
    assert.notEqual(buildQueryKey(buildQuery('www.example.', A, { qclass: 3 }))!.text, base);
    const e1 = buildQueryKey(buildQuery('www.example.', A, { edns: { udpSize: 1232 } }))!.text;
    const e2 = buildQueryKey(buildQuery('www.example.', A, { edns: { udpSize: 4096 } }))!.text;
    assert.notEqual(e1, base);
    assert.notEqual(e1, e2);
  });

  test('folds exactly A-Z of the name, whatever octets its labels hold, and nothing after it', () => {
    const rand = seededRandom(11);
    for (let t = 0; t < 3000; t++) {
      // Labels of random octets (every value, A-Z and their Latin-1 look-alikes often).
      const labels: number[][] = [];
      const count = 1 + Math.floor(rand() * 4);
      for (let l = 0; l < count; l++) {
        const pick = () => {
          const r = rand();
          if (r < 0.3) return 0x41 + Math.floor(rand() * 26);
          if (r < 0.4) return 0xc1 + Math.floor(rand() * 26);
          if (r < 0.5) return [0x40, 0x5b, 0x60, 0x7b, 0xc0, 0xdb][Math.floor(rand() * 6)];
          return Math.floor(rand() * 256);
        };
        labels.push(Array.from({ length: 1 + Math.floor(rand() * 12) }, pick));
      }
      const name = labels.flatMap((l) => [l.length, ...l]);
      // QTYPE and QCLASS of octets in A-Z (65 = HTTPS), which must not fold.
      const tail = [0, 0x41, 0x5a, 0, 1];
      const query = Uint8Array.from([1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, ...tail]);
      const key = buildQueryKey(query);
      assert.ok(key);
      const fold = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
      const want = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name.map(fold), ...tail];
      assert.deepEqual([...key.bytes.subarray(0, key.length)], want);
      assert.equal(
        key.mixedCase,
        name.some((c) => fold(c) !== c),
      );
      assert.equal(key.qnameLength, name.length + 1);
    }
  });

  test('not cacheable: other opcodes, responses, several questions, compressed or broken names', () => {
    assert.equal(buildQueryKey(buildQuery('www.example.', A, { flags: 4 << 11 })), undefined);
    assert.equal(buildQueryKey(buildQuery('www.example.', A, { flags: 0x8000 })), undefined);
    const two = buildQuery('www.example.', A);
    two[5] = 2;
    assert.equal(buildQueryKey(two), undefined);
    assert.equal(
      buildQueryKey(Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1)),
      undefined,
    );
    assert.equal(buildQueryKey(Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61, 0, 1)), undefined);
    assert.equal(buildQueryKey(new Uint8Array(600)), undefined);
  });
});

describe('ResponseCache bounds', () => {
  test('entries are bounded, oldest evicted first', () => {
    const c = new ResponseCache({ maxEntries: 10, negativeShare: 0.5 });
    for (let i = 0; i < 100; i++) c.set(k(`k${i}`), new Uint8Array(20));
    assert.equal(c.size, 5);
    assert.equal(c.get(k('k94')), undefined);
    assert.ok(c.get(k('k99')));
  });

  test('bytes are bounded', () => {
    const c = new ResponseCache({ maxBytes: 1000, negativeShare: 0 });
    for (let i = 0; i < 100; i++) c.set(k(`k${i}`), new Uint8Array(100));
    assert.ok(c.bytes <= 1000, `${c.bytes}`);
    assert.ok(c.size >= 8);
  });

  test('negative answers cannot push out positive ones', () => {
    const c = new ResponseCache({ maxEntries: 100 });
    c.set(k('pos'), new Uint8Array(10));
    for (let i = 0; i < 10000; i++) c.set(k(`neg${i}`), new Uint8Array(10), true);
    assert.ok(c.get(k('pos')));
    assert.ok(c.size <= 100);
  });

  test('keys of one hash: never a hit for the other key; the last stored wins, in either partition', () => {
    const c = new ResponseCache();
    const a = k('first key');
    const b = k('second key');
    b.hash = a.hash;
    const ra = Uint8Array.of(1);
    const rb = Uint8Array.of(2);
    c.set(a, ra);
    assert.equal(c.get(b), undefined);
    assert.deepEqual(c.get(a), ra);
    c.set(b, rb, true);
    assert.equal(c.get(a), undefined);
    assert.deepEqual(c.get(b), rb);
    assert.equal(c.size, 1);
    // A key is compared whole: a longer key with the same leading octets is another key.
    const longer = k('first key!');
    longer.hash = a.hash;
    c.set(a, ra);
    assert.equal(c.get(longer), undefined);
  });

  test('FIFO by entries: with room in bytes, exactly the newest maxEntries stay', () => {
    const c = new ResponseCache({ maxEntries: 300, maxBytes: 1 << 20, negativeShare: 0 });
    for (let i = 0; i < 5000; i++) c.set(k(`key-${i}`), Uint8Array.of(i & 0xff, i >> 8));
    assert.equal(c.size, 300);
    for (let i = 0; i < 5000; i++) {
      const got = c.get(k(`key-${i}`));
      if (i < 4700) assert.equal(got, undefined, `key-${i}`);
      else assert.deepEqual(got, Uint8Array.of(i & 0xff, i >> 8), `key-${i}`);
    }
  });

  test('the ring arena: every hit is the last response stored for its key, through wraps, growth, replacements, stale entries and hash collisions', () => {
    const rand = seededRandom(7);
    for (const maxBytes of [600, 4096, 300_000]) {
      const c = new ResponseCache({ maxEntries: 400, maxBytes, negativeShare: 0.3, admission: 'first' });
      const stamps = Array.from({ length: 4 }, () => new CacheStamp());
      /** What each key last stored, with the stamps it depends on; keys of one hash replace each other. */
      const model = new Map<string, { bytes: Uint8Array; stamps: CacheStamp[] }>();
      const keys = Array.from({ length: 600 }, (_, i) => k(`key ${i}${'x'.repeat(i % 37)}`));
      // Every 50th key shares the hash of the one before it.
      for (let i = 1; i < keys.length; i += 50) keys[i].hash = keys[i - 1].hash;
      let hits = 0;
      for (let op = 0; op < 20_000; op++) {
        const key = keys[Math.floor(rand() * keys.length)];
        const r = rand();
        if (r < 0.5) {
          const bytes = new Uint8Array(1 + Math.floor(rand() * 140)).map(() => Math.floor(rand() * 256));
          const deps =
            rand() < 0.2 ? [stamps[0], stamps[1 + Math.floor(rand() * 3)]] : [stamps[Math.floor(rand() * 4)]];
          c.set(key, bytes, rand() < 0.4, deps);
          for (const other of keys) if (other.hash === key.hash) model.delete(other.text);
          model.set(key.text, { bytes, stamps: deps });
          // What was just stored is there (when it fits the partition at all, with header and padding).
          if (16 + key.length + bytes.length + 9 <= maxBytes * 0.3) assert.deepEqual(c.get(key), bytes);
        } else if (r < 0.51) {
          // A zone changes: its stamp dies and a new one takes its place.
          const i = Math.floor(rand() * 4);
          stamps[i].live = false;
          stamps[i] = new CacheStamp();
        } else {
          const got = c.get(key);
          const want = model.get(key.text);
          if (got !== undefined) {
            hits++;
            assert.ok(want, `a hit for ${key.text}, never stored or replaced by a key of its hash`);
            assert.ok(
              want.stamps.every((s) => s.live),
              'a hit built from a changed zone',
            );
            assert.deepEqual(got, want.bytes);
          }
        }
        assert.ok(c.bytes <= maxBytes, `${c.bytes} > ${maxBytes}`);
        assert.ok(c.size <= 400);
      }
      assert.ok(hits > (maxBytes > 1000 ? 100 : 20), `${hits} hits (maxBytes ${maxBytes})`);
    }
  });

  test('clear', () => {
    const c = new ResponseCache();
    c.set(k('a'), new Uint8Array(3));
    c.clear();
    assert.equal(c.size, 0);
    assert.equal(c.bytes, 0);
  });
});

describe('cached responses', () => {
  const queries: [string, number, Parameters<typeof buildQuery>[2]][] = [
    ['www.example.', A, {}],
    ['www.example.', A, { edns: { udpSize: 4096, flags: 0x8000 } }],
    ['nothing.example.', A, {}],
    ['x.wild.example.', TXT, {}],
    ['foo.deleg.example.', A, {}],
    ['www.dname.example.', A, {}],
    ['www.nowhere.test.', A, { edns: {} }],
    ['www.example.', A, { edns: { version: 1 } }],
    ['www.example.', A, { edns: { options: [{ code: EdnsOption.NSID, data: new Uint8Array(0) }] } }],
  ];

  test('a hit is the fresh answer with the new ID, RD and CD', () => {
    const r = new Responder(exampleCatalog(), { nsid: Uint8Array.of(0x61) });
    for (const [name, type, opts] of queries) {
      for (const ctx of [UDP, TCP]) {
        const fresh = r.respond(buildQuery(name, type, { ...opts, id: 1, flags: 0x0100 }), ctx)!;
        const hit = r.respond(buildQuery(name, type, { ...opts, id: 2, flags: 0x0100 }), ctx)!;
        assert.deepEqual(Buffer.from(hit), Buffer.from(withId(fresh, 2)), `${name} ${ctx.transport}`);
        const cd = r.respond(buildQuery(name, type, { ...opts, id: 3, flags: 0x0010 }), ctx)!;
        const m = decodeMessage(cd);
        assert.equal(m.flags & 0x0110, 0x0010, 'RD clear, CD set');
      }
    }
  });

  test('a hit equals the answer of an uncached responder', () => {
    const cached = new Responder(exampleCatalog());
    const uncached = new Responder(exampleCatalog(), { cache: false });
    for (const [name, type, opts] of queries) {
      const q = buildQuery(name, type, { ...opts, id: 77 });
      cached.respond(q, UDP);
      assert.deepEqual(Buffer.from(cached.respond(q, UDP)!), Buffer.from(uncached.respond(q, UDP)!), name);
    }
  });

  test('long answers (TCP, and UDP over 4096 octets) hit as the uncached answer, in the query spelling', () => {
    const txt = Array.from({ length: 60 }, (_, i) => `big TXT "${'x'.repeat(100)}${i}"`).join('\n');
    const z = zoneFromText(
      'big.example.',
      `$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n${txt}\n`,
    );
    const cached = new Responder(new Catalog([z]), { ednsSize: 65000 });
    const uncached = new Responder(new Catalog([z]), { cache: false, ednsSize: 65000 });
    for (const [ctx, edns] of [
      [TCP, undefined],
      [UDP, { udpSize: 65000 }],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const q = buildQuery(i === 2 ? 'BiG.Big.EXAMPLE.' : 'big.big.example.', TXT, { id: 40 + i, edns });
        const hit = cached.respond(q, ctx)!;
        assert.ok(hit.length > 4096, `${hit.length}`);
        assert.deepEqual(Buffer.from(hit), Buffer.from(uncached.respond(q, ctx)!), `${ctx.transport} ${i}`);
      }
    }
    assert.ok((cached.cacheStats()?.tcp.hits ?? 0) >= 1);
    assert.ok((cached.cacheStats()?.udp.hits ?? 0) >= 1);
  });

  test('the question keeps the query spelling, and so does every name compressed to it', () => {
    const r = new Responder(exampleCatalog());
    r.respond(buildQuery('www.example.', A), UDP);
    const q = buildQuery('WwW.ExAmPlE.', A, { id: 9 });
    const bytes = r.respond(q, UDP)!;
    assert.deepEqual(Buffer.from(bytes.subarray(12, 12 + 13)), Buffer.from(q.subarray(12, 12 + 13)));
    const msg = decodeMessage(bytes);
    assert.equal(msg.questions[0].name.toString(), 'WwW.ExAmPlE.');
    assert.equal(msg.answers[0].name.toString(), 'WwW.ExAmPlE.');
    // The next hit with yet another spelling gets its own.
    const again = decodeMessage(r.respond(buildQuery('WWW.EXAMPLE.', A), UDP)!);
    assert.equal(again.answers[0].name.toString(), 'WWW.EXAMPLE.');
  });

  test('wildcard owners carry the query spelling through the cache', () => {
    const r = new Responder(exampleCatalog());
    r.respond(buildQuery('foo.wild.example.', TXT), UDP);
    const msg = decodeMessage(r.respond(buildQuery('FoO.WiLd.example.', TXT), UDP)!);
    assert.equal(msg.answers[0].name.toString(), 'FoO.WiLd.example.');
  });

  test('UDP and TCP are cached apart (different size limits)', () => {
    let text = '$ORIGIN big.test.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n';
    for (let i = 0; i < 30; i++) text += `txt TXT "${i}${'x'.repeat(60)}"\n`;
    const r = new Responder(new Catalog([zoneFromText('big.test.', text)]));
    const q = buildQuery('txt.big.test.', TXT);
    const udp = decodeMessage(r.respond(q, UDP)!);
    const tcp = decodeMessage(r.respond(q, TCP)!);
    assert.equal(udp.flags & 0x0200, 0x0200);
    assert.equal(tcp.answers.length, 30);
    assert.equal(decodeMessage(r.respond(q, UDP)!).flags & 0x0200, 0x0200);
  });

  test('setCatalog to an empty catalog: REFUSED at once', () => {
    const r = new Responder(exampleCatalog());
    const q = buildQuery('www.example.', A);
    assert.equal(decodeMessage(r.respond(q, UDP)!).answers.length, 1);
    r.setCatalog(new Catalog([]));
    assert.equal(decodeMessage(r.respond(q, UDP)!).flags & 0xf, 5);
  });

  test('from an empty catalog to zones: a cached REFUSED becomes the zone answer (twice over)', () => {
    const r = new Responder(new Catalog([]), { cache: { admission: 'first' } });
    const q = buildQuery('www.example.', A);
    for (let i = 0; i < 3; i++) assert.equal(decodeMessage(r.respond(q, UDP)!).flags & 0xf, 5);
    r.setCatalog(exampleCatalog());
    assert.equal(decodeMessage(r.respond(q, UDP)!).answers.length, 1);
    // Emptied and filled again: the same holds the second time.
    r.setCatalog(new Catalog([]));
    for (let i = 0; i < 3; i++) assert.equal(decodeMessage(r.respond(q, UDP)!).flags & 0xf, 5);
    r.setCatalog(exampleCatalog());
    assert.equal(decodeMessage(r.respond(q, UDP)!).answers.length, 1);
  });

  test('patchResponse does not touch the stored bytes', () => {
    const stored = Uint8Array.from(
      new Responder(exampleCatalog()).respond(buildQuery('www.example.', A), UDP)!,
    );
    const copy = Uint8Array.from(stored);
    const q = buildQuery('WWW.EXAMPLE.', A, { id: 0xffff, flags: 0x0110 });
    const out = patchResponse(stored, q, 13);
    assert.deepEqual(stored, copy);
    assert.equal(out[0], 0xff);
    assert.notDeepEqual(out, stored);
  });
});

describe('random-subdomain flood', () => {
  test('first-miss admission: the cache stays within its bounds and keeps the popular answer', () => {
    const r = new Responder(exampleCatalog(), { cache: { maxEntries: 200, admission: 'first' } });
    const popular = buildQuery('www.example.', A);
    r.respond(popular, UDP);
    for (let i = 0; i < 5000; i++) {
      const msg = decodeMessage(r.respond(buildQuery(`r${i}x.example.`, A, { id: i }), UDP)!);
      assert.equal(msg.flags & 0xf, 3);
    }
    const before = r.cacheStats()!.udp;
    assert.ok(before.entries <= 200, `${before.entries} entries`);
    const hit = decodeMessage(r.respond(popular, UDP)!);
    assert.equal(hit.answers.length, 1);
    assert.equal(r.cacheStats()!.udp.hits, before.hits + 1, 'the popular answer was still cached');
  });

  test('unique random names never enter the cache; the hot set stays cached (doorkeeper)', () => {
    const r = new Responder(exampleCatalog(), { cache: { maxEntries: 1000 } });
    const hot = ['www.example.', 'example.', 'mail.example.', 'nothing.example.', 'sub.example.'].flatMap(
      (name) => [A, MX, TXT].map((type) => buildQuery(name, type)),
    );
    // Asked twice: the second miss is admitted.
    for (let round = 0; round < 2; round++) for (const q of hot) r.respond(q, UDP);
    const warm = r.cacheStats()!.udp;
    assert.equal(warm.entries, hot.length, 'the hot set is cached on its second miss');
    // 50,000 names never asked before (NXDOMAIN), interleaved with the hot set.
    const random = seededRandom(7);
    for (let i = 0; i < 50_000; i++) {
      const label = Math.floor(random() * 2 ** 32).toString(36);
      const msg = decodeMessage(r.respond(buildQuery(`${label}-${i}.example.`, A, { id: i & 0xffff }), UDP)!);
      assert.equal(msg.flags & 0xf, 3);
      if (i % 1000 === 0) for (const q of hot) r.respond(q, UDP);
    }
    const after = r.cacheStats()!.udp;
    // Bloom false positives let a few per cent through at worst; the bound holds regardless.
    assert.ok(after.entries - hot.length < 2500, `${after.entries - hot.length} random names cached`);
    assert.ok(after.entries <= 1000);
    const hits = after.hits;
    for (const q of hot) r.respond(q, UDP);
    assert.equal(r.cacheStats()!.udp.hits, hits + hot.length, 'every hot answer is still a hit');
  });

  test('a name asked again is cached on its second miss, and the third ask is a hit', () => {
    const r = new Responder(exampleCatalog());
    const q = buildQuery('nothing-here.example.', A);
    r.respond(q, UDP);
    assert.equal(r.cacheStats()!.udp.entries, 0, 'not stored on its first miss');
    r.respond(q, UDP);
    assert.equal(r.cacheStats()!.udp.entries, 1, 'stored on its second');
    r.respond(q, UDP);
    assert.equal(r.cacheStats()!.udp.hits, 1);
  });
});

describe('ResponseCache.admit', () => {
  test('admits a key on its second sight; forgets after doorBits / 16 new keys', () => {
    const c = new ResponseCache({ doorBits: 1024 });
    assert.equal(c.admit(k('k')), false);
    assert.equal(c.admit(k('k')), true);
    // 100 more new keys overflow the window of 64: the filter is cleared and 'k' forgotten.
    for (let i = 0; i < 100; i++) c.admit(k(`key ${i}`));
    assert.equal(c.admit(k('k')), false);
    assert.equal(new ResponseCache({ admission: 'first' }).admit(k('k')), true);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildQuery,
  CHILD_ZONE,
  EXAMPLE_NET_ZONE,
  EXAMPLE_ZONE,
  TCP,
  UDP,
  zoneFromText,
} from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import type { Message } from '../wire/message.js';
import { Name } from '../wire/name.js';
import type { Zone } from '../zone/zone.js';
import { Catalog, diffCatalogs } from './catalog.js';
import { type QueryContext, Responder } from './respond.js';
import { ZoneStamps } from './response-cache.js';

/** These tests count hits from a response's second ask: every miss is admitted to the cache. */
const FIRST = { cache: { admission: 'first' as const } };

const { A, MX, DS, NS, TXT } = RRType;

/** Sends `name`/`type` and decodes the response. */
function ask(
  r: Responder,
  name: string,
  type: number,
  ctx: QueryContext = UDP,
): { bytes: Buffer; msg: Message } {
  const bytes = Buffer.from(r.respond(buildQuery(name, type), ctx)!);
  return { bytes, msg: decodeMessage(bytes) };
}

/** The RDATA of the A records in a section, as dotted quads. */
function addresses(records: Message['answers']): string[] {
  return records.filter((rr) => rr.type === A).map((rr) => Array.from(rr.rdata).join('.'));
}

function stats(r: Responder) {
  return r.cacheStats()!.udp;
}

const EXAMPLE_NET_V2 = EXAMPLE_NET_ZONE.replace('www A 198.51.100.1', 'www A 198.51.100.2');

/** A zone of its own for cross-zone tests: B holds the targets, A points into it. */
function zoneA(extra = ''): Zone {
  return zoneFromText(
    'a.test.',
    `$TTL 300
@ SOA ns.a.test. hm.a.test. 1 7200 3600 1209600 300
@ NS ns.a.test.
ns A 192.0.2.1
www A 192.0.2.10
@ MX 10 mail.b.test.
alias CNAME www.b.test.
far CNAME www.out.test.
${extra}`,
  );
}

function zoneB(address: string): Zone {
  return zoneFromText(
    'b.test.',
    `$TTL 300
@ SOA ns.b.test. hm.b.test. 1 7200 3600 1209600 300
@ NS ns.b.test.
ns A 192.0.2.2
www A ${address}
mail A ${address}
`,
  );
}

describe('invalidation per zone', () => {
  test('a change to one zone keeps the other zones warm, and its own entries answer the new data', () => {
    const example = zoneFromText('example.', EXAMPLE_ZONE);
    const child = zoneFromText('child.example.', CHILD_ZONE);
    const r = new Responder(
      new Catalog([example, zoneFromText('example.net.', EXAMPLE_NET_ZONE), child]),
      FIRST,
    );
    const keep = [
      ['www.example.', A],
      ['nothing.example.', A],
      ['host.child.example.', A],
      ['elsewhere.test.', A],
    ] as const;
    const before = keep.map(([n, t]) => ask(r, n, t).bytes);
    assert.deepEqual(addresses(ask(r, 'www.example.net.', A).msg.answers), ['198.51.100.1']);

    r.replaceZones([zoneFromText('example.net.', EXAMPLE_NET_V2)]);
    const s0 = stats(r);
    for (const [i, [n, t]] of keep.entries()) assert.deepEqual(ask(r, n, t).bytes, before[i], n);
    const s1 = stats(r);
    assert.equal(s1.hits, s0.hits + keep.length, 'the other zones are still cached');
    assert.equal(s1.misses, s0.misses);

    assert.deepEqual(addresses(ask(r, 'www.example.net.', A).msg.answers), ['198.51.100.2']);
    const s2 = stats(r);
    assert.equal(s2.stale, s1.stale + 1, 'the changed zone entry was stale');
    assert.equal(s2.misses, s1.misses + 1);
    // And the new answer is cached in turn.
    assert.deepEqual(addresses(ask(r, 'www.example.net.', A).msg.answers), ['198.51.100.2']);
    assert.equal(stats(r).hits, s2.hits + 1);
  });

  test('setCatalog with a catalog built from scratch keeps unchanged zones warm too', () => {
    const a = zoneA();
    const r = new Responder(new Catalog([a, zoneB('192.0.2.20')]), FIRST);
    const www = ask(r, 'www.a.test.', A).bytes;
    r.setCatalog(new Catalog([a, zoneB('192.0.2.21')]));
    const hits = stats(r).hits;
    assert.deepEqual(ask(r, 'www.a.test.', A).bytes, www);
    assert.equal(stats(r).hits, hits + 1);
    assert.deepEqual(addresses(ask(r, 'www.b.test.', A).msg.answers), ['192.0.2.21']);
  });

  test("a CNAME chain from A into B stops at A: changing B keeps A's answer a hit", () => {
    const a = zoneA();
    const r = new Responder(new Catalog([a, zoneB('192.0.2.20')]), FIRST);
    const chain = ask(r, 'alias.a.test.', A).bytes;
    assert.deepEqual(
      decodeMessage(chain).answers.map((rr) => rr.type),
      [RRType.CNAME],
      'the CNAME alone: www.b.test. is another zone',
    );
    r.replaceZones([zoneB('192.0.2.30')]);
    const hits = stats(r).hits;
    assert.deepEqual(ask(r, 'alias.a.test.', A).bytes, chain);
    assert.equal(stats(r).hits, hits + 1, 'still a hit');
    assert.deepEqual(addresses(ask(r, 'www.b.test.', A).msg.answers), ['192.0.2.30']);
  });

  test('an MX target in B for a name in A: no addresses from B, and B changing or going is no matter', () => {
    const r = new Responder(new Catalog([zoneA(), zoneB('192.0.2.20')]), FIRST);
    const mx = ask(r, 'a.test.', MX).bytes;
    assert.deepEqual(decodeMessage(mx).additional, []);
    r.replaceZones([zoneB('192.0.2.40')]);
    r.replaceZones([], [Name.parse('b.test.')]);
    const hits = stats(r).hits;
    assert.deepEqual(ask(r, 'a.test.', MX).bytes, mx);
    assert.equal(stats(r).hits, hits + 1);
  });

  test('adding a child zone below a cached name: the next answer comes from the child', () => {
    const example = zoneFromText('example.', EXAMPLE_ZONE);
    const net = zoneFromText('example.net.', EXAMPLE_NET_ZONE);
    const r = new Responder(new Catalog([example, net]), FIRST);
    // Without the child zone, the parent refers (child NS in example.).
    for (let i = 0; i < 2; i++) {
      const ref = ask(r, 'host.child.example.', A).msg;
      assert.equal(ref.flags & 0x0400, 0, 'a referral: AA clear');
      assert.equal(ref.authority[0].type, NS);
    }
    const netHit = ask(r, 'www.example.net.', A).bytes;
    r.replaceZones([zoneFromText('child.example.', CHILD_ZONE)]);
    const served = ask(r, 'host.child.example.', A).msg;
    assert.equal(served.flags & 0x0400, 0x0400, 'answered by the child: AA set');
    assert.deepEqual(addresses(served.answers), ['192.0.2.61']);
    // A zone the new one cannot affect stays cached.
    const hits = stats(r).hits;
    assert.deepEqual(ask(r, 'www.example.net.', A).bytes, netHit);
    assert.equal(stats(r).hits, hits + 1);
  });

  test('removing a zone: REFUSED at once, on UDP and TCP', () => {
    const r = new Responder(new Catalog([zoneA(), zoneB('192.0.2.20')]), FIRST);
    for (const ctx of [UDP, TCP]) for (let i = 0; i < 2; i++) ask(r, 'www.b.test.', A, ctx);
    r.replaceZones([], [Name.parse('b.test.')]);
    for (const ctx of [UDP, TCP])
      assert.equal(ask(r, 'www.b.test.', A, ctx).msg.flags & 0xf, 5, ctx.transport);
    // The chain from A stops at the CNAME, as it did.
    const chain = ask(r, 'alias.a.test.', A).msg;
    assert.equal(chain.answers.length, 1);
  });

  test('removing a child zone: the parent answers again (its referral)', () => {
    const r = new Responder(
      new Catalog([zoneFromText('example.', EXAMPLE_ZONE), zoneFromText('child.example.', CHILD_ZONE)]),
      FIRST,
    );
    assert.equal(ask(r, 'host.child.example.', A).msg.flags & 0x0400, 0x0400);
    assert.equal(ask(r, 'host.child.example.', A).msg.flags & 0x0400, 0x0400);
    r.replaceZones([], [Name.parse('child.example.')]);
    const ref = ask(r, 'host.child.example.', A).msg;
    assert.equal(ref.flags & 0x0400, 0);
    assert.equal(ref.authority[0].type, NS);
  });

  test('a REFUSED name is served as soon as its zone is added', () => {
    const r = new Responder(new Catalog([zoneA()]), FIRST);
    for (let i = 0; i < 2; i++) assert.equal(ask(r, 'www.b.test.', A).msg.flags & 0xf, 5);
    r.replaceZones([zoneB('192.0.2.20')]);
    assert.deepEqual(addresses(ask(r, 'www.b.test.', A).msg.answers), ['192.0.2.20']);
  });

  test("adding zones outside A, even the targets of A's chains and MX, keeps A's answers hits", () => {
    const r = new Responder(new Catalog([zoneA()]), FIRST);
    const far = ask(r, 'far.a.test.', A).bytes;
    assert.equal(decodeMessage(far).answers.length, 1, 'the CNAME alone: www.out.test. is not ours');
    const mx = ask(r, 'a.test.', MX).bytes;
    assert.deepEqual(decodeMessage(mx).additional, []);
    const www = ask(r, 'www.a.test.', A).bytes;
    for (const zone of [
      zoneFromText('example.net.', EXAMPLE_NET_ZONE),
      zoneB('192.0.2.20'),
      zoneFromText(
        'out.test.',
        '$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.3\nwww A 192.0.2.99\n',
      ),
    ]) {
      r.replaceZones([zone]);
      const s0 = stats(r);
      assert.deepEqual(ask(r, 'far.a.test.', A).bytes, far);
      assert.deepEqual(ask(r, 'a.test.', MX).bytes, mx);
      assert.deepEqual(ask(r, 'www.a.test.', A).bytes, www);
      assert.equal(stats(r).hits, s0.hits + 3, zone.origin.toString());
    }
    assert.deepEqual(addresses(ask(r, 'www.out.test.', A).msg.answers), ['192.0.2.99']);
  });

  test('adding a top-level zone: names below it that were REFUSED are served; the zones below keep theirs', () => {
    const r = new Responder(new Catalog([zoneA()]), FIRST);
    for (let i = 0; i < 2; i++) assert.equal(ask(r, 'www.out.test.', A).msg.flags & 0xf, 5);
    const far = ask(r, 'far.a.test.', A).bytes;
    r.replaceZones([
      zoneFromText(
        'test.',
        '$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.3\nwww.out A 192.0.2.77\n',
      ),
    ]);
    assert.deepEqual(addresses(ask(r, 'www.out.test.', A).msg.answers), ['192.0.2.77']);
    const hits = stats(r).hits;
    assert.deepEqual(ask(r, 'far.a.test.', A).bytes, far, 'a.test. is more specific: still its answer');
    assert.equal(stats(r).hits, hits + 1);
  });

  test('DS at a child apex follows the parent zone as it comes and goes (RFC 4035 §3.1.4.1)', () => {
    const child = zoneFromText('child.example.', CHILD_ZONE);
    const r = new Responder(new Catalog([child]), FIRST);
    const alone = ask(r, 'child.example.', DS).msg;
    assert.equal(alone.flags & 0x0400, 0x0400, 'answered by the child: NODATA');
    assert.equal(alone.answers.length, 0);
    ask(r, 'child.example.', DS);
    r.replaceZones([zoneFromText('example.', EXAMPLE_ZONE)]);
    const parent = ask(r, 'child.example.', DS).msg;
    assert.equal(parent.authority[0].name.toString(), 'example.', "the parent's NODATA (no DS at child)");
    ask(r, 'child.example.', DS);
    r.replaceZones([], [Name.parse('example.')]);
    assert.equal(ask(r, 'child.example.', DS).msg.authority[0].name.toString(), 'child.example.');
  });

  test('zone changes never walk the cache: stale entries are dropped on their next hit', () => {
    const r = new Responder(new Catalog([zoneA(), zoneB('192.0.2.20')]), FIRST);
    for (let i = 0; i < 20; i++) ask(r, `n${i}.b.test.`, A);
    const entries = stats(r).entries;
    r.replaceZones([zoneB('192.0.2.21')]);
    assert.equal(stats(r).entries, entries, 'nothing dropped by the change itself');
    ask(r, 'n0.b.test.', A);
    assert.equal(stats(r).entries, entries, 'the stale entry was replaced by the new answer');
    assert.equal(stats(r).stale, 1);
  });
});

describe('catalog changes', () => {
  const a = zoneA();
  const b = zoneB('192.0.2.20');
  const b2 = zoneB('192.0.2.21');
  const net = zoneFromText('example.net.', EXAMPLE_NET_ZONE);
  const keysOf = (changes: ReturnType<typeof diffCatalogs>) =>
    changes.map((c) => `${c.key}:${c.before ? 'b' : '-'}${c.after ? 'a' : '-'}`).sort();

  test('withZones records the difference; diffCatalogs gives the same with or without it', () => {
    const base = new Catalog([a, b]);
    function* put() {
      yield b2;
      yield net;
      yield a; // the same object: no change
    }
    const next = base.withZones(put(), [Name.parse('a.test.'), Name.parse('nothere.')]);
    assert.equal(next.size, 3, 'a removed, then put again');
    assert.equal(next.get(Name.parse('b.test.')), b2);
    const derived = diffCatalogs(base, next);
    const scratch = diffCatalogs(base, new Catalog(next.zones));
    assert.deepEqual(keysOf(derived), keysOf(scratch));
    assert.deepEqual(keysOf(derived), [`${b.origin.key}:ba`, `${net.origin.key}:-a`]);
    assert.equal(base.size, 2, 'the base is untouched');
  });

  test('removals are found without the record too', () => {
    const base = new Catalog([a, b, net]);
    const next = new Catalog([b2]);
    assert.deepEqual(keysOf(diffCatalogs(base, next)), [
      `${a.origin.key}:b-`,
      `${b.origin.key}:ba`,
      `${net.origin.key}:b-`,
    ]);
    assert.deepEqual(diffCatalogs(base, base), []);
  });

  test('the record only applies to the catalog it was derived from', () => {
    const base = new Catalog([a]);
    const one = base.withZones([b]);
    const two = one.withZones([net]);
    assert.deepEqual(keysOf(diffCatalogs(base, two)), [`${b.origin.key}:-a`, `${net.origin.key}:-a`]);
  });
});

describe('ZoneStamps', () => {
  test('every lookup that found no zone shares one stamp', () => {
    const stamps = new ZoneStamps();
    const [s1] = stamps.stampsOf([], [Name.parse('a.b.example.com.')])!;
    const [s2] = stamps.stampsOf([], [Name.parse('x.y.')])!;
    assert.equal(s1, s2);
    // An answer from one zone carries that zone's stamp only.
    const b = zoneB('192.0.2.1');
    const ofB = stamps.stampsOf([b], [])!;
    assert.equal(ofB.length, 1);
    assert.notEqual(ofB[0], s1);
    assert.equal(stamps.size, 1);
  });

  test('a stamp is never given for a zone other than the one it knows at that origin', () => {
    const stamps = new ZoneStamps();
    const b = zoneB('192.0.2.1');
    assert.ok(stamps.stampsOf([b], []));
    assert.equal(stamps.stampsOf([zoneB('192.0.2.2')], []), undefined);
  });

  test('that stamp is killed by any addition outside our zones, not by one inside', () => {
    const stamps = new ZoneStamps();
    const a = zoneA();
    const before = new Catalog([a]);
    const [refused] = stamps.stampsOf([], [Name.parse('x.y.')])!;
    const [ofA] = stamps.stampsOf([a], [])!;
    // An addition below a.test. takes names from a.test., not from nowhere.
    const sub = zoneFromText('sub.a.test.', '$TTL 1\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n');
    stamps.applyChanges(before, diffCatalogs(before, before.withZones([sub])));
    assert.ok(refused.live);
    assert.equal(ofA.live, false);
    const after = before.withZones([sub]);
    stamps.applyChanges(after, diffCatalogs(after, after.withZones([zoneB('192.0.2.1')])));
    assert.equal(refused.live, false);
  });
});

/**
 * Property: under any sequence of zone changes, a caching responder answers every query with
 * exactly the bytes of a responder without a cache fed the same catalogs.
 */
describe('random zone changes against a responder without cache', () => {
  const ORIGINS = ['test.', 'a.test.', 'b.test.', 'sub.a.test.', 'dn.b.test.', 'example.', 'c.example.'];
  /** Names that chains and additional targets point to: the served ones and some outside. */
  const TARGET_ZONES = [...ORIGINS, 'out.net.', 'net.'];
  const OWNERS = ['', 'www', 'mail', 'alias', 'chain', 'x.dn', 'foo.wild', 'ns', 'sub', 'x.sub', 'nx', 'srv'];
  const TYPES = [A, RRType.AAAA, MX, RRType.CNAME, DS, NS, TXT, RRType.SRV, RRType.ANY];

  function run(seed: number): void {
    const rand = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    let version = 0;

    function makeZone(origin: string): Zone {
      const v = ++version;
      const lines = [
        `$TTL ${100 + (v % 7)}`,
        `@ SOA ns hm ${v} 7200 3600 1209600 ${60 + (v % 5)}`,
        '@ NS ns',
        'ns A 192.0.2.1',
      ];
      const maybe = (p: number, line: () => string) => {
        if (rand() < p) lines.push(line());
      };
      const target = () => pick(TARGET_ZONES);
      maybe(0.8, () => `www A 192.0.2.${v & 0xff}`);
      maybe(0.4, () => `www AAAA 2001:db8::${(v & 0xffff).toString(16)}`);
      maybe(0.6, () => `mail A 198.51.100.${v & 0xff}`);
      maybe(0.6, () => `@ MX 10 mail.${target()}`);
      maybe(0.3, () => `@ MX 20 www.${target()}`);
      maybe(0.6, () => `alias CNAME www.${target()}`);
      maybe(0.4, () => `chain CNAME alias.${target()}`);
      maybe(0.3, () => `dn DNAME ${target()}`);
      maybe(0.4, () => `*.wild TXT "v${v}"`);
      maybe(0.4, () => `srv SRV 0 0 80 mail.${target()}`);
      if (rand() < 0.5) {
        lines.push(`sub NS ns.sub.${origin}`, `ns.sub A 192.0.2.${(v + 1) & 0xff}`);
        maybe(0.5, () => 'sub DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7B1B4ACC3A1CA8E0A4C6C8B2');
      }
      return zoneFromText(origin, `${lines.join('\n')}\n`);
    }

    let zones = new Map<string, Zone>();
    for (const o of ORIGINS) if (rand() < 0.6) zones.set(o, makeZone(o));
    const initial = new Catalog(zones.values());
    const cached = new Responder(initial, { cache: { maxEntries: 400 } });
    const plain = new Responder(initial, { cache: false });
    const queries: { name: string; type: number }[] = [];
    for (const o of [...ORIGINS, 'out.net.', 'nowhere.'])
      for (const owner of OWNERS)
        for (const type of TYPES) queries.push({ name: owner ? `${owner}.${o}` : o, type });
    // A working set small enough to be hit again and again between changes.
    const hot = Array.from({ length: 120 }, () => pick(queries));

    for (let step = 0; step < 120; step++) {
      // One to three changes: replace, add or remove zones.
      const put: Zone[] = [];
      const remove: Name[] = [];
      const touched = new Set<string>();
      const changes = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < changes; c++) {
        const o = pick(ORIGINS);
        if (touched.has(o)) continue;
        touched.add(o);
        if (zones.has(o) && rand() < 0.25) {
          remove.push(Name.parse(o));
          zones.delete(o);
        } else {
          const z = makeZone(o);
          put.push(z);
          zones.set(o, z);
        }
      }
      zones = new Map(zones);
      // Both ways of swapping: derived (O(changes)) and built from scratch (full diff).
      if (rand() < 0.5) cached.replaceZones(put, remove);
      else cached.setCatalog(new Catalog(zones.values()));
      plain.setCatalog(cached.catalog);
      for (let i = 0; i < 60; i++) {
        const { name, type } = pick(hot);
        const ctx = rand() < 0.8 ? UDP : TCP;
        const q = buildQuery(name, type, {
          id: Math.floor(rand() * 65536),
          edns: rand() < 0.5 ? {} : undefined,
        });
        const got = cached.respond(q, ctx);
        const want = plain.respond(q, ctx);
        assert.deepEqual(Buffer.from(got!), Buffer.from(want!), `seed ${seed} step ${step}: ${name} ${type}`);
      }
    }
    const s = cached.cacheStats()!;
    assert.ok(s.udp.hits > 0 && s.udp.stale > 0, `the cache was used (${JSON.stringify(s.udp)})`);
  }

  for (const seed of [1, 2, 3, 0xcafe, 0x5eed]) test(`seed ${seed}`, () => run(seed));
});

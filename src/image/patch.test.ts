/**
 * A patched image is the image compiled from the new zone's text: random zones (delegations
 * with glue, wildcards, CNAMEs, DNAMEs, MX/SRV targets in and out of the zone, apex RRsets)
 * changed by random diffs (records added and removed, RRsets replaced and deleted, names
 * added and removed, apex changes, the SOA every time), compiled both ways and compared octet
 * for octet; the zone's text is laid out as the control plane's served text is (the SOA first,
 * then by owner key and type).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { loadZoneText } from '../zone/load.js';
import { parseZoneText } from '../zone/parser.js';
import { compileZone } from './compile.js';
import {
  COLUMN_ZONE_RECORDS,
  compilePatched,
  compilePatchedWith,
  type DeltaOutcome,
  PatchRefusedError,
  type RRsetPatch,
} from './patch.js';
import { openImage } from './reader.js';

const ORIGIN = 'p.test.';
const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  39: 'DNAME',
  46: 'RRSIG',
  47: 'NSEC',
  48: 'DNSKEY',
  257: 'CAA',
};

/** RRsets by `key/type`: owner, type, TTL, contents. */
type Content = Map<string, { owner: string; type: number; ttl: number; records: string[] }>;

function keyOf(owner: string, type: number): string {
  return `${owner.toLowerCase()}/${type}`;
}

/** The served text's order: the SOA line first, then by owner (as the store's name_key) and type. */
function render(c: Content): string {
  const sets = [...c.values()].sort((a, b) =>
    a.owner.toLowerCase() !== b.owner.toLowerCase()
      ? a.owner.toLowerCase() < b.owner.toLowerCase()
        ? -1
        : 1
      : a.type - b.type,
  );
  const lines: string[] = [];
  let soa = '';
  for (const s of sets)
    for (const r of s.records) {
      const line = `${s.owner}\t${s.ttl}\tIN\t${TYPE_NAMES[s.type]}\t${r}`;
      if (s.type === RRType.SOA) soa = line;
      else lines.push(line);
    }
  return `${[soa, ...lines].join('\n')}\n`;
}

function compileText(text: string): Uint8Array {
  return compileZone(loadZoneText(text, { origin: ORIGIN, strict: false }).zone);
}

function patchOf(c: Content, key: string, owner: string, type: number): RRsetPatch {
  const s = c.get(key);
  if (!s || s.records.length === 0) return { name: Name.parse(owner), type, ttl: 0, rdata: [] };
  const text = s.records.map((r) => `${s.owner}\t${s.ttl}\tIN\t${TYPE_NAMES[type]}\t${r}`).join('\n');
  const rrs = parseZoneText(text, { origin: ORIGIN });
  return { name: Name.parse(owner), type, ttl: s.ttl, rdata: rrs.map((r) => r.rdata) };
}

class Gen {
  readonly r: () => number;
  serial = 1;
  constructor(seed: number) {
    this.r = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  label(): string {
    return this.pick(['www', 'mail', 'a', 'b', 'c', 'x1', 'deep', 'sub', 'ns1', 'ns2', '*', 'api', 'z']);
  }
  owner(): string {
    const depth = this.int(4);
    if (depth === 0) return ORIGIN;
    const labels: string[] = [];
    for (let i = 0; i < depth; i++) labels.push(this.label());
    // A wildcard only leftmost.
    for (let i = 1; i < labels.length; i++) if (labels[i] === '*') labels[i] = 'w';
    return `${labels.join('.')}.${ORIGIN}`;
  }
  target(): string {
    return this.r() < 0.6 ? this.owner().replace('*', 'w') : this.pick(['ns.example.net.', 'mx.other.test.']);
  }
  rdata(type: number): string {
    switch (type) {
      case RRType.A:
        return `192.0.2.${this.int(250)}`;
      case RRType.AAAA:
        return `2001:db8::${this.int(9999).toString(16)}`;
      case RRType.NS:
        return this.target();
      case RRType.CNAME:
      case RRType.DNAME:
        return this.target();
      case RRType.MX:
        return `${this.int(50)} ${this.target()}`;
      case RRType.TXT:
        return `"t${this.int(1000)}" "${'y'.repeat(this.int(40))}"`;
      case RRType.SRV:
        return `${this.int(10)} ${this.int(10)} ${this.int(65535)} ${this.target()}`;
      case 257:
        return `0 issue "ca${this.int(9)}.example"`;
      default:
        throw new Error(`type ${type}`);
    }
  }
  type(owner: string): number {
    if (owner === ORIGIN) return this.pick([RRType.A, RRType.AAAA, RRType.MX, RRType.TXT, RRType.NS, 257]);
    return this.pick([
      RRType.A,
      RRType.A,
      RRType.AAAA,
      RRType.NS,
      RRType.CNAME,
      RRType.MX,
      RRType.TXT,
      RRType.SRV,
      RRType.DNAME,
      257,
    ]);
  }
  soa(c: Content): void {
    c.set(keyOf(ORIGIN, RRType.SOA), {
      owner: ORIGIN,
      type: RRType.SOA,
      ttl: 3600,
      records: [`ns1.p.test. host.p.test. ${this.serial++} 7200 900 1209600 ${300 + this.int(3)}`],
    });
  }
  records(type: number): string[] {
    const n = type === RRType.CNAME || type === RRType.DNAME ? 1 : 1 + this.int(3);
    return [...new Set(Array.from({ length: n }, () => this.rdata(type)))];
  }
  zone(sets: number): Content {
    const c: Content = new Map();
    this.soa(c);
    c.set(keyOf(ORIGIN, RRType.NS), {
      owner: ORIGIN,
      type: RRType.NS,
      ttl: 3600,
      records: ['ns1.p.test.', 'ns.example.net.'],
    });
    c.set(keyOf('ns1.p.test.', RRType.A), {
      owner: 'ns1.p.test.',
      type: RRType.A,
      ttl: 3600,
      records: ['192.0.2.53'],
    });
    for (let i = 0; i < sets; i++) this.change(c);
    return c;
  }
  /**
   * One random edit that keeps the zone's names (what a delta image takes): a record replaced,
   * added or removed, a TTL changed, or an RRset of A, AAAA, TXT, MX, SRV or CAA added to or
   * removed from a name that keeps others.
   */
  changeInPlace(c: Content): { key: string; owner: string; type: number }[] {
    const sets = [...c.values()].filter(
      (s) =>
        s.type !== RRType.SOA && s.type !== RRType.CNAME && s.type !== RRType.DNAME && s.type !== RRType.NS,
    );
    if (sets.length === 0) return [];
    const s = this.pick(sets);
    const key = keyOf(s.owner, s.type);
    const what = this.r();
    const others = [...c.values()].filter((o) => o.owner === s.owner && o !== s).length;
    if (what < 0.15 && others > 0) c.delete(key);
    else if (what < 0.3) {
      const type = this.pick([RRType.A, RRType.AAAA, RRType.TXT, RRType.MX, RRType.SRV, 257]);
      if (s.owner === ORIGIN && type === RRType.SRV) return [];
      c.set(keyOf(s.owner, type), {
        owner: s.owner,
        type,
        ttl: 60 + this.int(4) * 300,
        records: this.records(type),
      });
      return [{ key: keyOf(s.owner, type), owner: s.owner, type }];
    } else if (what < 0.45) s.ttl = 60 + this.int(1000);
    else if (what < 0.7) s.records = [...new Set([...s.records, this.rdata(s.type)])];
    else s.records = [this.rdata(s.type), ...s.records.slice(1)].filter((r, i, a) => a.indexOf(r) === i);
    return [{ key, owner: s.owner, type: s.type }];
  }

  /**
   * A name added (an RRset of A, AAAA, TXT, MX, SRV or CAA at a name the zone does not hold,
   * maybe several labels below one it does: empty non-terminals come with it) or removed (every
   * RRset of a name that is no cut, CNAME or DNAME: its parents may lose their last child).
   */
  changeNames(c: Content): { key: string; owner: string; type: number }[] {
    const owners = new Set([...c.values()].map((s) => s.owner.toLowerCase()));
    if (this.r() < 0.5) {
      let owner = this.owner().replace('*', 'w');
      if (owners.has(owner)) owner = `n${this.int(1000)}.${owner}`;
      if (owners.has(owner) || owner === ORIGIN) return [];
      const type = this.pick([RRType.A, RRType.AAAA, RRType.TXT, RRType.MX, RRType.SRV, 257]);
      c.set(keyOf(owner, type), { owner, type, ttl: 60 + this.int(4) * 300, records: this.records(type) });
      return [{ key: keyOf(owner, type), owner, type }];
    }
    const plain = [...owners].filter(
      (o) =>
        o !== ORIGIN &&
        ![...c.values()].some(
          (s) => s.owner.toLowerCase() === o && (s.type === RRType.NS || s.type === RRType.CNAME),
        ),
    );
    if (plain.length === 0) return [];
    const owner = this.pick(plain);
    const out: { key: string; owner: string; type: number }[] = [];
    for (const [key, s] of c)
      if (s.owner.toLowerCase() === owner) {
        c.delete(key);
        out.push({ key, owner: s.owner, type: s.type });
      }
    return out;
  }

  /** One random edit of `c`; returns the keys it touched. */
  change(c: Content): { key: string; owner: string; type: number }[] {
    const what = this.r();
    const existing = [...c.values()].filter((s) => s.type !== RRType.SOA);
    if (what < 0.25 && existing.length > 0) {
      // delete an RRset (or remove a record)
      const s = this.pick(existing);
      const key = keyOf(s.owner, s.type);
      if (s.records.length > 1 && this.r() < 0.5) s.records = s.records.filter((_, i) => i !== 0);
      else c.delete(key);
      return [{ key, owner: s.owner, type: s.type }];
    }
    if (what < 0.45 && existing.length > 0) {
      // add a record to an RRset, or change its TTL
      const s = this.pick(existing);
      if (s.type !== RRType.CNAME && s.type !== RRType.DNAME)
        s.records = [...new Set([...s.records, this.rdata(s.type)])];
      else s.ttl = 60 + this.int(1000);
      return [{ key: keyOf(s.owner, s.type), owner: s.owner, type: s.type }];
    }
    // a new or replaced RRset
    const owner = this.owner();
    const type = this.type(owner);
    const key = keyOf(owner, type);
    c.set(key, { owner, type, ttl: 60 + this.int(4) * 300, records: this.records(type) });
    return [{ key, owner, type }];
  }
}

/** How the last `compare` made its image (`delta.image` undefined: compiled whole). */
let lastDelta: DeltaOutcome | undefined;

/** Compiles both ways; returns undefined when they agree (or both refuse the zone). */
function compare(base: Uint8Array, after: Content, patches: RRsetPatch[]): string | undefined {
  lastDelta = undefined;
  let want: Uint8Array | undefined;
  let wantError: string | undefined;
  try {
    want = compileText(render(after));
  } catch (e) {
    wantError = (e as Error).message;
  }
  let got: Uint8Array;
  try {
    const made = compilePatchedWith(openImage(base), patches);
    got = made.image;
    lastDelta = made.delta;
    // A delta image passes the reader's full checks too.
    if (made.delta.image !== undefined) openImage(got);
  } catch (e) {
    if (wantError !== undefined) return undefined;
    return `patched compile threw ${(e as Error).message}`;
  }
  if (want === undefined) return `the text does not compile (${wantError}), the patch did`;
  if (Buffer.compare(got, want) !== 0) {
    let at = 0;
    while (at < got.length && got[at] === want[at]) at++;
    return `${got.length} octets vs ${want.length}, first difference at ${at}`;
  }
  return undefined;
}

describe('patched images', () => {
  test('equal the image of the new text on 400 random zones and diffs', () => {
    let compared = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const g = new Gen(seed);
      const c = g.zone(5 + g.int(40));
      let base: Uint8Array;
      try {
        base = compileText(render(c));
      } catch {
        continue; // a base the control plane would not have accepted (CNAME and other data)
      }
      // A few changes in a row, each from the previous image (as the feed sends them).
      for (let step = 0; step < 3; step++) {
        const touched = new Map<string, { owner: string; type: number }>();
        const n = 1 + g.int(g.r() < 0.2 ? 30 : 4);
        for (let i = 0; i < n; i++) for (const t of g.change(c)) touched.set(t.key, t);
        g.soa(c);
        touched.set(keyOf(ORIGIN, RRType.SOA), { owner: ORIGIN, type: RRType.SOA });
        const patches = [...touched].map(([key, t]) => patchOf(c, key, t.owner, t.type));
        const problem = compare(base, c, patches);
        assert.equal(problem, undefined, `seed ${seed} step ${step}: ${problem}\n${render(c)}`);
        try {
          base = compileText(render(c));
        } catch {
          break;
        }
        compared++;
      }
    }
    assert.ok(compared > 500, `only ${compared} diffs compared`);
  });

  test('delta images (only the names a change reaches made again) equal the new text compiled, 300 zones', (t) => {
    let compared = 0;
    let deltas = 0;
    const refused = new Map<string, number>();
    for (let seed = 1000; seed < 1300; seed++) {
      const g = new Gen(seed);
      const c = g.zone(5 + g.int(60));
      // Half the zones without DNAMEs (a zone with one is compiled whole).
      if (seed % 2 === 0) for (const [k, s] of c) if (s.type === RRType.DNAME) c.delete(k);
      let base: Uint8Array;
      try {
        base = compileText(render(c));
      } catch {
        continue;
      }
      for (let step = 0; step < 4; step++) {
        const touched = new Map<string, { owner: string; type: number }>();
        const n = 1 + g.int(3);
        for (let i = 0; i < n; i++) for (const t of g.changeInPlace(c)) touched.set(t.key, t);
        // Most changes bump the serial; some leave the SOA alone, some change its other fields.
        if (g.r() < 0.85) {
          g.soa(c);
          touched.set(keyOf(ORIGIN, RRType.SOA), { owner: ORIGIN, type: RRType.SOA });
        }
        const patches = [...touched].map(([key, t]) => patchOf(c, key, t.owner, t.type));
        const problem = compare(base, c, patches);
        assert.equal(problem, undefined, `seed ${seed} step ${step}: ${problem}\n${render(c)}`);
        const d = lastDelta;
        if (d?.image !== undefined) deltas++;
        else if (d !== undefined) refused.set(d.refused, (refused.get(d.refused) ?? 0) + 1);
        try {
          base = compileText(render(c));
        } catch {
          break;
        }
        compared++;
      }
    }
    t.diagnostic(`${deltas} of ${compared} diffs by delta; compiled whole: ${JSON.stringify([...refused])}`);
    assert.ok(compared > 800, `only ${compared} diffs compared`);
    // Most of these changes are the delta path's (the rest: a change reaching a cut or a
    // wildcard, a DNAME in the zone …).
    assert.ok(
      deltas > compared / 3,
      `${deltas} of ${compared} by delta; refused ${JSON.stringify([...refused])}`,
    );
  });

  test('delta images with names added and removed equal the new text compiled, 300 zones', (t) => {
    let compared = 0;
    let deltas = 0;
    let structural = 0;
    const refused = new Map<string, number>();
    for (let seed = 5000; seed < 5300; seed++) {
      const g = new Gen(seed);
      const c = g.zone(5 + g.int(60));
      // Most zones without DNAMEs and wildcards (a name added or removed beside one goes whole).
      if (seed % 4 !== 0)
        for (const [k, s] of c) if (s.type === RRType.DNAME || s.owner.startsWith('*')) c.delete(k);
      let base: Uint8Array;
      try {
        base = compileText(render(c));
      } catch {
        continue;
      }
      for (let step = 0; step < 4; step++) {
        const names = openImage(base).nameCount;
        const touched = new Map<string, { owner: string; type: number }>();
        const n = 1 + g.int(3);
        for (let i = 0; i < n; i++)
          for (const x of g.r() < 0.6 ? g.changeNames(c) : g.changeInPlace(c)) touched.set(x.key, x);
        if (g.r() < 0.85) {
          g.soa(c);
          touched.set(keyOf(ORIGIN, RRType.SOA), { owner: ORIGIN, type: RRType.SOA });
        }
        const patches = [...touched].map(([key, x]) => patchOf(c, key, x.owner, x.type));
        const problem = compare(base, c, patches);
        assert.equal(problem, undefined, `seed ${seed} step ${step}: ${problem}\n${render(c)}`);
        const d = lastDelta;
        if (d?.image !== undefined) {
          deltas++;
          if (d.names !== names) structural++;
        } else if (d !== undefined) refused.set(d.refused, (refused.get(d.refused) ?? 0) + 1);
        try {
          base = compileText(render(c));
        } catch {
          break;
        }
        compared++;
      }
    }
    t.diagnostic(
      `${deltas} of ${compared} diffs by delta, ${structural} of them with names added or removed; compiled whole: ${JSON.stringify([...refused])}`,
    );
    assert.ok(compared > 800, `only ${compared} diffs compared`);
    assert.ok(structural > compared / 4, `${structural} of ${compared} by delta with names added or removed`);
  });

  test('a change that signs the zone is compiled whole (its image gains the proof index)', () => {
    const c: Content = new Map();
    const put = (owner: string, type: number, records: string[]): void => {
      c.set(keyOf(owner, type), { owner, type, ttl: 3600, records });
    };
    put(ORIGIN, RRType.SOA, ['ns.p.test. host.p.test. 1 3600 900 604800 300']);
    put(ORIGIN, RRType.NS, ['ns.p.test.']);
    put(`ns.${ORIGIN}`, RRType.A, ['192.0.2.1']);
    put(`www.${ORIGIN}`, RRType.A, ['192.0.2.2']);
    const base = compileText(render(c));
    const key = 'mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==';
    const sig = `20300101000000 20200101000000 12345 ${ORIGIN} ${key}`;
    put(ORIGIN, RRType.DNSKEY, [`257 3 13 ${key}`]);
    put(ORIGIN, RRType.RRSIG, [`SOA 13 2 3600 ${sig}`, `NS 13 2 3600 ${sig}`, `NSEC 13 2 300 ${sig}`]);
    put(ORIGIN, RRType.NSEC, [`ns.${ORIGIN} NS SOA RRSIG NSEC DNSKEY`]);
    put(`ns.${ORIGIN}`, RRType.NSEC, [`www.${ORIGIN} A NSEC`]);
    put(`www.${ORIGIN}`, RRType.NSEC, [`${ORIGIN} A NSEC`]);
    const patches = [RRType.DNSKEY, RRType.RRSIG, RRType.NSEC].map((t) =>
      patchOf(c, keyOf(ORIGIN, t), ORIGIN, t),
    );
    for (const owner of [`ns.${ORIGIN}`, `www.${ORIGIN}`])
      patches.push(patchOf(c, keyOf(owner, RRType.NSEC), owner, RRType.NSEC));
    assert.equal(compare(base, c, patches), undefined);
    assert.equal(lastDelta?.image, undefined);
    assert.equal(lastDelta?.refused, 'kind of change');
  });

  test('SWITCHBOARD_DELTA_IMAGE=off compiles every patch whole, with the same octets', () => {
    const g = new Gen(11);
    const c = g.zone(30);
    const base = compileText(render(c));
    const touched = g.changeInPlace(c);
    g.soa(c);
    touched.push({ key: keyOf(ORIGIN, RRType.SOA), owner: ORIGIN, type: RRType.SOA });
    const patches = touched.map((t) => patchOf(c, t.key, t.owner, t.type));
    const on = compilePatchedWith(openImage(base), patches);
    process.env.SWITCHBOARD_DELTA_IMAGE = 'off';
    try {
      const off = compilePatchedWith(openImage(base), patches);
      assert.equal(off.delta.image, undefined);
      assert.deepEqual(off.image, on.image);
    } finally {
      delete process.env.SWITCHBOARD_DELTA_IMAGE;
    }
  });

  test('a big zone (built as columns) patched equals its text compiled', () => {
    const c: Content = new Map();
    const g = new Gen(7);
    g.soa(c);
    c.set(keyOf(ORIGIN, RRType.NS), {
      owner: ORIGIN,
      type: RRType.NS,
      ttl: 3600,
      records: ['ns.example.net.'],
    });
    for (let i = 0; i < COLUMN_ZONE_RECORDS + 100; i++)
      c.set(keyOf(`h${i}.${ORIGIN}`, RRType.A), {
        owner: `h${i}.${ORIGIN}`,
        type: RRType.A,
        ttl: 300,
        records: [`10.0.${(i >> 8) & 255}.${i & 255}`],
      });
    const base = compileText(render(c));
    c.set(keyOf(`h5.${ORIGIN}`, RRType.A), {
      owner: `h5.${ORIGIN}`,
      type: RRType.A,
      ttl: 300,
      records: ['10.9.9.9'],
    });
    c.delete(keyOf(`h6.${ORIGIN}`, RRType.A));
    c.set(keyOf(`new.${ORIGIN}`, RRType.TXT), {
      owner: `new.${ORIGIN}`,
      type: RRType.TXT,
      ttl: 60,
      records: ['"hi"'],
    });
    g.soa(c);
    const patches = [
      patchOf(c, keyOf(`h5.${ORIGIN}`, RRType.A), `h5.${ORIGIN}`, RRType.A),
      patchOf(c, keyOf(`h6.${ORIGIN}`, RRType.A), `h6.${ORIGIN}`, RRType.A),
      patchOf(c, keyOf(`new.${ORIGIN}`, RRType.TXT), `new.${ORIGIN}`, RRType.TXT),
      patchOf(c, keyOf(ORIGIN, RRType.SOA), ORIGIN, RRType.SOA),
    ];
    assert.equal(compare(base, c, patches), undefined);
    assert.ok(lastDelta?.image !== undefined, 'a name added and one removed: a delta image');
    // One record replaced (and the SOA): the delta path, the same octets.
    const base2 = compileText(render(c));
    c.set(keyOf(`h7.${ORIGIN}`, RRType.A), {
      owner: `h7.${ORIGIN}`,
      type: RRType.A,
      ttl: 300,
      records: ['10.7.7.7'],
    });
    g.soa(c);
    const one = [
      patchOf(c, keyOf(`h7.${ORIGIN}`, RRType.A), `h7.${ORIGIN}`, RRType.A),
      patchOf(c, keyOf(ORIGIN, RRType.SOA), ORIGIN, RRType.SOA),
    ];
    assert.equal(compare(base2, c, one), undefined);
    const d = lastDelta as DeltaOutcome | undefined;
    assert.ok(d?.image !== undefined && d.rebuilt === 2, JSON.stringify(d && { ...d, image: undefined }));
  });

  test('refuses owners spelled with capitals (the text would decide the spelling)', () => {
    const g = new Gen(3);
    const c = g.zone(3);
    c.set(keyOf(`Www.${ORIGIN}`, RRType.A), {
      owner: `Www.${ORIGIN}`,
      type: RRType.A,
      ttl: 60,
      records: ['192.0.2.1'],
    });
    const mixed = openImage(compileText(render(c)));
    assert.throws(() => compilePatched(mixed, []), PatchRefusedError);
    c.delete(keyOf(`Www.${ORIGIN}`, RRType.A));
    const plain = openImage(compileText(render(c)));
    c.set(keyOf(`Mail.${ORIGIN}`, RRType.A), {
      owner: `Mail.${ORIGIN}`,
      type: RRType.A,
      ttl: 60,
      records: ['192.0.2.2'],
    });
    assert.throws(
      () =>
        compilePatched(plain, [patchOf(c, keyOf(`Mail.${ORIGIN}`, RRType.A), `Mail.${ORIGIN}`, RRType.A)]),
      PatchRefusedError,
    );
  });
});

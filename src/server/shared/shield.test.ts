import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, exampleCatalog, UDP } from '../../../test/helpers/answer-fixtures.js';
import { Responder } from '../../answer/respond.js';
import { CookieStatus, checkCookie, cookieClock } from '../../shield/cookies.js';
import { authorityOwnerHash, NodeShield } from '../../shield/node-shield.js';
import { PrefixSet } from '../../shield/prefix-set.js';
import { nativeZoneKey } from '../../transport/native-shield.js';
import { EdnsOption, RRType } from '../../wire/constants.js';
import { decodeMessage } from '../../wire/decode.js';
import { findEdnsOption } from '../../wire/edns.js';
import { fullRcode } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import { QueryView } from '../../wire/query-view.js';
import { isShieldZonesMessage, mergeShieldZones, onsetLine, zoneClassifier } from './shield.js';

const catalog = exampleCatalog();
const classify = zoneClassifier(() => catalog);
const EXAMPLE_KEY = nativeZoneKey(Buffer.from(Name.parse('example.').key, 'latin1'));

function signal(name: string, type = RRType.A) {
  const v = new QueryView();
  assert.ok(v.parse(buildQuery(name, type)));
  return { ...classify(v) };
}

describe("zoneClassifier (the Node path's zone signal, as image.c classifies)", () => {
  test('exact names, delegations, DNAMEs, wildcards and empty non-terminals exist; others are missing', () => {
    for (const name of [
      'www.example.',
      'example.',
      'foo.deleg.example.', // below a delegation: a referral
      'a.b.deleg.example.',
      'x.wild.example.', // wildcard
      'b.ent.example.', // an empty non-terminal
      'zz.ent.example.', // *.ent
      'q.dname.example.', // below a DNAME
    ])
      assert.deepEqual(signal(name), { inZone: true, exists: true, zoneKey: EXAMPLE_KEY }, name);
    for (const name of ['nothere.example.', 'a.nothere.example.', 'x.www.example.'])
      assert.deepEqual(signal(name), { inZone: true, exists: false, zoneKey: EXAMPLE_KEY }, name);
    assert.equal(signal('nothere.child.example.').exists, false);
    assert.notEqual(signal('host.child.example.').zoneKey, EXAMPLE_KEY);
    assert.deepEqual(signal('www.elsewhere.test.'), { inZone: false, exists: true, zoneKey: 0 });
  });
});

describe('NodeShield (the shield on the Node UDP path)', () => {
  const secret = new Uint8Array(16).fill(7);
  const responder = new Responder(catalog, {});
  const make = (extra: Partial<ConstructorParameters<typeof NodeShield>[0]> = {}) =>
    new NodeShield({ mode: 'on', secrets: [secret], allow: new PrefixSet(), rrl: null, ...extra });
  const run = (shield: NodeShield, q: Uint8Array, from = '192.0.2.77', now = 1000) =>
    shield.handle(q, from, now, classify, () => responder.respond(q, UDP));
  const client = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const withCookie = (name: string, data: Uint8Array) =>
    buildQuery(name, RRType.A, { edns: { options: [{ code: EdnsOption.COOKIE, data }] } });

  test('a malformed COOKIE option gets FORMERR; a client cookie gets our server cookie in the answer', () => {
    const sh = make();
    const formerr = decodeMessage(run(sh, withCookie('www.example.', Uint8Array.of(1, 2, 3))) as Uint8Array);
    assert.equal(fullRcode(formerr), 1);
    const q = withCookie('www.example.', client);
    const r = decodeMessage(run(sh, q) as Uint8Array);
    assert.equal(fullRcode(r), 0);
    assert.equal(r.answers.length, 1);
    const cookie = findEdnsOption(r.edns, EdnsOption.COOKIE)?.data as Uint8Array;
    assert.equal(cookie.length, 24);
    assert.deepEqual(cookie.subarray(0, 8), client);
    // What we sent verifies under our secret for that address, and is sent back as it is.
    const again = withCookie('www.example.', cookie);
    const view = new QueryView();
    assert.ok(view.parse(again));
    const secrets = { current: secret, accepted: [] } as never;
    assert.equal(
      checkCookie(
        again,
        view.cookieAt,
        view.cookieLength,
        Uint8Array.of(192, 0, 2, 77),
        cookieClock(),
        secrets,
      ),
      CookieStatus.valid,
    );
    assert.deepEqual(findEdnsOption(decodeMessage(run(sh, again) as Uint8Array).edns, 10)?.data, cookie);
    assert.deepEqual(sh.stats(1000).cookies, [0, 1, 1, 0, 1]);
  });

  test('a random-subdomain flood: the zone is called attacked, missing names shed (BADCOOKIE for cookie clients), existing names answered', () => {
    const sh = make({ zones: { minNxPerSecond: 50, holdSeconds: 2, budgetFloor: 5 } });
    let t = 0;
    for (let s = 0; s < 4; s++)
      for (let i = 0; i < 200; i++) {
        t = s * 1000 + i * 4;
        run(sh, buildQuery(`r${s}x${i}.example.`, RRType.A, { id: i }), `198.51.100.${i % 200}`, t);
      }
    const st = sh.stats(t);
    assert.deepEqual(st.attacked, [EXAMPLE_KEY]);
    assert.deepEqual(st.events, [[EXAMPLE_KEY, 1]]);
    assert.ok(st.dropped > 300, `dropped ${st.dropped}`);
    assert.ok(st.shedBudget[0] > 300);
    // An existing name is answered; a missing one from a cookie client gets BADCOOKIE and a cookie.
    assert.equal(
      fullRcode(decodeMessage(run(sh, buildQuery('www.example.', RRType.A), '203.0.113.1', t) as Uint8Array)),
      0,
    );
    const bad = decodeMessage(run(sh, withCookie('zzz.example.', client), '203.0.113.2', t) as Uint8Array);
    assert.equal(fullRcode(bad), 23);
    assert.equal(findEdnsOption(bad.edns, 10)?.data.length, 24);
  });

  test("RRL's key without a zone signal: the first authority owner (an NXDOMAIN's zone, a referral's delegation)", () => {
    const key = (name: string) => nativeZoneKey(Buffer.from(Name.parse(name).key, 'latin1'));
    const reply = (name: string) => responder.respond(buildQuery(name, RRType.A), UDP) as Uint8Array;
    // The SOA owner is compressed against the question; the case of the QNAME does not matter.
    assert.equal(authorityOwnerHash(reply('nothere.example.')), EXAMPLE_KEY);
    assert.equal(authorityOwnerHash(reply('R4nd0m.EXAMPLE.')), EXAMPLE_KEY);
    assert.equal(authorityOwnerHash(reply('nx.example.')), EXAMPLE_KEY); // past a CNAME in the answer
    assert.equal(authorityOwnerHash(reply('a.b.deleg.example.')), key('deleg.example.'));
    assert.equal(authorityOwnerHash(reply('www.example.').subarray(0, 12)), 0);
    // A pointer loop: unreadable, 0.
    const loop = Uint8Array.of(0, 0, 0x81, 0x83, 0, 0, 0, 0, 0, 1, 0, 0, 0xc0, 12);
    assert.equal(authorityOwnerHash(loop), 0);
  });

  test('dry run counts and sheds nothing; RRL slips the first limited answer and every second after it; the allow-list is never limited', () => {
    const dry = make({ mode: 'dry-run', zones: { minNxPerSecond: 50, budgetFloor: 5 } });
    let answered = 0;
    for (let s = 0; s < 4; s++)
      for (let i = 0; i < 200; i++)
        if (run(dry, buildQuery(`r${s}x${i}.example.`, RRType.A), `198.51.100.${i % 200}`, s * 1000 + i * 4))
          answered++;
    assert.equal(answered, 800);
    assert.ok(dry.stats(4000).wouldDrop > 300);

    const rrl = make({ rrl: { responsesPerSecond: 5, slip: 2 }, allow: new PrefixSet(['192.0.2.0/24']) });
    const tally = { full: 0, tc: 0, none: 0 };
    for (let i = 0; i < 30; i++) {
      const r = run(rrl, buildQuery('www.example.', RRType.A, { id: i }), '198.51.100.9', 1000);
      if (r === null) tally.none++;
      else if (r[2] & 0x02) tally.tc++;
      else tally.full++;
    }
    // 25 limited: the 1st, 3rd … 25th truncated (BIND's order), the others dropped.
    assert.deepEqual(tally, { full: 5, tc: 13, none: 12 });
    let allowed = 0;
    for (let i = 0; i < 30; i++)
      if (run(rrl, buildQuery('www.example.', RRType.A), '192.0.2.1', 1000)) allowed++;
    assert.equal(allowed, 30);
    // A zone's own RRL rate applies with the server's RRL off.
    const own = make({ zoneSettings: new Map([[EXAMPLE_KEY, { rrlRates: [2, 2, 2, 2, 2] }]]) });
    let full = 0;
    for (let i = 0; i < 10; i++) {
      const r = run(own, buildQuery('www.example.', RRType.A), '198.51.100.9', 1000);
      if (r && (r[2] & 0x02) === 0) full++;
    }
    assert.equal(full, 2);
  });
});

describe('ipv4Octets', () => {
  test('dotted quads and IPv4-mapped addresses; anything else is left to the full parser', async () => {
    const { ipv4Octets } = await import('../../shield/node-shield.js');
    const out = new Uint8Array(4);
    assert.deepEqual(ipv4Octets('192.0.2.255', out), Uint8Array.of(192, 0, 2, 255));
    assert.deepEqual(ipv4Octets('::ffff:10.1.2.3', out), Uint8Array.of(10, 1, 2, 3));
    assert.deepEqual(ipv4Octets('::FFFF:10.1.2.4', out), Uint8Array.of(10, 1, 2, 4));
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1..2.3',
      '1.2.3.4 ',
      '::1',
      '2001:db8::1',
      '::fffe:1.2.3.4',
      '0001.2.3.4',
    ])
      assert.equal(ipv4Octets(bad, out), undefined, bad);
  });
});

describe("zones' shield settings from the control plane (start)", () => {
  test('merged with --shield-zone: the flag wins field by field, the others from the API', () => {
    const flags = [
      { name: 'a.test.', minNxPerSecond: 500, rrl: { responses: 5 } },
      { name: 'b.test.', metrics: true },
    ];
    const api = [
      { name: 'a.test.', minNxPerSecond: 9000, budgetFloor: 30, rrl: { responses: 1000, nxdomains: 7 } },
      { name: 'C.Test.', metrics: true },
    ];
    const { zones, dropped } = mergeShieldZones(flags, api);
    assert.equal(dropped, 0);
    assert.deepEqual(zones, [
      { name: 'a.test.', minNxPerSecond: 500, budgetFloor: 30, rrl: { responses: 5, nxdomains: 7 } },
      { name: 'b.test.', metrics: true },
      { name: 'c.test.', metrics: true },
    ]);
  });

  test('bounded as the flag is: 1,024 zones (flags first), 100 in the metrics', () => {
    const flags = Array.from({ length: 1000 }, (_, i) => ({ name: `f${i}.test.`, metrics: i < 90 }));
    const api = Array.from({ length: 40 }, (_, i) => ({ name: `a${i}.test.`, metrics: true }));
    const { zones, dropped } = mergeShieldZones(flags, api);
    assert.equal(zones.length, 1024);
    assert.equal(zones.filter((z) => z.metrics).length, 100);
    // 24 API zones fit, 10 of them with their metrics; 16 left out, 14 without their metrics.
    assert.equal(dropped, 16 + 14);
  });

  test('the IPC message is checked: shape and the flag ranges', () => {
    const ok = {
      type: 'switchboard:shield-zones',
      zones: [{ name: 'a.test.', rrl: { responses: 5 }, metrics: true }],
    };
    assert.equal(isShieldZonesMessage(ok), true);
    assert.equal(isShieldZonesMessage({ type: 'switchboard:shield-zones', zones: [] }), true);
    for (const z of [
      { name: 'a.test' },
      { name: 'a.test.', minNxPerSecond: 0 },
      { name: 'a.test.', budgetFloor: Number.NaN },
      { name: 'a.test.', rrl: { responses: 1e8 } },
      { name: 'a.test.', metrics: 'on' },
      null,
    ])
      assert.equal(
        isShieldZonesMessage({ type: 'switchboard:shield-zones', zones: [z] }),
        false,
        JSON.stringify(z),
      );
    assert.equal(isShieldZonesMessage({ type: 'switchboard:cookie-secrets', zones: [] }), false);
  });
});

test('the onset trace line: per 100 ms, read-not answered per tier, /24s blocked, level, zones filtered, behind now', () => {
  const slices = Array.from({ length: 20 }, (_, i) => [i, 1, 2, 3, 0, 0, 1, 0, i > 2 ? 32 : 0, 1, 1, 5]);
  const line = onsetLine({ at: Date.UTC(2026, 11, 5, 10, 35, 50, 136), slices });
  assert.match(line, /^shield: onset: the worker fell behind at 10:35:50\.136Z; /);
  assert.match(line, /\+0: u0-0 h1-0 t2-1 c3-0 b0 L1 q1 n5; \+100: u1-0/);
  assert.match(line, /\+1900: u19-0 h1-0 t2-1 c3-0 b32 L1 q1 n5$/);
  // Short or missing fields read as 0 (a slice the worker never reached).
  assert.match(onsetLine({ at: 0, slices: [[7]] }), /\+0: u7-0 h0-0 t0-0 c0-0 b0 L0 q0 n0$/);
});

test('the onset trace line: each /24 blocked with its evidence (onset3)', () => {
  const p24 = ((127 << 24) | (2 << 16) | (33 << 8)) >>> 0;
  const blocks = [
    [p24, 51.4, 'S'.charCodeAt(0), 3, 32, 1472, 48, 0, 0, -12.2, 16],
    [p24 + 256, 120, 'n'.charCodeAt(0), 5, 0, 0, 64, 0, 0, 0, 0],
  ];
  const line = onsetLine({ at: 0, slices: [[7]], blocks });
  assert.match(line, /n0; \/24s blocked \(ms after falling behind, rule: /);
  assert.match(
    line,
    /: 127\.2\.33 \+51 S h3 w32\/1472 from -12 b16 n48 s0 r0, 127\.2\.34 \+120 n h5 w0\/0 b0 n64 s0 r0$/,
  );
  assert.match(onsetLine({ at: 0, slices: [[7]], blocks: [] }), /: none$/);
  // A trace without the field (an older addon) ends with the slices.
  assert.match(onsetLine({ at: 0, slices: [[7]] }), /n0$/);
});
